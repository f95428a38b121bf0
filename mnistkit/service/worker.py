"""One grading of the service, in a process forked for it: the kit's confined grading, then the feedback released.

The process dies with the service (``PR_SET_PDEATHSIG``), and its kernels with it (their
sandboxes' ``--die-with-parent``), so a grading never outlives the service; it leaves its
result in ``result.json`` of its work folder, which is how the service knows it finished.
"""

import json
import os
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mnistkit.intake.folder import NBGRADER_FILES
from mnistkit.leftovers import die_with_parent
from mnistkit.service.pages import Attempts, failed_page, feedback_notice

HIDE_HIDDEN_TESTS = "mnistkit.nbgrader_plugins.HideHiddenTests"
_NOTEBOOK_ID = re.compile(r"[\w.-]{1,100}")  # a notebook name a page may be written under


@dataclass
class Job:
    """What a grading is told by the service."""

    row_id: int
    assignment: str
    student: str
    work: str  # its work folder: service/work/<row id>
    copy_from: str  # a submission folder to put in submitted/ first, or None (graded where it is)
    release: bool  # whether the student gets its feedback
    arrived: float
    waited: float
    attempts: Attempts
    due: float  # the student's due date (seconds since 1970), or None
    confine: bool = True


def result_path(work):
    return Path(work) / "result.json"


def read_result(work):
    try:
        return json.loads(result_path(work).read_text())
    except (OSError, ValueError):
        return None


def run(course, job, settings):
    """The forked process: grade ``job``, release its feedback, write its result; never returns."""
    code = 0
    try:
        _die_with_service()
        os.setsid()  # Ctrl-C in the service's terminal is the service's to handle
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the service stopping: clean up the kernels
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _write_result(job, grade(course, job, settings))
    except BaseException:  # noqa: BLE001 (no result: the service reports the grading as cut off)
        code = 1
    finally:
        os._exit(code)  # nothing of the service's process runs here (its atexit handlers are the service's)


def _die_with_service():
    die_with_parent(signal.SIGKILL)
    if os.getppid() == 1:  # the service was already gone
        os._exit(1)


def grade(course, job, settings):
    """Grade ``job`` in this process; return its result (a dict)."""
    from mnistkit.gradebook import open_gradebook
    from mnistkit.grading import grade_one

    started = time.time()
    if job.copy_from:
        place(course.folder("submitted", job.assignment, job.student), Path(job.copy_from))
    outcome = grade_one(course, job.assignment, job.student, confine=job.confine, feedback=False)
    graded_in = time.time() - started
    with open_gradebook(course) as gradebook:
        submission = gradebook.find_submission(job.assignment, job.student)
        score, max_score, late = submission.score, submission.max_score, submission.total_seconds_late
    result = {"status": outcome.status, "problems": outcome.problems, "score": score, "max_score": max_score,
              "seconds_late": late, "graded_in": graded_in, "released": False, "release_problem": ""}
    if job.release:
        outbox = Path(job.work) / "outbox"
        if outcome.status == "graded":
            notice = feedback_notice(settings, job.arrived, job.waited, graded_in, job.attempts, job.due)
            api = service_api(course, outbox, settings.shows, notice)
            written = api.generate_feedback(job.assignment, job.student, force=True)
            released = api.release_feedback(job.assignment, job.student) if written["success"] else written
        else:
            reason = outcome.problems[-1] if outcome.problems else "nbgrader could not grade it."
            released = release_page(course, job.assignment, job.student, outbox,
                                    course.folder("submitted", job.assignment, job.student),
                                    failed_page(job.arrived, reason))
        result["released"] = released["success"] and "Feedback released to" in released.get("log", "")
        if not result["released"]:
            result["release_problem"] = release_problem(released)
    return result


def release_problem(result):
    """Why nbgrader's release_feedback released nothing, from its log."""
    for line in reversed((result.get("log", "") + "\n" + (result.get("error") or "")).splitlines()):
        if "No feedback released" in line or "Error" in line:
            return line.strip()[:300]
    return "nbgrader released nothing"


def _write_result(job, result):
    path = result_path(job.work)
    temporary = path.with_suffix(".part")
    temporary.write_text(json.dumps(result))
    os.replace(temporary, path)


def place(folder, submission):
    """Make ``folder`` (``submitted/<student>/<assignment>``) a copy of the service's ``submission`` folder."""
    for path in (folder.parent, folder):
        if os.path.islink(path) or (os.path.lexists(path) and not path.is_dir()):
            os.unlink(path)  # never what it points to
    if folder.exists():
        shutil.rmtree(folder)  # never follows links inside
    shutil.copytree(submission, folder, symlinks=True)


def service_api(course, outbox, shows="tests", notice=""):
    """An NbGraderAPI whose feedback goes to ``outbox`` and shows what the service allows, with ``notice`` on top."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.converters import GenerateFeedback

    config = course.kit_config()
    config.CourseDirectory.feedback_directory = str(Path(outbox).relative_to(course.root))
    preprocessors = list(config.GenerateFeedback.get("preprocessors",
                                                     GenerateFeedback.class_traits()["preprocessors"].default_value))
    if HIDE_HIDDEN_TESTS not in preprocessors:
        preprocessors.append(HIDE_HIDDEN_TESTS)  # whatever the course's feedback shows after the deadline
    preprocessors.append("mnistkit.service.pages.ServiceNotice")
    if shows == "score":
        preprocessors.append("mnistkit.service.pages.ScoreOnly")
    config.GenerateFeedback.preprocessors = preprocessors
    config.HideHiddenTests.verdict_only = True
    config.ServiceNotice.text = notice
    return NbGraderAPI(config=config)


def release_page(course, assignment, student, outbox, submission, page):
    """Release ``page`` (HTML) as the feedback of each notebook of the ``submission`` folder, with nbgrader's
    release_feedback (it names the released file after the submission's secret); its result."""
    target = Path(outbox) / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    for name in NBGRADER_FILES:
        if (Path(submission) / name).is_file():
            shutil.copyfile(Path(submission) / name, target / name)
    names = [path.stem for path in Path(submission).glob("*.ipynb") if _NOTEBOOK_ID.fullmatch(path.stem)]
    for name in names or course.notebooks(assignment):
        (target / f"{name}.html").write_text(page)
    return service_api(course, outbox).release_feedback(assignment, student)
