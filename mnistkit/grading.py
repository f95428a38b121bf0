"""Grade a whole class: check submissions, autograde them in parallel, write feedback, export grades.

The work for one student (`grade_one`) is a plain function of picklable arguments, run on a
`concurrent.futures.Executor`: local worker processes by default, or any other executor
(a cluster's) passed in. Each worker process loads nbgrader's configuration once and then
runs nbgrader's own autograde and feedback steps for one student at a time, so the grades,
gradebook rows and feedback are exactly those of ``nbgrader autograde`` and
``nbgrader generate_feedback``.

Every student's outcome is written to ``grading/<assignment>/<student>.json`` once that
student is completely done, so an interrupted run can be resumed and nobody is lost.
"""

import json
import multiprocessing
import os
import re
import shutil
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from mnistkit import ASSIGNMENT, NOTEBOOK
from mnistkit.course import course_config, generate_release, nbgrader
from mnistkit.gradebook import open_gradebook
from mnistkit.nbgrader_plugins import LOG_PREFIX

OUTCOMES_DIR = "grading"


@dataclass
class Outcome:
    """What happened to one student's submission.

    ``status`` is ``"graded"`` (nbgrader graded it; ``problems`` may still say that cells were
    restored or that the kernel died) or ``"failed"`` (nbgrader could not grade it; the student
    is recorded with zero points and ``problems`` says why).
    """

    student_id: str
    status: str
    seconds: float = 0.0
    problems: list = field(default_factory=list)
    submission_stamp: str = ""

    def save(self, course_dir, assignment):
        path = outcome_path(course_dir, assignment, self.student_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.part")
        temporary.write_text(json.dumps(asdict(self), indent=1))
        os.replace(temporary, path)  # a reader never sees half a record

    @classmethod
    def load(cls, course_dir, assignment, student_id):
        path = outcome_path(course_dir, assignment, student_id)
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


def outcome_path(course_dir, assignment, student_id):
    return Path(course_dir) / OUTCOMES_DIR / assignment / f"{student_id}.json"


# ---------------------------------------------------------------------------
# Intake: what can be known about a submission before grading it


def submission_folder(course_dir, assignment, student_id):
    return Path(course_dir) / "submitted" / student_id / assignment


def submission_stamp(folder):
    """Changes whenever a file of the submission changes (so a resubmission is regraded)."""
    stamps = sorted(
        f"{path.relative_to(folder)}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
        for path in folder.rglob("*") if path.is_file()
    )
    return "|".join(stamps)


def intake(folder, notebook=NOTEBOOK):
    """Check one submission folder; return ``(problems, gradable)``.

    A notebook handed in under another name is copied to the expected name (the original is
    kept). A missing or unreadable notebook makes the submission ungradable.
    """
    expected = folder / f"{notebook}.ipynb"
    problems = []
    if not expected.exists():
        others = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
        if len(others) == 1:
            shutil.copy2(others[0], expected)
            problems.append(f"The notebook was handed in as '{others[0].name}'; it was graded as '{expected.name}'.")
        elif others:
            names = ", ".join(f"'{p.name}'" for p in others)
            return [f"No '{expected.name}' was handed in, and several other notebooks were ({names})."], False
        else:
            return [f"No '{expected.name}' was handed in: the submission folder holds no notebook."], False
    try:
        if expected.stat().st_size == 0:
            raise ValueError("the file is empty")
        nbformat.validate(nbformat.read(expected, as_version=4))
    except Exception as error:  # JSON, encoding and schema errors all mean the same to an instructor
        reason = str(error).splitlines()[0][:200] or type(error).__name__
        return problems + [f"'{expected.name}' cannot be read as a notebook: {reason}."], False
    return problems, True


# ---------------------------------------------------------------------------
# One student's grading, run in a worker process

_apis = {}  # course directory -> this process's NbGraderAPI

# Kernels started by parallel workers each get one BLAS thread: with OpenBLAS's default of one
# thread per core, two kernels spun for the same cores and a submission took 66 s instead of 6 s.
ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def _api(course_dir, confine=True):
    """An NbGraderAPI with the course's nbgrader_config.py, made once per process."""
    if (course_dir, confine) not in _apis:
        from nbgrader.apps import NbGraderAPI

        os.chdir(course_dir)  # nbgrader resolves relative paths, and kernels start, from here
        os.environ.update(ONE_THREAD)  # inherited by the kernels this worker starts
        # nbgrader's gradebook code warns about its own SQLAlchemy use on every submission; it is harmless.
        warnings.filterwarnings("ignore", message=".*not in session, add operation along")
        config = course_config(course_dir)
        config.CourseDirectory.root = course_dir
        if not confine:
            config.GuardedExecute.confine = False
        _apis[(course_dir, confine)] = NbGraderAPI(config=config)
    return _apis[(course_dir, confine)]


def check_confinement(course_dir):
    """Raise `SandboxUnavailable` (saying what to do) unless this machine can confine the course's kernels."""
    from mnistkit.sandbox import check_sandbox

    configured = course_config(course_dir).GuardedExecute
    if configured.get("confine", True):
        check_sandbox(configured.get("bwrap", "bwrap"))


def grade_one(course_dir, assignment, student_id, confine=True):
    """Autograde one student and write their feedback; return their `Outcome` (also saved).

    With ``confine`` False, the kernel runs unconfined whatever the course's configuration says.
    """
    started = time.perf_counter()
    folder = submission_folder(course_dir, assignment, student_id)
    problems, gradable = intake(folder)
    stamp = submission_stamp(folder)  # after intake, which may add a correctly named copy
    status = "failed"
    if gradable:
        api = _api(course_dir, confine)
        result = api.autograde(assignment, student_id, force=True, create=True)
        problems += _kit_messages(result.get("log", ""))
        if result["success"]:
            status = "graded"
            feedback = api.generate_feedback(assignment, student_id, force=True)
            if not feedback["success"]:
                problems.append("Feedback could not be written: " + _last_error(feedback))
        else:
            problems.append("nbgrader could not grade it: " + _last_error(result))
    if status == "failed":
        record_zero(course_dir, assignment, student_id)
    outcome = Outcome(student_id, status, round(time.perf_counter() - started, 2), problems, stamp)
    outcome.save(course_dir, assignment)
    return outcome


def _kit_messages(log):
    """The course plugins' own reports in an nbgrader log, as sentences."""
    messages = []
    for line in log.splitlines():
        if LOG_PREFIX in line:
            message = line.split(LOG_PREFIX, 1)[1].strip()
            messages.append(message[0].upper() + message[1:] + ("" if message.endswith(".") else "."))
    return messages


def _last_error(result):
    """The exception that made nbgrader fail, from its log and traceback: ``"ValueError: ..."``."""
    text = "\n".join(filter(None, [result.get("log"), result.get("error")]))
    found = re.findall(r"^\s*((?:\w+\.)*\w*(?:Error|Exception|Exit)\w*: .+)$", text, flags=re.MULTILINE)
    causes = [line for line in found if "NbGraderException" not in line]
    return (causes or found or ["no reason given"])[-1].strip()


def record_zero(course_dir, assignment, student_id):
    """Make sure an ungradable submission is in the gradebook, with zero points."""
    with open_gradebook(course_dir) as gradebook:
        gradebook.update_or_create_student(student_id)
        submission = gradebook.update_or_create_submission(assignment, student_id)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gradebook.db.commit()


# Local worker processes: Ctrl-C in the terminal reaches only the grader, which lets the
# students being graded finish and starts no others.

_stop = None  # in a local worker: the event the grader sets when interrupted


def _start_local_worker(stop):
    global _stop
    _stop = stop
    os.setsid()  # out of the terminal's process group: Ctrl-C does not reach this worker or its kernels


def _grade_one_unless_stopped(course_dir, assignment, student_id, confine=True):
    if _stop is not None and _stop.is_set():
        return None  # interrupted before this student was started
    return grade_one(course_dir, assignment, student_id, confine)


# ---------------------------------------------------------------------------
# The class


@dataclass
class ClassResult:
    outcomes: dict  # student id -> Outcome, for every submission (graded now or before)
    graded_now: list
    seconds: float
    grades_csv: Path


def collect_zip(course_dir, assignment, archive):
    """Unpack a learning-management system's zip of submissions into ``submitted/`` (nbgrader zip_collect).

    Student ids and file names are read from the archive's file names by the pattern
    ``FileNameCollectorPlugin.named_regexp`` in nbgrader_config.py. Returns nbgrader's
    summary lines: how many files it collected, and each file it skipped.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"No zip file {archive}")
    folder = Path(course_dir) / "downloaded" / assignment / "archive"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(archive, folder / archive.name)
    log = nbgrader(course_dir, "zip_collect", assignment, "--force")
    # nbgrader's own summary ("3 files collected, 0 files skipped") and each file it skipped
    return [line.split("] ", 1)[-1] for line in log.splitlines() if "collected" in line or "Skipped" in line]


def submitted_students(course_dir, assignment):
    folder = Path(course_dir) / "submitted"
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if (path / assignment).is_dir())


def ensure_release(course_dir, assignment, say):
    """Generate the release when it is missing or older than the source, or the gradebook lacks it."""
    source = Path(course_dir) / "source" / assignment
    released = Path(course_dir) / "release" / assignment / f"{NOTEBOOK}.ipynb"
    newest_source = max(path.stat().st_mtime for path in source.rglob("*") if path.is_file())
    with open_gradebook(course_dir) as gradebook:
        known = assignment in {a.name for a in gradebook.assignments}
    if not known or not released.exists() or released.stat().st_mtime < newest_source:
        say(f"Generating the release of {assignment} (nbgrader generate_assignment) ...")
        generate_release(course_dir, assignment)


def grade_class(course_dir, assignment=ASSIGNMENT, students=None, workers=None, skip_graded=False,
                executor=None, say=print, progress=True, confine=True):
    """Grade every submission of ``assignment`` (or only ``students``) and export the grades.

    ``workers`` local processes run at once (default: the machine's cores); pass an
    ``executor`` to run the students elsewhere. With ``skip_graded``, a student whose current
    submission was already graded completely is left as it is. Every kernel is confined unless
    ``confine`` is False (or the course's configuration says so); where the machine cannot
    confine them, nothing is graded and `SandboxUnavailable` says why.
    """
    started = time.perf_counter()
    course_dir = str(Path(course_dir).resolve())
    if confine:
        check_confinement(course_dir)
    ensure_release(course_dir, assignment, say)
    everyone = submitted_students(course_dir, assignment)
    chosen = everyone if students is None else [s for s in everyone if s in set(students)]
    unknown = sorted(set(students or []) - set(everyone))
    if unknown:
        say(f"No submission for: {', '.join(unknown)}")

    outcomes, todo = {}, []
    for student in chosen:
        previous = Outcome.load(course_dir, assignment, student)
        current = submission_stamp(submission_folder(course_dir, assignment, student))
        if skip_graded and previous and previous.submission_stamp == current:
            outcomes[student] = previous
        else:
            todo.append(student)
    if len(todo) < len(chosen):
        say(f"Skipping {len(chosen) - len(todo)} student(s) already graded.")

    own_executor = executor is None
    task, stop = grade_one, None
    if own_executor:
        import nbgrader.apps  # noqa: F401 (loaded once here, so forked workers start with it)

        stop = multiprocessing.Event()
        executor = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                                       initializer=_start_local_worker, initargs=(stop,))
        task = _grade_one_unless_stopped
    try:
        outcomes.update(_run(executor, task, course_dir, assignment, todo, progress, stop, say, confine))
    finally:
        if own_executor:
            executor.shutdown(wait=True, cancel_futures=True)

    grades_csv = export_grades(course_dir)
    for student in everyone:  # the report covers the whole class, not only this run
        outcomes.setdefault(student, Outcome.load(course_dir, assignment, student)
                            or Outcome(student, "not graded yet"))
    return ClassResult(outcomes, todo, time.perf_counter() - started, grades_csv)


def export_grades(course_dir):
    """Write ``grades.csv`` as ``nbgrader export`` does, with its CSV exporter, in this process."""
    from nbgrader.plugins import CsvExportPlugin

    destination = Path(course_dir) / "grades.csv"
    with open_gradebook(course_dir) as gradebook:
        CsvExportPlugin(to=str(destination)).export(gradebook)
    return destination


def _run(executor, task, course_dir, assignment, students, progress, stop, say, confine):
    """Grade ``students`` on ``executor``; on Ctrl-C, finish the ones started and re-raise."""
    from tqdm import tqdm

    outcomes, collected = {}, set()
    bar = tqdm(total=len(students), unit="student", desc="Grading", disable=not progress or not students)
    futures = {executor.submit(task, course_dir, assignment, student, confine): student for student in students}

    def collect(future):
        collected.add(future)
        student = futures[future]
        try:
            outcome = future.result()
        except Exception as error:  # the worker itself broke: record it, keep going
            outcome = Outcome(student, "failed", problems=[f"The grading worker failed: {error!r}"])
            record_zero(course_dir, assignment, student)
            outcome.save(course_dir, assignment)
        if outcome is None:  # not started: the run was interrupted
            return
        outcomes[student] = outcome
        failed = sum(o.status != "graded" for o in outcomes.values())
        bar.set_postfix(done=len(outcomes) - failed, failed=failed, remaining=len(students) - len(outcomes))
        bar.update()

    try:
        for future in as_completed(futures):
            collect(future)
    except KeyboardInterrupt:
        if stop is not None:
            stop.set()
        started = [future for future in futures if not future.cancel()]
        say(f"\nInterrupted: finishing the {sum(not f.done() for f in started)} submission(s) being graded ...")
        for future in as_completed(started):
            if future not in collected:
                collect(future)
        raise
    finally:
        bar.close()
    return outcomes
