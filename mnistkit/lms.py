"""Grades for a learning-management system: Canvas's and Moodle's gradebook-import CSV files; runs in the trusted grader.

The mapping from nbgrader's student ids to the LMS's own is course data: the LMS's own
gradebook export, saved in the course folder once a term (``lms/canvas_roster.csv``: Canvas,
*Grades → Export → Export Entire Gradebook*; ``lms/moodle_roster.csv``: Moodle, *Grades →
Export → Plain text file*). One of its columns holds each student's nbgrader id
(``c.LmsExport.canvas_match``, default ``SIS Login ID``; ``c.LmsExport.moodle_match``, default
``ID number``). Every student of nbgrader's gradebook must have exactly one row there, or
nothing is written and the message names who cannot be mapped.

Scores are each assignment's final score (after the late penalty, as in ``grades.csv``; 0
without a submission), one column per assignment, and the course total. Canvas: its export's
identity columns, its *Points Possible* row, an assignment column named as in the roster when
it is there (``mnist_numpy (4711)``: Canvas updates that assignment) else by its nbgrader name
(Canvas creates it), and the total as *Final Points*, a column Canvas computes and ignores on
import. Moodle: its export's identity columns, one column per assignment and *Course total*; on
import, map the identity column to the user field it holds and each assignment to its grade item.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

from traitlets import Unicode
from traitlets.config import Configurable

from mnistkit.course import write_csv
from mnistkit.gradebook import open_gradebook

LMS_DIR = "lms"
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "    Points Possible"  # the first cell of Canvas's row of maximum points, as its export writes it
CANVAS_TOTAL = "Final Points"
MOODLE_IDENTITY = ["First name", "Last name", "ID number", "Institution", "Department", "Email address"]
MOODLE_TOTAL = "Course total"


class LmsExport(Configurable):
    """Which column of the LMS's roster holds nbgrader's student ids."""

    canvas_match = Unicode("SIS Login ID", help="Column of lms/canvas_roster.csv holding nbgrader's student ids "
                                                "(Canvas: ID, SIS User ID or SIS Login ID).").tag(config=True)
    moodle_match = Unicode("ID number", help="Column of lms/moodle_roster.csv holding nbgrader's student ids "
                                             "(Moodle: ID number, Email address or Username).").tag(config=True)


class LmsError(ValueError):
    """A roster that cannot be read, or students who cannot be mapped; the message says which and what to do."""


@dataclass
class Written:
    path: Path
    students: int
    blank: list  # roster rows of people not in nbgrader's gradebook (their cells left empty)


def number(value):
    """A score as both LMSs read it: a point for decimals, at most two of them, no exponent."""
    text = f"{round(float(value), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def final_scores(course):
    """``(assignments, {student: {assignment: final score}}, {assignment: max score})`` from nbgrader's gradebook."""
    with open_gradebook(course) as gradebook:
        assignments = sorted(assignment.name for assignment in gradebook.assignments)
        maximum = {assignment.name: float(assignment.max_score) for assignment in gradebook.assignments}
        scores = {student.id: {name: 0.0 for name in assignments} for student in gradebook.students}
        for name in assignments:
            for submission in gradebook.assignment_submissions(name):
                scores[submission.student.id][name] = max(
                    0.0, float(submission.score) - float(submission.late_submission_penalty or 0.0))
    return assignments, scores, maximum


def read_roster(path, match, identity, lms):
    """``(header, rows by nbgrader id)`` of an LMS's gradebook export, or `LmsError`."""
    if not path.is_file():
        raise LmsError(f"no roster at {path}: save {lms}'s gradebook export there (see the README, "
                       "'Grades for the learning-management system')")
    with path.open(newline="", encoding="utf-8-sig") as file:  # Excel and both LMSs may write a byte-order mark
        reader = csv.DictReader(file)
        header = reader.fieldnames or []
        missing = [column for column in [match] + identity[:1] if column not in header]
        if missing:
            raise LmsError(f"{path} is not {lms}'s gradebook export: it has no column {', '.join(missing)} "
                           f"(its columns: {', '.join(header[:12])})")
        rows, repeated = {}, set()
        for row in reader:
            key = (row.get(match) or "").strip()
            if not key or row.get(identity[0], "").strip() == CANVAS_POINTS_ROW.strip():
                continue
            if key in rows:
                repeated.add(key)
            rows[key] = row
    if repeated:
        raise LmsError(f"{path}: more than one row has the {match} {', '.join(sorted(repeated))}")
    return header, rows


def _map_students(scores, rows, path, match):
    unmapped = sorted(student for student in scores if student not in rows)
    if unmapped:
        raise LmsError(f"{len(unmapped)} student(s) of nbgrader's gradebook have no row in {path} whose {match} is "
                       f"their id: {', '.join(unmapped)}. Add them to the LMS (and export it again), or set "
                       "c.LmsExport's column to the one that holds nbgrader's ids. Nothing was written.")


def _write(course, name, header, lines):
    (Path(course.root) / LMS_DIR).mkdir(exist_ok=True)
    return write_csv(Path(course.root) / LMS_DIR / name, header, lines)


def _score_rows(rows, identity, scores, assignments, blank_name):
    """One line per roster row: its identity cells, then each assignment's final score and the total (empty for
    people nbgrader does not know, whose ``blank_name(row)`` is listed); ``(lines, blank)``."""
    lines, blank = [], []
    for student, row in rows.items():  # the roster's rows, by the nbgrader id they hold
        cells = [row.get(column, "") for column in identity]
        if student not in scores:
            blank.append(blank_name(row))
            lines.append(cells + [""] * (len(assignments) + 1))
            continue
        finals = [scores[student][name] for name in assignments]
        lines.append(cells + [number(score) for score in finals] + [number(sum(finals))])
    return lines, blank


def canvas_csv(course, roster=None):
    """Write ``lms/canvas_grades.csv`` for Canvas's gradebook import; return `Written`."""
    match = LmsExport(config=course.config).canvas_match
    path = Path(roster) if roster else Path(course.root) / LMS_DIR / "canvas_roster.csv"
    header, rows = read_roster(path, match, CANVAS_IDENTITY, "Canvas")
    assignments, scores, maximum = final_scores(course)
    _map_students(scores, rows, path, match)
    # An assignment already in Canvas keeps the roster's header, "name (canvas id)", so that the import updates it.
    columns = [next((column for column in header if column.split(" (")[0] == name), name) for name in assignments]
    identity = [column for column in CANVAS_IDENTITY if column in header]
    points = [[CANVAS_POINTS_ROW] + [""] * (len(identity) - 1) + [number(maximum[name]) for name in assignments]
              + [number(sum(maximum.values()))]]
    lines, blank = _score_rows(rows, identity, scores, assignments, lambda row: row[CANVAS_IDENTITY[0]])
    lines = points + lines
    return Written(_write(course, "canvas_grades.csv", identity + columns + [CANVAS_TOTAL], lines), len(scores), blank)


def moodle_csv(course, roster=None):
    """Write ``lms/moodle_grades.csv`` for Moodle's CSV grade import; return `Written`."""
    match = LmsExport(config=course.config).moodle_match
    path = Path(roster) if roster else Path(course.root) / LMS_DIR / "moodle_roster.csv"
    header, rows = read_roster(path, match, MOODLE_IDENTITY, "Moodle")
    assignments, scores, _ = final_scores(course)
    _map_students(scores, rows, path, match)
    identity = [column for column in MOODLE_IDENTITY if column in header]
    if match not in identity:
        identity.append(match)
    lines, blank = _score_rows(rows, identity, scores, assignments, lambda row: " ".join(
        filter(None, (row.get("First name"), row.get("Last name")))) or row[match])
    return Written(_write(course, "moodle_grades.csv", identity + assignments + [MOODLE_TOTAL], lines), len(scores),
                   blank)
