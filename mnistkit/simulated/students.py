"""Simulated students: the released notebook filled in with chosen answers.

A simulated student starts from the student version in ``release/`` and fills each
exercise cell with the reference solution (taken from the master notebook in
``source/``) unless it gives its own code for that cell. This is how the demo class
and the tests make submissions that look exactly like a real student's.
"""

import copy
from dataclasses import dataclass, field
from typing import Callable, Optional

import nbformat

from mnistkit.course import COURSE_ROOT, Course

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass(frozen=True)
class SimulatedStudent:
    """One student's submission, described by how it differs from the reference solution.

    ``assignment`` is the assignment it hands in. ``answers`` maps an exercise cell's id (``"softmax"``, ``"learn"``, ...) to the code
    the student wrote there; ``untouched`` leaves every exercise as released (stubs).
    ``edit`` changes the finished notebook further (deletes or moves cells, ...). ``filename``
    is the name it is handed in under (default: the assignment's notebook), and ``raw`` replaces
    the whole file with these bytes (a broken file); an empty ``filename`` hands in a folder
    without a notebook. ``files`` are handed in beside the notebook: ``{relative path: text}``.
    """

    student_id: str
    description: str
    assignment: str = field(kw_only=True)
    answers: dict = field(default_factory=dict)
    untouched: bool = False
    edit: Optional[Callable] = None
    filename: Optional[str] = None
    raw: Optional[bytes] = None
    files: dict = field(default_factory=dict)


def notebook_path(course, step, assignment, student_id="."):
    """Path of the assignment's (only) notebook in ``source``, ``release``, or a student's folder of ``step``."""
    course = Course.of(course)
    (name,) = course.notebooks(assignment)  # simulated students hand in one-notebook assignments
    return course.notebook(step, assignment, name, student_id)


def reference_answers(course_dir, assignment):
    """The master notebook's exercise cells as a student would write them: ``{cell id: code}``."""
    master = nbformat.read(notebook_path(course_dir, "source", assignment), as_version=4)
    return {
        cell.id: "\n".join(line for line in cell.source.splitlines() if line.strip() not in SOLUTION_MARKERS)
        for cell in master.cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def build_submission(course_dir, student):
    """The notebook ``student`` would hand in, built from the course's release."""
    released = nbformat.read(notebook_path(course_dir, "release", student.assignment), as_version=4)
    if student.untouched:
        return student.edit(released) if student.edit else released
    answers = reference_answers(course_dir, student.assignment)
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
    expected = notebook_path(course_dir, "submitted", student.assignment, student_id=student.student_id)
    folder = expected.parent
    folder.mkdir(parents=True, exist_ok=True)
    if student.filename == "":
        (folder / "README.txt").write_text("I could not finish in time.\n")
        return folder
    for relative, text in student.files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    path = folder / (student.filename or expected.name)
    if student.raw is not None:
        path.write_bytes(student.raw)
    else:
        nbformat.write(notebook if notebook is not None else build_submission(course_dir, student), path)
    return path


class Catalogue:
    """What an assignment's catalogue of simulated students is written with.

    ``all_points`` maps each graded cell to its points; ``reference`` is the master's answers.
    """

    def __init__(self, assignment, all_points, course_dir=COURSE_ROOT):
        self.assignment, self.all_points = assignment, all_points
        self.reference = reference_answers(course_dir, assignment)

    def losing(self, *cells):
        """Every point, except zero in ``cells``."""
        unknown = set(cells) - set(self.all_points)
        assert not unknown, f"no graded cell {unknown}"
        return {cell: 0 if cell in cells else points for cell, points in self.all_points.items()}

    def changed(self, cell_id, *replacements):
        """The reference answer of ``cell_id`` with each ``old, new`` pair replaced (each old must be there)."""
        code = self.reference[cell_id]
        for old, new in zip(replacements[::2], replacements[1::2]):
            assert old in code, f"{old!r} is not in the reference {cell_id}"
            code = code.replace(old, new)
        return code

    def student(self, student_id, description, **answers):
        """A student of this assignment whose exercise cells ``answers`` differ from the reference."""
        return SimulatedStudent(student_id, description, answers=answers, assignment=self.assignment)


def find_student(entries, student_id):
    """The entry of ``student_id`` in a catalogue list: a `SimulatedStudent`, or a tuple that starts with one."""
    return next(entry for entry in entries if (entry[0] if isinstance(entry, tuple) else entry).student_id == student_id)


def function(header, body):
    """A function cell: the released signature and docstring with ``body`` under them."""
    return header + "\n" + "\n".join("    " + line if line else "" for line in body.strip("\n").splitlines())


# Notebook edits of simulated students


def _cell_index(nb, cell_id):
    return next(i for i, cell in enumerate(nb.cells) if cell.id == cell_id)


def insert_after(nb, cell_id, source):
    from nbformat.v4 import new_code_cell

    nb.cells.insert(_cell_index(nb, cell_id) + 1, new_code_cell(source, id="student-helper"))
    return nb


def without_cells(nb, *cell_ids):
    nb.cells = [cell for cell in nb.cells if cell.id not in cell_ids]
    return nb


def set_source(nb, source, *cell_ids):
    for cell in nb.cells:
        if cell.id in cell_ids:
            cell.source = source
    return nb


def move_to_top(nb, *cell_ids):
    moved = [cell for cell in nb.cells if cell.id in cell_ids]
    nb.cells = moved + [cell for cell in nb.cells if cell.id not in cell_ids]
    return nb


# The seed notebook's own cross-entropy: a mistake the course teaches against.
SEED_CROSS_ENTROPY = '''
def cross_entropy_loss(p, q):
    """Cross-entropy of predictions q against true one-hot p: (k,) -> scalar, (n, k) -> mean over rows."""
    return -(p * np.log(q)).sum()
'''.strip()

PART1, PART2 = "mnist_numpy", "mnist_mlp"


# Part 2's reference backward pass without the batch mean's 1/n: gradients summed over the batch.
BACKWARD_SUMMING = reference_answers(COURSE_ROOT, PART2)["backward"].replace("(probs - y_true) / n", "probs - y_true")


DEMO_CLASS = (
    SimulatedStudent("demo-correct", "the reference solution", assignment=PART1),
    SimulatedStudent(
        "demo-partial",
        "the original notebook's cross-entropy: sums over the batch and takes log(0)",
        answers={"cross_entropy_loss": SEED_CROSS_ENTROPY}, assignment=PART1,
    ),
    SimulatedStudent("demo-untouched", "hands in the release without writing anything", untouched=True,
                     assignment=PART1),
    SimulatedStudent("demo-correct", "the reference solution", assignment=PART2),
    SimulatedStudent("demo-partial", "forgets the 1/n of the batch mean in backward: gradients summed",
                     answers={"backward": BACKWARD_SUMMING}, assignment=PART2),
)
