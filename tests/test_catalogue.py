"""Every simulated student of both assignments' catalogues, graded in one batch by real nbgrader."""

import nbformat
import pytest

from mnistkit.gradebook import read_grades
from mnistkit.grading import grade_class
from mnistkit.nbgrader_plugins import NOT_RUN_AFTER_TESTS
from mnistkit.report import write_report
from mnistkit.simulated import mnist_mlp_students as part2
from mnistkit.simulated.forgers import PART1_FORGERS, PART2_FORGERS
from mnistkit.simulated.mnist_numpy_students import ALL_POINTS, BROKEN_FILES, CRASHES, MISTAKES, TAMPERING, TWINS, VALID
from mnistkit.simulated.shown import page_text, secret_lines
from mnistkit.simulated.students import PART1, PART2, notebook_path, submit
from courses import new_course

# Seconds a cell may run: over 8 times the slowest correct cell that grading runs (part 2's
# learn_reaches_threshold, 3.5 s on an idle 2-core machine, its 2,000 calls of the course's forward and
# backward crossing between the two kernels; the training cell after the last test is not run), and
# shorter than the course's own 120 s so that the endless loops end sooner.
CELL_TIME_LIMIT = 30

GRADED = ([(s, ALL_POINTS) for s in VALID] + MISTAKES + TAMPERING + CRASHES + [(s, ALL_POINTS) for s in TWINS]
          + PART1_FORGERS)
PART2_GRADED = ([(s, part2.ALL_POINTS) for s in part2.VALID] + part2.MISTAKES + part2.TAMPERING + part2.CRASHES
                + PART2_FORGERS)
EVERYONE = GRADED + [(s, expected) for s, expected, _ in BROKEN_FILES] + PART2_GRADED


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Both catalogues handed in to one course and graded in one run."""
    course = new_course(tmp_path_factory.mktemp("catalogue"), extra_config=f"c.Execute.timeout = {CELL_TIME_LIMIT}")
    for student, _ in EVERYONE:
        submit(course, student)
    result = grade_class(course, progress=False, say=lambda *_: None)
    return course, result, {name: read_grades(course, name) for name in (PART1, PART2)}


def test_catalogue_is_large_enough():
    assert len(VALID) >= 10 and len(MISTAKES) >= 25
    assert len(part2.VALID) >= 6 and len(part2.MISTAKES) >= 12
    for catalogue in (GRADED, PART2_GRADED):
        ids = [student.student_id for student, _ in catalogue]
        assert len(ids) == len(set(ids)), "student ids must be unique"


def test_both_assignments_were_graded_in_one_run(graded):
    _, result, _ = graded
    assert set(result.outcomes) == {PART1, PART2}
    assert len(result.graded_now) == len(EVERYONE)


@pytest.mark.parametrize("student, expected", EVERYONE, ids=[f"{s.assignment}-{s.student_id}" for s, _ in EVERYONE])
def test_points_per_cell(graded, student, expected):
    _, result, tables = graded
    outcome = result.outcomes[student.assignment][student.student_id]
    assert tables[student.assignment].scores.get(student.student_id) == expected, \
        f"{student.description}; reported: {outcome.problems}"


@pytest.mark.parametrize("student, expected, reason", BROKEN_FILES, ids=[s.student_id for s, _, _ in BROKEN_FILES])
def test_broken_files_are_recorded_with_a_reason(graded, student, expected, reason):
    _, result, _ = graded
    outcome = result.outcomes[PART1][student.student_id]
    assert outcome.status == ("graded" if sum(expected.values()) else "failed")
    assert any(reason in problem for problem in outcome.problems), outcome.problems


def _cell(course, student_id, cell_id, assignment=PART1):
    graded_notebook = nbformat.read(notebook_path(course, "autograded", assignment, student_id=student_id), as_version=4)
    return next(cell for cell in graded_notebook.cells if cell.id == cell_id)


def _errors(cell):
    return [f"{output.ename}: {output.evalue}" for output in cell.outputs if output.output_type == "error"]


def test_crashes_are_reported_in_words(graded):
    course, result, _ = graded
    problems = {student: " ".join(outcome.problems) for student, outcome in result.outcomes[PART1].items()}
    assert f"Cell look_at_digits ran longer than {CELL_TIME_LIMIT} s" in problems["crash-endless-plot-cell"]
    assert f"Cell learn_one_step ran longer than {CELL_TIME_LIMIT} s" in problems["crash-endless-learn"]
    for cell in ("learn_visible_tests", "learn_one_step", "learn_does_not_mutate", "learn_reaches_threshold"):
        assert f"Kernel died in cell {cell}" in problems["crash-exit-in-learn"]
        assert _errors(_cell(course, "crash-exit-in-learn", cell))[0].startswith("KernelDied: The kernel died")
    assert "Kernel died in cell softmax" in problems["crash-segfault"]


@pytest.mark.parametrize("student_id, refused", [("crash-memory-hog", "8.00 GiB"), ("crash-memory-grows", "1.00 GiB")])
def test_a_grading_kernel_cannot_take_more_than_its_memory_cap(graded, student_id, refused):
    """Without the cap both allocations succeed (untouched pages cost nothing), so only the cap can refuse them."""
    course, _, _ = graded
    (error,) = _errors(_cell(course, student_id, "one_hot_encode"))
    assert error.startswith(f"MemoryError: Unable to allocate {refused}")


def test_tampering_during_a_test_fails_that_test_with_a_reason(graded):
    course, _, _ = graded
    errors = _errors(_cell(course, "tamper-patches-during-tests", "learn_does_not_mutate"))
    assert len(errors) == 1 and "cannot be trusted" in errors[0] and "numpy.allclose" in errors[0]


def test_a_student_kernel_that_stops_answering_or_answers_garbage_is_told_in_words(graded):
    course, _, _ = graded
    not_answering = "softmax cannot be called: the student's kernel is not answering"
    for student_id, first, later in (("forge-never-answers", not_answering, not_answering),
                                     ("forge-garbage-reply", "not plain data", not_answering),
                                     ("forge-raw-pickle", "not plain data", not_answering),
                                     ("forge-pickle-reply", "kind 'pickle' cannot be passed", not_answering)):
        for cell, words in (("softmax_shape_and_sums", first), ("softmax_values", later)):
            errors = _errors(_cell(course, student_id, cell))
            assert errors and words in errors[0], (student_id, cell, errors)


def test_warnings_on_stderr_are_shown_but_cost_nothing(graded):
    course, _, tables = graded
    cell = _cell(course, "valid-loss-warns", "cross_entropy_stability")
    assert any("divide by zero encountered in log" in output.get("text", "") for output in cell.outputs)
    assert tables[PART1].scores["valid-loss-warns"]["cross_entropy_stability"] == 1
    cell = _cell(course, "mlp-valid-warning", "learn_reaches_threshold", PART2)
    assert any("training on the CPU may take a second" in output.get("text", "") for output in cell.outputs)


def test_same_code_gets_the_same_grade_twice(graded):
    """Twins shuffle with NumPy's unseeded global generator; grading seeds it, so they train identically."""
    course, _, tables = graded
    printed = {twin.student_id: [o.get("text") for o in _cell(course, twin.student_id, "learn_reaches_threshold").outputs]
               for twin in TWINS}
    assert printed["twin-a"] == printed["twin-b"] and printed["twin-a"]
    before = tables[PART1].scores["twin-a"]
    grade_class(course, PART1, students=["twin-a"], progress=False, say=lambda *_: None)
    assert read_grades(course, PART1).scores["twin-a"] == before
    assert [o.get("text") for o in _cell(course, "twin-a", "learn_reaches_threshold").outputs] == printed["twin-a"]


@pytest.mark.parametrize("assignment", [PART1, PART2])
def test_feedback_never_shows_a_hidden_test(graded, assignment):
    course, result, _ = graded
    hidden = secret_lines(course, assignment, regions=("HIDDEN TESTS",))
    assert len(hidden) > 50
    pages = sorted((course / "feedback").glob(f"*/{assignment}/{assignment}.html"))
    assert len(pages) == sum(outcome.status == "graded" for outcome in result.outcomes[assignment].values())
    for page in pages:
        text = page_text(page)
        shown = [line for line in hidden if line in text]
        assert not shown, f"{page.parent.parent.name}'s feedback shows hidden test lines: {shown[:3]}"


def test_feedback_says_which_check_failed_and_why(graded):
    course, _, _ = graded
    text = page_text(course / "feedback" / "seed-cross-entropy" / "mnist_numpy" / "mnist_numpy.html")
    assert "Failed (0 of 2 points). AssertionError: the loss of a batch is wrong: expected" in text
    assert "cross_entropy_loss gives the right value for one example and the mean for a batch." in text
    assert "Visible test: a confident right prediction costs little" in text, "visible tests stay visible"
    text = page_text(course / "feedback" / "mlp-summed-gradients" / PART2 / f"{PART2}.html")
    assert ('Failed (0 of 2 points). AssertionError: the gradient of "W2" is wrong: expected' in text
            and "Gradients are batch means: divide by n once." in text)
    assert "relative error" in text and "(should be below 1e-6)" in text


def test_part2_crashes_and_tampering_cost_only_what_they_break(graded):
    course, result, _ = graded
    problems = " ".join(result.outcomes[PART2]["mlp-crash-baseline-cell"].problems)
    assert "Kernel died in cell baseline" in problems
    errors = _errors(_cell(course, "mlp-tamper-patches-checks", "backward_gradient_check", PART2))
    assert errors and "relative error" in errors[0], "relative_error was put back before the hidden test"
    assert "Restored 14 deleted cell(s)" in " ".join(result.outcomes[PART2]["mlp-tamper-deletes-tests"].problems)


def test_changed_test_cells_are_put_back_and_reported(graded):
    _, result, _ = graded
    problems = " ".join(result.outcomes[PART1]["tamper-edits-tests"].problems)
    assert ("Put back 4 test or locked cell(s) whose code was changed: softmax_visible_tests, "
            "softmax_shape_and_sums, softmax_values, softmax_stability.") in problems


def test_only_students_who_print_hidden_tests_are_reported_for_it(graded):
    """A failing hidden test's traceback quotes the test; that is removed too, but is no reason for a look."""
    course, result, _ = graded
    honest = [student for student, _ in MISTAKES + part2.MISTAKES]
    assert any(line.startswith("[a line of a hidden test was removed")
               for output in _cell(course, "seed-cross-entropy", "cross_entropy_values").outputs
               for line in output.get("traceback", [])), "the failing test's own lines are still removed"
    reported = [student.student_id for student in honest
                if any("quoting hidden tests" in problem
                       for problem in result.outcomes[student.assignment][student.student_id].problems)]
    assert reported == []
    write_report(course, result.outcomes, similarity=False)
    sections = (course / "reports" / "report.md").read_text().split("### Submissions that need a look")[1:]
    need_a_look = " ".join(section.split("\n#")[0] for section in sections)
    assert "seed-cross-entropy" not in need_a_look
    assert "mlp-summed-gradients" not in need_a_look and "tamper-deletes-tests" in need_a_look


def test_cells_after_the_last_test_are_not_run_and_say_so(graded):
    course, result, _ = graded
    for assignment, student in ((PART1, "valid-learn-in-place"), (PART2, "mlp-valid-lists")):
        cell = _cell(course, student, "train", assignment)
        assert [output.get("text") for output in cell.outputs] == [NOT_RUN_AFTER_TESTS]
        assert result.outcomes[assignment][student].problems == []
        page = page_text(course / "feedback" / student / assignment / f"{assignment}.html")
        assert NOT_RUN_AFTER_TESTS.strip() in page
