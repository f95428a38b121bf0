"""Deadlines: each assignment's due date (nbgrader's own), the course's late policy and per-student
extensions; runs in the trusted grader, loaded by nbgrader.

- **Due date.** nbgrader's: ``nbgrader db assignment add NAME --duedate="2026-12-11 17:00 UTC"`` or
  Formgrader's pencil. A submission's time is the ``timestamp.txt`` nbgrader's submit writes; the
  last submission counts, so a resubmission after the deadline makes the assignment late.
- **Late policy.** `LatePolicy`, nbgrader's late-submission plugin (``c.AssignLatePenalties.plugin_class``),
  set in ``nbgrader_config.py``: none (the default); a share of the score per day or part of a day
  late, down to a floor; no points after a cut-off. nbgrader stores the penalty with each
  notebook, so Formgrader, ``nbgrader export``, ``grades.csv``, the feedback and the report agree.
- **Extensions.** Course data in ``extensions.csv`` (``python -m mnistkit extend``): for a student
  and an assignment, how many hours later their deadline is, and why. `GrantExtensions` (an
  autograde step, before nbgrader's ``AssignLatePenalties``) writes it into nbgrader's own
  ``extension`` of the submission, so every nbgrader tool counts lateness from the extended date.

`settle` does both again for every submission of an assignment, from the gradebook: after an
extension is granted, and after teaching assistants change scores (a penalty is a share of the
score), so that the penalty always matches the current score.
"""

import csv
import datetime
import math
from dataclasses import dataclass
from pathlib import Path

from nbgrader.coursedir import CourseDirectory

from mnistkit.course import Course, write_csv
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, TraitError, validate

EXTENSIONS_FILE = "extensions.csv"
EXTENSION_COLUMNS = ["student_id", "assignment", "hours", "reason", "granted"]
DAY = 86_400  # seconds


class LatePolicy(LateSubmissionPlugin):
    """The course's late policy: ``c.AssignLatePenalties.plugin_class = "mnistkit.deadlines.LatePolicy"``.

    With every setting at its default, late work loses nothing (the lateness is still recorded
    and reported).
    """

    penalty_per_day = Float(0.0, help="Share of a late notebook's score lost for each day, or part of a day, after "
                                      "its due date (0.1: 10 %).").tag(config=True)
    floor = Float(0.0, help="Share of its score a late notebook keeps at least, however late, until the "
                            "cut-off (0.5: half).").tag(config=True)
    cutoff_days = Float(None, allow_none=True, help="Days after the due date (an extension's, if any) after which "
                                                    "a submission gets no points (None: no cut-off).").tag(config=True)

    @validate("penalty_per_day", "floor")
    def _a_share(self, proposal):
        if not 0 <= proposal["value"] <= 1:
            raise TraitError(f"LatePolicy.{proposal['trait'].name} is a share between 0 and 1, "
                             f"not {proposal['value']!r}")
        return proposal["value"]

    @validate("cutoff_days")
    def _not_negative(self, proposal):
        if proposal["value"] is not None and proposal["value"] < 0:
            raise TraitError(f"LatePolicy.cutoff_days is a number of days, not {proposal['value']!r}")
        return proposal["value"]

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        """Points taken from ``score`` (one notebook's) for a submission ``total_seconds_late`` late."""
        return penalty(score, total_seconds_late, self.penalty_per_day, self.floor, self.cutoff_days)

    def in_words(self):
        """The policy as the report states it."""
        parts = []
        if self.penalty_per_day:
            parts.append(f"a late submission loses {self.penalty_per_day:.0%} of its score for each day or part of a "
                         "day late" + (f", keeping at least {self.floor:.0%} of it" if self.floor else ""))
        if self.cutoff_days is not None:
            parts.append(f"a submission more than {self.cutoff_days:g} day(s) late gets no points")
        return "; ".join(parts).capitalize() + "." if parts else "Late work loses no points (its lateness is reported)."


def penalty(score, seconds_late, per_day, floor, cutoff_days):
    """Points lost: ``per_day`` of ``score`` for each started day late, at most ``1 - floor`` of it; all after the cut-off."""
    if seconds_late <= 0 or not score:
        return 0.0
    if cutoff_days is not None and seconds_late > cutoff_days * DAY:
        return float(score)
    days = math.ceil(seconds_late / DAY)
    return round(min(per_day * days, 1 - floor) * score, 6)


def course_policy(course):
    """The late-submission plugin of ``course`` (a `Course`) as its nbgrader_config.py sets it, or `DeadlineError`."""
    from nbgrader.preprocessors import AssignLatePenalties

    step = AssignLatePenalties(config=course.config)
    try:
        return step.plugin_class(parent=step)
    except TraitError as error:
        raise DeadlineError(f"the late policy in nbgrader_config.py cannot be used: {error}") from None


def policy_words(plugin):
    """What ``plugin`` (a course's late-submission plugin) does, in words."""
    if isinstance(plugin, LatePolicy):
        return plugin.in_words()
    return f"Late penalties by {type(plugin).__module__}.{type(plugin).__name__} (c.AssignLatePenalties.plugin_class)."


# ---------------------------------------------------------------------------
# Extensions: course data


@dataclass(frozen=True)
class Extension:
    student_id: str
    assignment: str
    hours: float
    reason: str
    granted: str  # when it was granted, ISO 8601 UTC

    @property
    def interval(self):
        return datetime.timedelta(hours=self.hours)

    @property
    def in_words(self):
        days, hours = divmod(self.hours, 24)
        length = " ".join(part for part in (f"{days:g} day(s)" if days else "", f"{hours:g} hour(s)" if hours else "")
                          if part)
        return f"{length or '0 hours'}: {self.reason}"


class DeadlineError(ValueError):
    """A late policy, an extension or an extensions.csv that cannot be used; the message says why."""


def extensions_path(course):
    return Path(course.root) / EXTENSIONS_FILE


def read_extensions(course):
    """``{(student, assignment): Extension}`` of ``course`` (a `Course`); none without the file."""
    path = extensions_path(course)
    if not path.exists():
        return {}
    found = {}
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames != EXTENSION_COLUMNS:
            raise DeadlineError(f"{path} should have the columns {', '.join(EXTENSION_COLUMNS)}; "
                                 f"it has {', '.join(reader.fieldnames or [])}")
        for number, row in enumerate(reader, start=2):
            try:
                hours = float(row["hours"])
            except ValueError:
                raise DeadlineError(f"{path}, line {number}: hours should be a number, not {row['hours']!r}") from None
            if not math.isfinite(hours) or hours < 0:
                raise DeadlineError(f"{path}, line {number}: hours should be zero or more, not {row['hours']!r}")
            found[(row["student_id"], row["assignment"])] = Extension(
                row["student_id"], row["assignment"], hours, row["reason"], row["granted"])
    return found


def grant_extension(course, assignment, student_id, hours, reason):
    """Record (or replace: extensions do not stack) ``student_id``'s extension of ``assignment`` by ``hours``; 0 removes it.
    Returns the `Extension`, or None when removed."""
    from mnistkit.intake.rules import student_id_problem

    problem = student_id_problem(student_id)
    if problem:
        raise DeadlineError(problem)
    if assignment not in course.assignments():
        raise DeadlineError(f"there is no assignment {assignment!r} in {course.root / 'source'}")
    if not math.isfinite(hours) or hours < 0:
        raise DeadlineError(f"an extension is zero hours or more, not {hours:g}")
    if hours and not reason.strip():
        raise DeadlineError("say why the extension is granted (--reason): the report shows it")
    extensions = read_extensions(course)
    extensions.pop((student_id, assignment), None)
    granted = None
    if hours:
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        granted = extensions[(student_id, assignment)] = Extension(student_id, assignment, hours, reason.strip(), now)
    write_csv(extensions_path(course), EXTENSION_COLUMNS,
              [[e.student_id, e.assignment, f"{e.hours:g}", e.reason, e.granted]
               for e in sorted(extensions.values(), key=lambda e: (e.assignment, e.student_id))])
    return granted


def hours_until(course, assignment, until):
    """Hours from ``assignment``'s due date to ``until`` (an aware `datetime`): the extension that moves it there."""
    due = due_date(course, assignment)
    if due is None:
        raise DeadlineError(f"{assignment} has no due date: set it first "
                            f"(nbgrader db assignment add {assignment} --duedate=...)")
    hours = (until - due).total_seconds() / 3600
    if hours <= 0:
        raise DeadlineError(f"{until:%Y-%m-%d %H:%M} UTC is not after {assignment}'s due date, {due:%Y-%m-%d %H:%M} UTC")
    return hours


def parse_moment(text):
    """A date and time as an instructor writes it (nbgrader's own reading; no zone: UTC), or `DeadlineError`."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text).replace(tzinfo=datetime.timezone.utc)
    except (ValueError, OverflowError, TypeError):
        raise DeadlineError(f"{text!r} is not a date and time (write it as 2026-12-14 17:00 UTC)") from None


def _apply_extension(submission, extensions):
    extension = extensions.get((submission.student.id, submission.assignment.name))
    submission.extension = extension.interval if extension else None


class GrantExtensions(NbGraderPreprocessor):
    """An autograde step (before nbgrader's ``AssignLatePenalties``): the submission's extension, as ``extensions.csv``
    grants it, in nbgrader's gradebook."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        course = Course(CourseDirectory(config=self.config).root)
        extensions = read_extensions(course)
        with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
            submission = gradebook.find_submission(resources["nbgrader"]["assignment"], resources["nbgrader"]["student"])
            _apply_extension(submission, extensions)
            gradebook.db.commit()
        return nb, resources


# ---------------------------------------------------------------------------
# Settling: extensions and penalties as they stand now


@dataclass
class Lateness:
    """One submission against its deadline."""

    student_id: str
    submitted: datetime.datetime  # UTC, or None
    due: datetime.datetime  # with the extension, UTC, or None
    seconds_late: float
    raw: float  # score before the penalty
    penalty: float
    extension: Extension  # or None

    @property
    def final(self):
        return max(0.0, self.raw - self.penalty)


def settle(course, assignment, write=True):
    """Every submission of ``assignment``: its extension from ``extensions.csv`` and each notebook's penalty for its
    current score, written to the gradebook (unless not ``write``); returns ``{student: Lateness}``."""
    from mnistkit.gradebook import open_gradebook

    policy = course_policy(course)
    extensions = read_extensions(course)
    found = {}
    with open_gradebook(course) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            if write:
                _apply_extension(submission, extensions)
                late = submission.total_seconds_late
                for notebook in submission.notebooks:
                    penalty = policy.late_submission_penalty(submission.student.id, notebook.score, late) \
                        if late > 0 else None
                    # As nbgrader's AssignLatePenalties keeps it: between 0 and the notebook's score.
                    notebook.late_submission_penalty = None if penalty is None else min(max(penalty, 0.0), notebook.score)
                gradebook.db.commit()
            found[submission.student.id] = Lateness(
                submission.student.id, _utc(submission.timestamp), _utc(submission.duedate),
                submission.total_seconds_late, float(submission.score),
                sum(notebook.late_submission_penalty or 0.0 for notebook in submission.notebooks),
                extensions.get((submission.student.id, assignment)))
    return found


def due_date(course, assignment):
    """``assignment``'s due date (UTC), or None."""
    from mnistkit.gradebook import open_gradebook

    with open_gradebook(course) as gradebook:
        return _utc(gradebook.find_assignment(assignment).duedate)


def _utc(moment):
    return moment.replace(tzinfo=datetime.timezone.utc) if moment is not None else None
