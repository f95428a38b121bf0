"""A student's side: `nbgrader validate` in their copy of the release folder."""

import shutil

import nbformat
import pytest

from mnistkit.course import COURSE_ROOT, nbgrader
from mnistkit.students import DEMO_CLASS, build_submission


@pytest.mark.parametrize("student, verdict", [
    (DEMO_CLASS[0], "Success! Your notebook passes all the tests."),
    (DEMO_CLASS[1], "VALIDATION FAILED ON 1 CELL(S)!"),
    (DEMO_CLASS[2], "VALIDATION FAILED ON"),
])
def test_validate_reports_what_the_visible_tests_find(tmp_path, monkeypatch, student, verdict):
    folder = tmp_path / "my-homework"
    shutil.copytree(COURSE_ROOT / "release" / "mnist_numpy", folder)
    nbformat.write(build_submission(COURSE_ROOT, student), folder / "mnist_numpy.ipynb")
    monkeypatch.setenv("MNIST_DATA", str(COURSE_ROOT / "mnist_data"))  # as if the course's data were beside it
    printed = nbgrader(folder, "validate", "mnist_numpy.ipynb")  # it exits 0 and says what failed
    assert verdict in printed
    if student is DEMO_CLASS[1]:
        assert "loss of a batch of two is wrong: expected 0.5697, got 1.1394" in printed
