"""Reading grades out of nbgrader's gradebook."""

from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from mnistkit.course import course_config, notebooks


@dataclass
class GradeTable:
    """Scores of every submission of one assignment, per graded cell.

    ``cells`` lists ``(grade_id, max_points)`` in notebook order; ``scores`` maps a
    student id to ``{grade_id: points}``.
    """

    cells: list
    scores: dict

    @property
    def max_total(self):
        return sum(points for _, points in self.cells)

    def total(self, student_id):
        return sum(self.scores[student_id].values())

    def format(self, student_ids=None):
        """A plain-text table: one row per graded cell, one column per student."""
        student_ids = list(student_ids or sorted(self.scores))
        name_width = max(len("total"), *(len(name) for name, _ in self.cells))
        widths = [max(len(student), 7) for student in student_ids]
        header = f"{'graded cell':<{name_width}}  {'max':>4}  " + "  ".join(
            f"{s:>{w}}" for s, w in zip(student_ids, widths)
        )
        lines = [header, "-" * len(header)]
        for name, points in self.cells:
            row = "  ".join(f"{self.scores[s].get(name, 0):>{w}g}" for s, w in zip(student_ids, widths))
            lines.append(f"{name:<{name_width}}  {points:>4g}  {row}")
        lines.append("-" * len(header))
        totals = "  ".join(f"{self.total(s):>{w}g}" for s, w in zip(student_ids, widths))
        lines.append(f"{'total':<{name_width}}  {self.max_total:>4g}  {totals}")
        return "\n".join(lines)


class GradebookUnavailable(RuntimeError):
    """The course's gradebook cannot be opened; the message says where it is (no password) and why."""


def database_url(course_dir):
    """The gradebook's address, as the course's nbgrader_config.py sets it (nbgrader's default: gradebook.db)."""
    configured = course_config(course_dir).CourseDirectory.get("db_url")
    return configured or f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def printable_url(url):
    """A database URL with its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_gradebook(course_dir):
    """nbgrader's `Gradebook` of the course (use it in a ``with`` block), or `GradebookUnavailable`."""
    from sqlalchemy.exc import SQLAlchemyError

    url = database_url(course_dir)
    try:
        return Gradebook(url)
    except ModuleNotFoundError as error:
        raise GradebookUnavailable(
            f"Cannot open the gradebook at {printable_url(url)}: its database driver '{error.name}' is not installed. "
            "For PostgreSQL, write the URL as postgresql+psycopg://... (psycopg 3 is in requirements.txt).") from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise GradebookUnavailable(f"Cannot open the gradebook at {printable_url(url)}: {reason}") from None


def read_grades(course_dir, assignment):
    """The `GradeTable` of ``assignment`` from the course's gradebook, its cells in the master notebooks' order."""
    order = []
    for name in notebooks(course_dir, assignment):
        master = nbformat.read(Path(course_dir) / "source" / assignment / f"{name}.ipynb", as_version=4)
        order += [c.metadata["nbgrader"]["grade_id"] for c in master.cells
                  if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    with open_gradebook(course_dir) as gradebook:
        found = gradebook.find_assignment(assignment)
        max_points = {cell.name: cell.max_score for notebook in found.notebooks for cell in notebook.grade_cells}
        scores = {}
        for submission in gradebook.assignment_submissions(assignment):
            scores[submission.student.id] = {
                grade.name: grade.score for notebook in submission.notebooks for grade in notebook.grades
            }
    cells = [(name, max_points[name]) for name in order if name in max_points]
    return GradeTable(cells=cells, scores=scores)
