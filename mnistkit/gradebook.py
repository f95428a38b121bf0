"""nbgrader's gradebook of a course: opening it, reading grades, recording zeros, exporting grades.csv,
and what teaching assistants entered in Formgrader."""

import csv
from dataclasses import dataclass

import nbformat
from nbgrader.api import Gradebook

from mnistkit.course import Course


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


def database_url(course):
    """The gradebook's address, as the course's nbgrader_config.py sets it (nbgrader's default: gradebook.db)."""
    course = Course.of(course)
    return course.config.CourseDirectory.get("db_url") or f"sqlite:///{course.root / 'gradebook.db'}"


def printable_url(url):
    """A database URL with its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_gradebook(course):
    """nbgrader's `Gradebook` of ``course`` (a `Course` or its folder; use it in a ``with`` block), or
    `GradebookUnavailable`."""
    from sqlalchemy.exc import SQLAlchemyError

    url = database_url(course)
    try:
        return Gradebook(url)
    except ModuleNotFoundError as error:
        raise GradebookUnavailable(
            f"Cannot open the gradebook at {printable_url(url)}: its database driver '{error.name}' is not installed. "
            "For PostgreSQL, write the URL as postgresql+psycopg://... (psycopg 3 is in requirements.txt).") from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise GradebookUnavailable(f"Cannot open the gradebook at {printable_url(url)}: {reason}") from None


def read_grades(course, assignment):
    """The `GradeTable` of ``assignment`` from the course's gradebook, its cells in the master notebooks' order."""
    course = Course.of(course)
    order = []
    for name in course.notebooks(assignment):
        master = nbformat.read(course.notebook("source", assignment, name), as_version=4)
        order += [c.metadata["nbgrader"]["grade_id"] for c in master.cells
                  if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    with open_gradebook(course) as gradebook:
        found = gradebook.find_assignment(assignment)
        max_points = {cell.name: cell.max_score for notebook in found.notebooks for cell in notebook.grade_cells}
        scores = {}
        for submission in gradebook.assignment_submissions(assignment):
            scores[submission.student.id] = {
                grade.name: grade.score for notebook in submission.notebooks for grade in notebook.grades
            }
    cells = [(name, max_points[name]) for name in order if name in max_points]
    return GradeTable(cells=cells, scores=scores)


def record_zero(course, assignment, student_id):
    """Make sure an ungradable submission is in the gradebook, with zero points."""
    with open_gradebook(course) as gradebook:
        gradebook.update_or_create_student(student_id)
        submission = gradebook.update_or_create_submission(assignment, student_id)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gradebook.db.commit()


COURSE_TOTAL = "course total"  # the assignment column of grades.csv's rows of course totals


def export_grades(course):
    """Write ``grades.csv`` as ``nbgrader export`` does, with its CSV exporter, and each student's course total.

    nbgrader's rows come first, one per student and assignment, sorted by assignment and student;
    then one row per student whose assignment column says ``course total``, with the sum of their
    scores and of the maximum scores of every assignment in the gradebook (a missing submission counts 0).
    """
    from nbgrader.plugins import CsvExportPlugin

    destination = Course.of(course).root / "grades.csv"
    with open_gradebook(course) as gradebook:
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


# ---------------------------------------------------------------------------
# What teaching assistants entered in Formgrader, and what a later grading run does with it


@dataclass
class ManualGrade:
    """A teaching assistant's work on one cell of one submitted notebook (from nbgrader's Formgrader)."""

    notebook: str
    cell: str
    manual_score: object  # None when the cell's score was not changed by hand
    extra_credit: object
    comment: object  # the manual comment, None when there is none
    auto_score: object  # the autograder's score when the teaching assistant saw it
    needs_manual_grade: bool
    graded: bool = True  # False for a comment on a cell that has no score (a solution cell)


def manual_grading(course, assignment, student_id):
    """Every cell of ``student_id``'s submission that a teaching assistant scored or commented: `ManualGrade` s."""
    from nbgrader.api import MissingEntry

    found = []
    with open_gradebook(course) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student_id)
        except MissingEntry:
            return found
        for notebook in submission.notebooks:
            comments = {comment.name: comment.manual_comment for comment in notebook.comments}
            for grade in notebook.grades:
                comment = comments.pop(grade.name, None) or None
                if grade.manual_score is not None or grade.extra_credit or comment:
                    found.append(ManualGrade(notebook.name, grade.name, grade.manual_score, grade.extra_credit,
                                             comment, grade.auto_score, bool(grade.needs_manual_grade)))
            found += [ManualGrade(notebook.name, name, None, None, text, None, False, graded=False)
                      for name, text in comments.items() if text]
    return found


def reconcile_manual_grading(course, assignment, student_id, before, resubmitted):
    """After autograding ``student_id`` again, decide what the teaching assistants' earlier work (``before``) becomes.

    - The same submission graded again: manual scores and comments stay, as nbgrader keeps
      them. nbgrader then marks every manually scored cell as needing review; that mark is put
      back as the teaching assistant left it, unless the autograder's score changed meanwhile.
    - A new submission: the scores and comments were given to code that is gone, so they are
      set aside (removed from the gradebook, written in the returned sentences, which go to the
      grading record and the report) and the cells are marked for review in Formgrader.

    Returns sentences for the instructor.
    """
    if not before:
        return []
    messages = []
    with open_gradebook(course) as gradebook:
        for work in before:
            if work.comment and resubmitted:
                gradebook.find_comment(work.cell, work.notebook, assignment, student_id).manual_comment = None
            if not work.graded:
                continue
            grade = gradebook.find_grade(work.cell, work.notebook, assignment, student_id)
            if resubmitted:
                grade.manual_score, grade.extra_credit, grade.needs_manual_grade = None, None, True
            elif grade.auto_score == work.auto_score:
                grade.needs_manual_grade = work.needs_manual_grade
            elif work.manual_score is not None:
                messages.append(f"The autograder's score of {work.cell} changed from {work.auto_score:g} to "
                                f"{grade.auto_score:g} since a teaching assistant set it to {work.manual_score:g} "
                                "by hand; the manual score is kept: check it in Formgrader.")
        gradebook.db.commit()
    if resubmitted:
        kept = "; ".join(_describe(work) for work in before)
        messages.append("Resubmitted after manual grading: the manual scores and comments given to the earlier "
                        f"submission were set aside ({kept}); the new submission is autograded and its cells "
                        "are marked for review in Formgrader.")
    return messages


def _describe(work):
    parts = []
    if work.manual_score is not None:
        parts.append(f"{work.cell}: {work.manual_score:g} by hand")
    if work.extra_credit:
        parts.append(f"{work.cell}: {work.extra_credit:g} extra credit")
    if work.comment:
        parts.append(f"comment on {work.cell}: \"{work.comment}\"")
    return ", ".join(parts)
