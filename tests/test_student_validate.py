"""A student's side: `nbgrader validate` in their copy of the release folder."""

import shutil

import nbformat
import pytest

from mnistkit.course import COURSE_ROOT, nbgrader
from mnistkit.simulated.students import DEMO_CLASS, build_submission


@pytest.mark.parametrize("student, verdict, says", [
    (DEMO_CLASS[0], "Success! Your notebook passes all the tests.", ""),
    (DEMO_CLASS[1], "VALIDATION FAILED ON 1 CELL(S)!", "loss of a batch of two is wrong: expected 0.5697, got 1.1394"),
    (DEMO_CLASS[2], "VALIDATION FAILED ON", "NotImplementedError"),
    (DEMO_CLASS[3], "Success! Your notebook passes all the tests.", ""),
    (DEMO_CLASS[4], "VALIDATION FAILED ON", "the gradient of W1 does not match the numerical gradient"),
], ids=[f"{s.assignment}-{s.student_id}" for s in DEMO_CLASS])
def test_validate_reports_what_the_visible_tests_find(tmp_path, monkeypatch, student, verdict, says):
    folder = tmp_path / "my-homework"
    shutil.copytree(COURSE_ROOT / "release" / student.assignment, folder)
    notebook = f"{student.assignment}.ipynb"
    nbformat.write(build_submission(COURSE_ROOT, student), folder / notebook)
    monkeypatch.setenv("MNIST_DATA", str(COURSE_ROOT / "mnist_data"))  # as if the course's data were beside it
    printed = nbgrader(folder, "validate", notebook)  # it exits 0 and says what failed
    assert verdict in printed and says in printed
