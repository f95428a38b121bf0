"""The committed student version is exactly what nbgrader makes, and gives nothing away."""

import nbformat
import pytest

from mnistkit import ASSIGNMENT
from mnistkit.course import COURSE_ROOT, release_drift
from mnistkit.shown import secret_lines
from mnistkit.students import notebook_path, reference_answers

COMMITTED_RELEASE = COURSE_ROOT / "release" / ASSIGNMENT


def test_committed_release_is_what_generate_assignment_makes(course):
    drift = release_drift(course / "release" / ASSIGNMENT, COMMITTED_RELEASE)
    assert not drift, "release/ is out of date; run 'nbgrader generate_assignment mnist_numpy --force':\n" + "\n".join(drift)


def test_master_notebook_has_solutions_and_hidden_tests():
    """Guards the next test: it must have something to look for."""
    assert len(secret_lines(COURSE_ROOT)) > 50
    assert set(reference_answers(COURSE_ROOT)) == {"softmax", "cross_entropy_loss", "one_hot_encode", "learn"}


@pytest.mark.parametrize("path", sorted(p.name for p in COMMITTED_RELEASE.iterdir()))
def test_release_file_carries_no_solution_or_hidden_test(path):
    """No line that only the master's solutions or hidden tests contain is in a released file."""
    path = COMMITTED_RELEASE / path
    if path.suffix == ".ipynb":
        text = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    else:
        text = path.read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    lines = {line.strip() for line in text.splitlines()}
    leaked = sorted(secret_lines(COURSE_ROOT) & lines)
    assert not leaked, f"{path} gives away: {leaked[:5]}"


def test_notebooks_are_committed_without_outputs():
    for path in (notebook_path(COURSE_ROOT, "source"), notebook_path(COURSE_ROOT, "release")):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            assert cell.get("id"), f"{path.name}: a cell has no id"
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: cell {cell.id} has outputs"
