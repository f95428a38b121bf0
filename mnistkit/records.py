"""The kit's record of each submission: what happened when it was last graded, in words.

One file per student and assignment, ``grading/<assignment>/<student>.json``, written once
that student is completely done: an interrupted class run can be resumed, and nobody is lost.
"""

import json
import os
from dataclasses import asdict, dataclass, field

from mnistkit.course import Course
from mnistkit.intake import shown, student_id_problem


@dataclass
class Outcome:
    """What happened to one student's submission.

    ``status`` is ``"graded"`` (nbgrader graded it; ``problems`` may still say that cells were
    restored or that the kernel died), ``"failed"`` (nbgrader could not grade it; the student
    is recorded with zero points and ``problems`` says why) or ``"not graded yet"``.
    """

    student_id: str
    status: str
    seconds: float = 0.0
    problems: list = field(default_factory=list)
    submission_stamp: str = ""

    def save(self, course, assignment):
        path = Course.of(course).outcome_path(assignment, self.student_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.part")
        temporary.write_text(json.dumps(asdict(self), indent=1))
        os.replace(temporary, path)  # a reader never sees half a record

    @classmethod
    def load(cls, course, assignment, student_id):
        """The recorded outcome, or None when there is none (or it cannot be read)."""
        path = Course.of(course).outcome_path(assignment, student_id)
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


def submitted_students(course, assignment):
    """The ids of the students who handed in ``assignment`` (folders of ``submitted/`` whose names are ids)."""
    return [name for name in Course.of(course).handed_in(assignment) if student_id_problem(name) is None]


def refused_folders(course, assignment):
    """``[(shown name, why)]`` of the folders of ``submitted/`` that hold ``assignment`` but are not named by a student id."""
    problems = [(name, student_id_problem(name)) for name in Course.of(course).handed_in(assignment)]
    return [(shown(name), problem) for name, problem in problems if problem]


def load_outcomes(course, assignment):
    """``{student: Outcome}`` recorded for every submission of ``assignment`` ("not graded yet" where none is)."""
    return {student: Outcome.load(course, assignment, student) or Outcome(student, "not graded yet")
            for student in submitted_students(course, assignment)}
