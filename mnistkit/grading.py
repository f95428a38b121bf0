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
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from mnistkit.course import assignments, course_config, generate_release, nbgrader, notebooks
from mnistkit.gradebook import manual_grading, open_gradebook, reconcile_manual_grading
from mnistkit.intake import Intake, shown, student_id_problem, submission_stamp, take_in
from mnistkit.nbgrader_plugins import LOG_PREFIX
from mnistkit.sandbox.box import THREAD_VARIABLES

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


def submission_folder(course_dir, assignment, student_id):
    return Path(course_dir) / "submitted" / student_id / assignment


# ---------------------------------------------------------------------------
# One student's grading, run in a worker process

_apis = {}  # course directory -> this process's NbGraderAPI

# Kernels started by parallel workers each get one BLAS thread: with OpenBLAS's default of one
# thread per core, two kernels spun for the same cores and a submission took 66 s instead of 6 s.
# (A confined kernel gets one thread from its box unless the grader's environment says otherwise;
# this covers unconfined kernels too.)
ONE_THREAD = {name: "1" for name in THREAD_VARIABLES}


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
    api = _api(course_dir, confine)
    taken = take_in(folder, notebooks(course_dir, assignment), Intake(config=api.config))
    problems, gradable = taken.problems, taken.gradable
    stamp = submission_stamp(folder)  # after intake, which may rename the notebook and leave files out
    status = "failed"
    if gradable:
        previous = Outcome.load(course_dir, assignment, student_id)
        manual_before = manual_grading(course_dir, assignment, student_id)
        result = api.autograde(assignment, student_id, force=True, create=True)
        problems += _kit_messages(result.get("log", ""))
        if result["success"]:
            status = "graded"
            resubmitted = previous is not None and previous.submission_stamp != stamp
            problems += reconcile_manual_grading(course_dir, assignment, student_id, manual_before, resubmitted)
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
    outcomes: dict  # assignment -> {student id -> Outcome}, for every submission (graded now or before)
    graded_now: list  # (assignment, student id) pairs graded in this run
    seconds: float
    grades_csv: Path
    refused: dict = field(default_factory=dict)  # assignment -> [(the folder's name, shown, why)] never graded


def collect_zip(course_dir, assignment, archive):
    """Unpack a learning-management system's zip of submissions into ``submitted/`` (see `mnistkit.intake.archives`).

    Student ids and file names are read from the archive's file names by the pattern
    ``FileNameCollectorPlugin.named_regexp`` in nbgrader_config.py. Returns summary lines: how
    many notebooks were collected, and each entry skipped, with why.
    """
    from mnistkit.intake.archives import collect_zip as unpack

    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"No zip file {archive}")
    return unpack(course_dir, assignment, archive, notebooks(course_dir, assignment), course_config(course_dir)).summary()


def _submitted_folders(course_dir, assignment):
    folder = Path(course_dir) / "submitted"
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if os.path.lexists(path / assignment))


def submitted_students(course_dir, assignment):
    """The ids of the students who handed in ``assignment`` (folders of ``submitted/`` whose names are ids)."""
    return [name for name in _submitted_folders(course_dir, assignment) if student_id_problem(name) is None]


def refused_folders(course_dir, assignment):
    """``[(shown name, why)]`` of the folders of ``submitted/`` that hold ``assignment`` but are not named by a student id."""
    problems = [(name, student_id_problem(name)) for name in _submitted_folders(course_dir, assignment)]
    return [(shown(name), problem) for name, problem in problems if problem]


def ensure_release(course_dir, assignment, say):
    """Generate the release when it is missing or older than the source, or the gradebook lacks it."""
    source = Path(course_dir) / "source" / assignment
    released = [Path(course_dir) / "release" / assignment / f"{name}.ipynb" for name in notebooks(course_dir, assignment)]
    newest_source = max(path.stat().st_mtime for path in source.rglob("*") if path.is_file())
    with open_gradebook(course_dir) as gradebook:
        known = assignment in {a.name for a in gradebook.assignments}
    if not known or not all(path.exists() and path.stat().st_mtime >= newest_source for path in released):
        say(f"Generating the release of {assignment} (nbgrader generate_assignment) ...")
        generate_release(course_dir, assignment)


def assignments_to_grade(course_dir, assignment=None):
    """``[assignment]`` if one is named (it must exist), else every assignment that has submissions."""
    if assignment is not None:
        notebooks(course_dir, assignment)  # raises FileNotFoundError, naming the course's assignments
        return [assignment]
    return [name for name in assignments(course_dir) if submitted_students(course_dir, name)]


def load_outcomes(course_dir, assignment):
    """``{student: Outcome}`` recorded for every submission of ``assignment`` ("not graded yet" where none is)."""
    return {student: Outcome.load(course_dir, assignment, student) or Outcome(student, "not graded yet")
            for student in submitted_students(course_dir, assignment)}


def grade_class(course_dir, assignment=None, students=None, workers=None, skip_graded=False,
                executor=None, say=print, progress=True, confine=True):
    """Grade every submission of ``assignment`` (default: of every assignment that has submissions).

    ``students`` limits the run to those ids. ``workers`` local processes run at once (default:
    the machine's cores); pass an ``executor`` to run the students elsewhere. With
    ``skip_graded``, a student whose current submission was already graded completely is left
    as it is. Every kernel is confined unless ``confine`` is False (or the course's configuration
    says so); where the machine cannot confine them, nothing is graded and `SandboxUnavailable`
    says why. Exports the grades of the whole course to ``grades.csv``.
    """
    started = time.perf_counter()
    course_dir = str(Path(course_dir).resolve())
    chosen_assignments = assignments_to_grade(course_dir, assignment)
    if confine and chosen_assignments:
        check_confinement(course_dir)
    todo, skipped, unknown, refused = [], 0, set(students or []), {}
    for name in chosen_assignments:
        ensure_release(course_dir, name, say)
        refused[name] = refused_folders(course_dir, name)
        for folder, why in refused[name]:
            say(f"Not graded: the folder {folder} in submitted/ ({name}): {why}.")
        everyone = submitted_students(course_dir, name)
        unknown -= set(everyone)
        for student in everyone if students is None else [s for s in everyone if s in set(students)]:
            previous = Outcome.load(course_dir, name, student)
            current = submission_stamp(submission_folder(course_dir, name, student))
            if skip_graded and previous and previous.submission_stamp == current:
                skipped += 1
            else:
                todo.append((name, student))
    if unknown:
        say(f"No submission for: {', '.join(sorted(unknown))}")
    if skipped:
        say(f"Skipping {skipped} submission(s) already graded.")

    own_executor = executor is None
    task, stop = grade_one, None
    if own_executor:
        import nbgrader.apps  # noqa: F401 (loaded once here, so forked workers start with it)

        stop = multiprocessing.Event()
        executor = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                                       initializer=_start_local_worker, initargs=(stop,))
        task = _grade_one_unless_stopped
    try:
        _run(executor, task, course_dir, todo, progress, stop, say, confine)
    finally:
        if own_executor:
            executor.shutdown(wait=True, cancel_futures=True)

    grades_csv = export_grades(course_dir)
    # The result covers each assignment's whole class, not only this run.
    outcomes = {name: load_outcomes(course_dir, name) for name in chosen_assignments}
    return ClassResult(outcomes, todo, time.perf_counter() - started, grades_csv, refused)


def refresh_feedback(course_dir, assignment):
    """Write every graded student's feedback of ``assignment`` again from the gradebook (``nbgrader generate_feedback``).

    Run after teaching assistants changed scores or wrote comments in Formgrader, so that the
    feedback shows them. Returns how many students' feedback was written.
    """
    graded = [student for student, outcome in load_outcomes(course_dir, assignment).items() if outcome.status == "graded"]
    if graded:
        nbgrader(course_dir, "generate_feedback", assignment, "--force")
    return len(graded)


COURSE_TOTAL = "course total"  # the assignment column of grades.csv's rows of course totals


def export_grades(course_dir):
    """Write ``grades.csv`` as ``nbgrader export`` does, with its CSV exporter, and each student's course total.

    nbgrader's rows come first, one per student and assignment, sorted by assignment and student;
    then one row per student whose assignment column says ``course total``, with the sum of their
    scores and of the maximum scores of every assignment in the gradebook (a missing submission counts 0).
    """
    import csv

    from nbgrader.plugins import CsvExportPlugin

    destination = Path(course_dir) / "grades.csv"
    with open_gradebook(course_dir) as gradebook:
        CsvExportPlugin(to=str(destination)).export(gradebook)
    with destination.open(newline="") as file:
        rows = list(csv.DictReader(file))
    if not rows:
        return destination
    totals = {}
    for row in rows:
        total = totals.setdefault(row["student_id"], {**{key: "" for key in row}, "student_id": row["student_id"],
                                                      "assignment": COURSE_TOTAL, "score": 0.0, "max_score": 0.0})
        for key in ("last_name", "first_name", "email"):
            total[key] = row.get(key, "")
        total["score"] += float(row["score"] or 0)
        total["max_score"] += float(row["max_score"] or 0)
    with destination.open("w", newline="") as file:  # sorted: the same file whatever database holds the grades
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda row: (row["assignment"], row["student_id"])))
        for student in sorted(totals):
            writer.writerow({**totals[student], "score": f"{totals[student]['score']:g}",
                             "max_score": f"{totals[student]['max_score']:g}"})
    return destination


def _run(executor, task, course_dir, todo, progress, stop, say, confine):
    """Grade the ``(assignment, student)`` pairs of ``todo`` on ``executor`` (each records its own outcome);
    on Ctrl-C, finish the ones started and re-raise."""
    from tqdm import tqdm

    done, collected = {}, set()
    bar = tqdm(total=len(todo), unit="submission", desc="Grading", disable=not progress or not todo)
    futures = {executor.submit(task, course_dir, assignment, student, confine): (assignment, student)
               for assignment, student in todo}

    def collect(future):
        collected.add(future)
        assignment, student = futures[future]
        try:
            outcome = future.result()
        except Exception as error:  # the worker itself broke: record it, keep going
            outcome = Outcome(student, "failed", problems=[f"The grading worker failed: {error!r}"])
            record_zero(course_dir, assignment, student)
            outcome.save(course_dir, assignment)
        if outcome is None:  # not started: the run was interrupted
            return
        done[(assignment, student)] = outcome
        failed = sum(o.status != "graded" for o in done.values())
        bar.set_postfix(done=len(done) - failed, failed=failed, remaining=len(todo) - len(done))
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
