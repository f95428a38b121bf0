"""The main job, end to end through real nbgrader: release, autograde, feedback, export."""

import csv
import shutil
import subprocess
import sys

import nbformat
import pytest

from mnistkit.gradebook import read_grades
from mnistkit.simulated import mnist_mlp_students
from mnistkit.simulated.mnist_numpy_students import ALL_POINTS, LOSS_CELLS, losing
from mnistkit.simulated.students import PART1, PART2, notebook_path
from courses import new_course

# The original notebook's cross-entropy sums over the batch and takes log(0): it loses the
# loss's value and stability checks and the gradient check (its gradient is n times too big).
PARTIAL = losing(*LOSS_CELLS, "gradient_check")
# Part 2's partial student sums its gradients over the batch: wrong values, and the finite differences disagree.
PART2_POINTS = mnist_mlp_students.ALL_POINTS
PART2_PARTIAL = mnist_mlp_students.losing(*mnist_mlp_students.WRONG_GRADIENTS)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo class, plus the master notebooks themselves handed in as submissions, graded by the main command."""
    course = new_course(tmp_path_factory.mktemp("demo-course"), with_release=False)
    for assignment in (PART1, PART2):
        as_student = notebook_path(course, "submitted", assignment, student_id="master-as-student")
        as_student.parent.mkdir(parents=True)
        shutil.copy(notebook_path(course, "source", assignment), as_student)
    finished = subprocess.run([sys.executable, "-m", "mnistkit", "demo", "--course", str(course)],
                              capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return course, finished.stdout


def test_points_per_cell_are_as_announced(demo):
    course, _ = demo
    assert dict(read_grades(course, PART1).cells) == ALL_POINTS
    assert dict(read_grades(course, PART2).cells) == PART2_POINTS


@pytest.mark.parametrize("assignment, student, expected", [
    (PART1, "demo-correct", ALL_POINTS),
    (PART1, "master-as-student", ALL_POINTS),
    (PART1, "demo-partial", PARTIAL),
    (PART1, "demo-untouched", dict.fromkeys(ALL_POINTS, 0)),
    (PART2, "demo-correct", PART2_POINTS),
    (PART2, "master-as-student", PART2_POINTS),
    (PART2, "demo-partial", PART2_PARTIAL),
])
def test_each_student_gets_the_expected_points_per_cell(demo, assignment, student, expected):
    course, _ = demo
    assert read_grades(course, assignment).scores[student] == expected


@pytest.mark.parametrize("assignment", [PART1, PART2])
@pytest.mark.parametrize("student", ["demo-correct", "master-as-student"])
def test_correct_notebooks_run_without_any_error_output(demo, student, assignment):
    course, _ = demo
    graded = nbformat.read(notebook_path(course, "autograded", assignment, student_id=student), as_version=4)
    for cell in graded.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"cell {cell.id}: {output.ename}: {output.evalue}"
            assert output.get("name") != "stderr", f"cell {cell.id} wrote to stderr: {output.text[:300]}"


def test_main_command_prints_the_grade_tables(demo):
    _, printed = demo
    lines = printed.splitlines()
    headers = [line.split()[3:] for line in lines if line.startswith("graded cell")]
    totals = [line.split()[1:] for line in lines if line.startswith("total")]
    assert [dict(zip(["max", *header], row)) for header, row in zip(headers, totals)] == [
        {"max": "25", "demo-correct": "25", "demo-partial": "19", "master-as-student": "25"},
        {"max": "20", "demo-correct": "20", "demo-partial": "15", "demo-untouched": "0", "master-as-student": "20"},
    ]
    assert "mnist_numpy: 4 submissions: 4 graded" in printed and "mnist_mlp: 3 submissions: 3 graded" in printed


def test_feedback_and_exported_grades_cover_every_student(demo):
    course, _ = demo
    handed_in = {PART1: {"demo-correct", "demo-partial", "demo-untouched", "master-as-student"},
                 PART2: {"demo-correct", "demo-partial", "master-as-student"}}
    for assignment, students in handed_in.items():
        for student in students:
            page = course / "feedback" / student / assignment / f"{assignment}.html"
            assert page.is_file(), f"no feedback for {student}"
    with open(course / "grades.csv") as exported:
        rows = {(row["assignment"], row["student_id"]): row for row in csv.DictReader(exported)}
    scores = {key: float(row["score"]) for key, row in rows.items()}
    assert scores == {
        (PART1, "demo-correct"): 20, (PART1, "master-as-student"): 20, (PART1, "demo-partial"): 15,
        (PART1, "demo-untouched"): 0, (PART2, "demo-correct"): 25, (PART2, "master-as-student"): 25,
        (PART2, "demo-partial"): 19, (PART2, "demo-untouched"): 0,
        ("course total", "demo-correct"): 45, ("course total", "master-as-student"): 45,
        ("course total", "demo-partial"): 34, ("course total", "demo-untouched"): 0,
    }
    assert all(float(row["max_score"]) == 45 for (name, _), row in rows.items() if name == "course total")
