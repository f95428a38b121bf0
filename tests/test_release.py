"""The committed student versions are exactly what nbgrader makes, and give nothing away."""

import nbformat
import pytest

from mnistkit.course import COURSE_ROOT, Course, release_drift
from mnistkit.simulated.shown import secret_lines
from mnistkit.simulated.students import PART1, PART2, notebook_path, reference_answers

ASSIGNMENTS = Course(COURSE_ROOT).assignments()
RELEASED_FILES = [(assignment, path.name) for assignment in ASSIGNMENTS
                  for path in sorted((COURSE_ROOT / "release" / assignment).iterdir())]


def test_the_course_has_both_parts():
    assert ASSIGNMENTS == [PART2, PART1]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_what_generate_assignment_makes(course, assignment):
    drift = release_drift(course / "release" / assignment, COURSE_ROOT / "release" / assignment)
    assert not drift, (f"release/{assignment} is out of date; run 'nbgrader generate_assignment {assignment} --force':\n"
                       + "\n".join(drift))


def test_master_notebooks_have_solutions_and_hidden_tests():
    """Guards the next test: it must have something to look for."""
    for assignment in ASSIGNMENTS:
        assert len(secret_lines(COURSE_ROOT, assignment)) > 50
    assert set(reference_answers(COURSE_ROOT, PART1)) == {"softmax", "cross_entropy_loss", "one_hot_encode", "learn"}
    assert set(reference_answers(COURSE_ROOT, PART2)) == {"relu", "init_params", "forward", "backward", "learn"}


@pytest.mark.parametrize("assignment, name", RELEASED_FILES, ids=[f"{a}/{n}" for a, n in RELEASED_FILES])
def test_release_file_carries_no_solution_or_hidden_test(assignment, name):
    """No released file holds a line of its own master's solutions, nor of any hidden test.

    Part 2's helpers do hold part 1's solutions (its stable softmax and loss, given so that part 2 does
    not depend on a student's part 1): part 2 is released after part 1's deadline (README).
    """
    path = COURSE_ROOT / "release" / assignment / name
    if path.suffix == ".ipynb":
        text = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    else:
        text = path.read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    lines = {line.strip() for line in text.splitlines()}
    for secrets_of in ASSIGNMENTS:
        regions = ("SOLUTION", "HIDDEN TESTS") if secrets_of == assignment else ("HIDDEN TESTS",)
        leaked = sorted(secret_lines(COURSE_ROOT, secrets_of, regions) & lines)
        assert not leaked, f"{path} gives away {secrets_of}'s {' or '.join(regions).lower()}: {leaked[:5]}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebooks_are_committed_without_outputs(assignment):
    for path in (notebook_path(COURSE_ROOT, "source", assignment), notebook_path(COURSE_ROOT, "release", assignment)):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            assert cell.get("id"), f"{path.name}: a cell has no id"
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: cell {cell.id} has outputs"


def test_shared_modules_have_one_copy_in_source():
    """Part 2 ships part 1's modules as links to them, so the course keeps one copy of each."""
    for name in ("mnist_helpers.py", "mnist_checks.py", "mnist_loader.py", "nbgrader_config.py"):
        link = COURSE_ROOT / "source" / PART2 / name
        assert link.is_symlink() and link.resolve() == (COURSE_ROOT / "source" / PART1 / name).resolve()
