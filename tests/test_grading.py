"""The main job, end to end through real nbgrader: release, autograde, feedback, export."""

import csv
import shutil
import subprocess
import sys

import nbformat
import pytest

from mnistkit import ASSIGNMENT
from mnistkit.catalogue import ALL_POINTS, LOSS_CELLS, losing
from mnistkit.course import new_course
from mnistkit.gradebook import read_grades
from mnistkit.students import notebook_path

# The original notebook's cross-entropy sums over the batch and takes log(0): it loses the
# loss's value and stability checks and the gradient check (its gradient is n times too big).
PARTIAL = losing(*LOSS_CELLS, "gradient_check")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo class, plus the master notebook itself handed in as a submission, graded by the main command."""
    course = new_course(tmp_path_factory.mktemp("demo-course"), with_release=False)
    as_student = notebook_path(course, "submitted", student_id="master-as-student")
    as_student.parent.mkdir(parents=True)
    shutil.copy(notebook_path(course, "source"), as_student)
    finished = subprocess.run([sys.executable, "-m", "mnistkit", "demo", "--course", str(course)],
                              capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return course, finished.stdout


def test_points_per_cell_are_as_announced(demo):
    course, _ = demo
    assert dict(read_grades(course).cells) == ALL_POINTS


@pytest.mark.parametrize("student, expected", [
    ("demo-correct", ALL_POINTS),
    ("master-as-student", ALL_POINTS),
    ("demo-partial", PARTIAL),
    ("demo-untouched", dict.fromkeys(ALL_POINTS, 0)),
])
def test_each_student_gets_the_expected_points_per_cell(demo, student, expected):
    course, _ = demo
    assert read_grades(course).scores[student] == expected


@pytest.mark.parametrize("student", ["demo-correct", "master-as-student"])
def test_correct_notebooks_run_without_any_error_output(demo, student):
    course, _ = demo
    graded = nbformat.read(notebook_path(course, "autograded", student_id=student), as_version=4)
    for cell in graded.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"cell {cell.id}: {output.ename}: {output.evalue}"
            assert output.get("name") != "stderr", f"cell {cell.id} wrote to stderr: {output.text[:300]}"


def test_main_command_prints_the_grade_table(demo):
    _, printed = demo
    lines = printed.splitlines()
    header = next(line for line in lines if line.startswith("graded cell")).split()[3:]
    totals = next(line for line in lines if line.startswith("total")).split()[1:]
    assert dict(zip(["max", *header], totals)) == {
        "max": "20", "demo-correct": "20", "demo-partial": "15", "demo-untouched": "0", "master-as-student": "20",
    }
    assert "3 submissions" not in printed and "4 submissions: 4 graded" in printed


def test_feedback_and_exported_grades_cover_every_student(demo):
    course, _ = demo
    students = {"demo-correct", "demo-partial", "demo-untouched", "master-as-student"}
    for student in students:
        page = course / "feedback" / student / ASSIGNMENT / "mnist_numpy.html"
        assert page.is_file(), f"no feedback for {student}"
    with open(course / "grades.csv") as exported:
        rows = {row["student_id"]: row for row in csv.DictReader(exported)}
    assert set(rows) == students
    assert {student: float(rows[student]["score"]) for student in students} == {
        "demo-correct": 20, "master-as-student": 20, "demo-partial": 15, "demo-untouched": 0,
    }
    assert all(float(row["max_score"]) == 20 for row in rows.values())
