"""Simulated students: the released notebook filled in with chosen answers.

A simulated student starts from the student version in ``release/`` and fills each
exercise cell with the reference solution (taken from the master notebook in
``source/``) unless it gives its own code for that cell. This is how the demo class
and the tests make submissions that look exactly like a real student's.
"""

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import nbformat

from mnistkit import ASSIGNMENT, NOTEBOOK

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass(frozen=True)
class SimulatedStudent:
    """One student's submission, described by how it differs from the reference solution.

    ``answers`` maps an exercise cell's id (``"softmax"``, ``"learn"``, ...) to the code
    the student wrote there; ``untouched`` leaves every exercise as released (stubs).
    ``edit`` changes the finished notebook further (deletes or moves cells, ...). ``filename``
    is the name it is handed in under, and ``raw`` replaces the whole file with these bytes
    (a broken file); an empty ``filename`` hands in a folder without a notebook.
    """

    student_id: str
    description: str
    answers: dict = field(default_factory=dict)
    untouched: bool = False
    edit: Optional[Callable] = None
    filename: str = f"{NOTEBOOK}.ipynb"
    raw: Optional[bytes] = None


def notebook_path(course_dir, step, assignment=ASSIGNMENT, student_id=None):
    """Path of the assignment's notebook in ``source``, ``release``, or a student's folder of ``step``."""
    parts = [step, student_id, assignment] if student_id else [step, assignment]
    return Path(course_dir).joinpath(*parts, f"{NOTEBOOK}.ipynb")


def reference_answers(course_dir):
    """The master notebook's exercise cells as a student would write them: ``{cell id: code}``."""
    master = nbformat.read(notebook_path(course_dir, "source"), as_version=4)
    return {
        cell.id: "\n".join(line for line in cell.source.splitlines() if line.strip() not in SOLUTION_MARKERS)
        for cell in master.cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def build_submission(course_dir, student):
    """The notebook ``student`` would hand in, built from the course's release."""
    released = nbformat.read(notebook_path(course_dir, "release"), as_version=4)
    if student.untouched:
        return student.edit(released) if student.edit else released
    answers = reference_answers(course_dir)
    unknown = set(student.answers) - set(answers)
    if unknown:
        raise ValueError(f"{student.student_id}: no exercise cell with id {', '.join(sorted(unknown))}")
    answers.update(student.answers)
    submission = copy.deepcopy(released)
    for cell in submission.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
    return student.edit(submission) if student.edit else submission


def submit(course_dir, student, notebook=None):
    """Place ``student``'s work where nbgrader collects it: ``submitted/<id>/<assignment>/``."""
    folder = notebook_path(course_dir, "submitted", student_id=student.student_id).parent
    folder.mkdir(parents=True, exist_ok=True)
    if not student.filename:
        (folder / "README.txt").write_text("I could not finish in time.\n")
        return folder
    path = folder / student.filename
    if student.raw is not None:
        path.write_bytes(student.raw)
    else:
        nbformat.write(notebook if notebook is not None else build_submission(course_dir, student), path)
    return path


# The seed notebook's own cross-entropy: a mistake the course teaches against.
SEED_CROSS_ENTROPY = '''
def cross_entropy_loss(p, q):
    """Cross-entropy of predictions q against true one-hot p: (k,) -> scalar, (n, k) -> mean over rows."""
    return -(p * np.log(q)).sum()
'''.strip()

DEMO_CLASS = (
    SimulatedStudent("demo-correct", "the reference solution"),
    SimulatedStudent(
        "demo-partial",
        "the original notebook's cross-entropy: sums over the batch and takes log(0)",
        answers={"cross_entropy_loss": SEED_CROSS_ENTROPY},
    ),
    SimulatedStudent("demo-untouched", "hands in the release without writing anything", untouched=True),
)
