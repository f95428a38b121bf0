"""What the tests watch for change (imported by them; pytest puts this folder on sys.path)."""

import hashlib
import sqlite3
from pathlib import Path

import nbformat

from mnistkit.course import nbgrader
from mnistkit.simulated.students import PART1, notebook_path

SOLUTION_CANARY = "# canary: a line only the master notebook's solutions hold, 4b1d"


def fingerprint(*paths):
    """SHA-256 of every file under ``paths`` (following the course's data link), by path."""
    found = {}
    for root in map(Path, paths):
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
        for path in files:
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def with_canary(course):
    """Put a canary line in the course's master solution, and release it again."""
    master = notebook_path(course, "source", PART1)
    notebook = nbformat.read(master, as_version=4)
    softmax = next(cell for cell in notebook.cells if cell.id == "softmax")
    softmax.source = softmax.source.replace("### BEGIN SOLUTION\n", f"### BEGIN SOLUTION\n    {SOLUTION_CANARY}\n")
    nbformat.write(notebook, master)
    nbgrader(course, "generate_assignment", PART1, "--force")


def outputs_text(graded_notebook):
    """Everything the cells of a graded notebook (a path) output, as one text; not their code."""
    graded = nbformat.read(graded_notebook, as_version=4)
    return nbformat.writes(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(outputs=cell.get("outputs", [])) for cell in graded.cells]))


def grade_rows(course, students):
    """``(student, cell, auto score, manual score, extra credit)`` of ``students`` in the course's SQLite gradebook."""
    with sqlite3.connect(course / "gradebook.db") as db:
        return sorted(row for row in db.execute(
            "SELECT student.id, base_cell.name, grade.auto_score, grade.manual_score, grade.extra_credit "
            "FROM grade JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id "
            "JOIN base_cell ON grade.cell_id = base_cell.id") if row[0] in students)
