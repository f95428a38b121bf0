"""Grade a whole class: check submissions, autograde them in parallel, write feedback, export grades.

The work for one student (`grade_one`) is a plain function of picklable arguments, run on a
`concurrent.futures.Executor`: local worker processes by default, or any other executor
(a cluster's) passed in. Each worker process loads nbgrader's configuration once and then
runs nbgrader's own autograde and feedback steps for one student at a time, so the grades,
gradebook rows and feedback are exactly those of ``nbgrader autograde`` and
``nbgrader generate_feedback``.

Every student's `Outcome` is recorded (`mnistkit.records`) once that student is completely
done, so an interrupted run can be resumed and nobody is lost.
"""

import copy
import multiprocessing
import os
import re
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from mnistkit.course import Course
from mnistkit.deadlines import course_policy, read_extensions, settle
from mnistkit.gradebook import export_grades, manual_grading, record_zero, reconcile_manual_grading
from mnistkit.intake import Intake, submission_stamp, take_in
from mnistkit.nbgrader_plugins import LOG_PREFIX
from mnistkit.records import Outcome, load_outcomes, refused_folders, submitted_students
from mnistkit.sandbox.box import THREAD_VARIABLES, remove_leftovers


# ---------------------------------------------------------------------------
# One student's grading, run in a worker process

_apis = {}  # (course, confine) -> this process's NbGraderAPI

# Kernels started by parallel workers each get one BLAS thread: with OpenBLAS's default of one
# thread per core, two kernels spun for the same cores and a submission took 66 s instead of 6 s.
# (A confined kernel gets one thread from its box unless the grader's environment says otherwise;
# this covers unconfined kernels too.)
ONE_THREAD = {name: "1" for name in THREAD_VARIABLES}


def _api(course, confine=True):
    """An NbGraderAPI with the course's nbgrader_config.py, made once per process."""
    if (course, confine) not in _apis:
        from nbgrader.apps import NbGraderAPI

        os.chdir(course.root)  # nbgrader resolves relative paths, and kernels start, from here
        os.environ.update(ONE_THREAD)  # inherited by the kernels this worker starts
        # nbgrader's gradebook code warns about its own SQLAlchemy use on every submission; it is harmless.
        warnings.filterwarnings("ignore", message=".*not in session, add operation along")
        config = course.kit_config()  # the course's own stays as the file says
        if not confine:
            config.GuardedExecute.confine = False
        _apis[(course, confine)] = NbGraderAPI(config=config)
    return _apis[(course, confine)]


def warm_up(course, confine=True):
    """Load nbgrader and prepare each assignment's course data in this process, so that the processes forked from it
    (the grading service's) start ready."""
    from mnistkit.nbgrader_plugins import prepared_course_data

    course = Course.of(course)
    _api(course, confine)
    if confine and course.config.GuardedExecute.get("confine", True):
        for assignment in course.assignments():
            prepared_course_data(course.root, course.folder("source", assignment))


def check_confinement(course):
    """Raise `SandboxUnavailable` (saying what to do) unless this machine can confine the course's kernels."""
    from mnistkit.sandbox import check_sandbox

    configured = Course.of(course).config.GuardedExecute
    if configured.get("confine", True):
        check_sandbox(configured.get("bwrap", "bwrap"))


def grade_one(course, assignment, student_id, confine=True, feedback=True):
    """Autograde one student of ``course`` (a `Course` or its folder) and write their feedback (unless not
    ``feedback``); return their `Outcome` (also saved).

    With ``confine`` False, the kernel runs unconfined whatever the course's configuration says.
    """
    started = time.perf_counter()
    course = Course.of(course)
    folder = course.folder("submitted", assignment, student_id)
    api = _api(course, confine)
    taken = take_in(folder, course.notebooks(assignment), Intake(config=api.config))
    problems, gradable = taken.problems, taken.gradable
    stamp = submission_stamp(folder)  # after intake, which may rename the notebook and leave files out
    status = "failed"
    if gradable:
        previous = Outcome.load(course, assignment, student_id)
        manual_before = manual_grading(course, assignment, student_id)
        result = api.autograde(assignment, student_id, force=True, create=True)
        problems += _kit_messages(result.get("log", ""))
        if result["success"]:
            status = "graded"
            resubmitted = previous is not None and previous.submission_stamp != stamp
            problems += reconcile_manual_grading(course, assignment, student_id, manual_before, resubmitted)
            written = api.generate_feedback(assignment, student_id, force=True) if feedback else {"success": True}
            if not written["success"]:
                problems.append("Feedback could not be written: " + _last_error(written))
        else:
            problems.append("nbgrader could not grade it: " + _last_error(result))
    if status == "failed":
        record_zero(course, assignment, student_id)
    outcome = Outcome(student_id, status, round(time.perf_counter() - started, 2), problems, stamp)
    outcome.save(course, assignment)
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


# Local worker processes: Ctrl-C in the terminal reaches only the grader, which lets the
# students being graded finish and starts no others.

_stop = None  # in a local worker: the event the grader sets when interrupted


def _start_local_worker(stop):
    global _stop
    _stop = stop
    os.setsid()  # out of the terminal's process group: Ctrl-C does not reach this worker or its kernels


def _grade_one_unless_stopped(course, assignment, student_id, confine=True):
    if _stop is not None and _stop.is_set():
        return None  # interrupted before this student was started
    return grade_one(course, assignment, student_id, confine)


# ---------------------------------------------------------------------------
# The class


@dataclass
class ClassResult:
    outcomes: dict  # assignment -> {student id -> Outcome}, for every submission (graded now or before)
    graded_now: list  # (assignment, student id) pairs graded in this run
    seconds: float
    grades_csv: Path
    refused: dict = field(default_factory=dict)  # assignment -> [(the folder's name, shown, why)] never graded


def ensure_release(course, assignment, say):
    """Generate the release when it is missing or older than the source, or the gradebook lacks it."""
    source = course.folder("source", assignment)
    released = [course.notebook("release", assignment, name) for name in course.notebooks(assignment)]
    newest_source = max(path.stat().st_mtime for path in source.rglob("*") if path.is_file())
    with course.gradebook() as gradebook:
        known = assignment in {a.name for a in gradebook.assignments}
    if not known or not all(path.exists() and path.stat().st_mtime >= newest_source for path in released):
        say(f"Generating the release of {assignment} (nbgrader generate_assignment) ...")
        course.generate_release(assignment)


def assignments_to_grade(course, assignment=None):
    """``[assignment]`` if one is named (it must exist), else every assignment that has submissions."""
    course = Course.of(course)
    if assignment is not None:
        course.notebooks(assignment)  # raises FileNotFoundError, naming the course's assignments
        return [assignment]
    return [name for name in course.assignments() if submitted_students(course, name)]


def grade_class(course, assignment=None, students=None, workers=None, skip_graded=False,
                executor=None, say=print, progress=True, confine=True):
    """Grade every submission of ``assignment`` (default: of every assignment that has submissions).

    ``course`` is a `Course` or its folder. ``students`` limits the run to those ids. ``workers``
    local processes run at once (default: the machine's cores); pass an ``executor`` to run the
    students elsewhere. With ``skip_graded``, a student whose current submission was already
    graded completely is left as it is. Every kernel is confined unless ``confine`` is False (or
    the course's configuration says so); where the machine cannot confine them, nothing is
    graded and `SandboxUnavailable` says why. Exports the grades of the whole course to ``grades.csv``.
    """
    started = time.perf_counter()
    course = Course.of(course)
    chosen_assignments = assignments_to_grade(course, assignment)
    if confine and chosen_assignments:
        check_confinement(course)
    # A late policy or an extensions.csv that cannot be used stops the run before any grading.
    course_policy(course)
    read_extensions(course)
    todo, skipped, unknown, refused = [], 0, set(students or []), {}
    for name in chosen_assignments:
        ensure_release(course, name, say)
        refused[name] = refused_folders(course, name)
        for folder, why in refused[name]:
            say(f"Not graded: the folder {folder} in submitted/ ({name}): {why}.")
        everyone = submitted_students(course, name)
        unknown -= set(everyone)
        for student in everyone if students is None else [s for s in everyone if s in set(students)]:
            previous = Outcome.load(course, name, student)
            current = submission_stamp(course.folder("submitted", name, student))
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
        _run(executor, task, course, todo, progress, stop, say, confine)
    finally:
        if own_executor:
            executor.shutdown(wait=True, cancel_futures=True)
            remove_leftovers()  # the boxes of a worker that was killed (on a cluster, each node's next run does it)

    for name in chosen_assignments:
        settle(course, name)  # extensions and penalties as they stand, before grades.csv
    grades_csv = export_grades(course)
    # The result covers each assignment's whole class, not only this run.
    outcomes = {name: load_outcomes(course, name) for name in chosen_assignments}
    return ClassResult(outcomes, todo, time.perf_counter() - started, grades_csv, refused)


def refresh_feedback(course, assignment):
    """Write every graded student's feedback of ``assignment`` again from the gradebook (``nbgrader generate_feedback``).

    Run after teaching assistants changed scores or wrote comments in Formgrader, so that the
    feedback shows them. Returns how many students' feedback was written.
    """
    course = Course.of(course)
    graded = [student for student, outcome in load_outcomes(course, assignment).items() if outcome.status == "graded"]
    if graded:
        course.nbgrader("generate_feedback", assignment, "--force")
    return len(graded)


def _run(executor, task, course, todo, progress, stop, say, confine):
    """Grade the ``(assignment, student)`` pairs of ``todo`` on ``executor`` (each records its own outcome);
    on Ctrl-C, finish the ones started and re-raise."""
    from tqdm import tqdm

    done, collected = {}, set()
    bar = tqdm(total=len(todo), unit="submission", desc="Grading", disable=not progress or not todo)
    futures = {executor.submit(task, course, assignment, student, confine): (assignment, student)
               for assignment, student in todo}

    def collect(future):
        collected.add(future)
        assignment, student = futures[future]
        try:
            outcome = future.result()
        except Exception as error:  # the worker itself broke: record it, keep going
            outcome = Outcome(student, "failed", problems=[f"The grading worker failed: {error!r}"])
            record_zero(course, assignment, student)
            outcome.save(course, assignment)
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
