"""The class command: the same results as plain nbgrader, zip collection, resuming, and the report."""

import csv
import getpass
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from mnistkit.course import nbgrader
from mnistkit.gradebook import open_gradebook, read_grades
from mnistkit.grading import grade_class
from mnistkit.simulated import mnist_mlp_students
from mnistkit.simulated.mnist_numpy_students import ALL_POINTS, CRASHES, MISTAKES, TAMPERING, VALID, Student
from mnistkit.simulated.shown import comparable_feedback
from mnistkit.simulated.students import (
    DEMO_CLASS, PART1, PART2, SimulatedStudent, build_submission, find_student, notebook_path, set_source, submit,
)
from courses import new_course
from commands import run_kit

PART2_POINTS = mnist_mlp_students.ALL_POINTS


# ---------------------------------------------------------------------------
# Same gradebook, grades and feedback as plain sequential nbgrader

SAME_AS_PLAIN = [
    *DEMO_CLASS,
    find_student(VALID, "valid-loss-warns"),
    find_student(TAMPERING, "tamper-patches-during-tests")[0],
    find_student(CRASHES, "crash-exit-in-learn")[0],
    find_student(MISTAKES, "seed-softmax")[0],
]


@pytest.fixture(scope="module")
def plain_and_kit(tmp_path_factory):
    courses = {}
    for name in ("plain", "kit"):
        course = new_course(tmp_path_factory.mktemp(name))
        for student in SAME_AS_PLAIN:
            submit(course, student)
        courses[name] = course

    def plain_nbgrader(assignment):
        nbgrader(courses["plain"], "autograde", assignment)
        nbgrader(courses["plain"], "generate_feedback", assignment)

    with open_gradebook(courses["plain"]) as gradebook:  # made here, not by both runs at once
        for student in SAME_AS_PLAIN:
            gradebook.update_or_create_student(student.student_id)
    with ThreadPoolExecutor(2) as both:  # each runs one kernel at a time: two use the machine's two cores
        list(both.map(plain_nbgrader, (PART1, PART2)))
    grade_class(courses["kit"], progress=False, say=lambda *_: None)
    return courses


@pytest.mark.parametrize("assignment", [PART1, PART2])
def test_kit_and_plain_nbgrader_give_the_same_grades(plain_and_kit, assignment):
    plain, kit = read_grades(plain_and_kit["plain"], assignment), read_grades(plain_and_kit["kit"], assignment)
    assert set(plain.scores) == {student.student_id for student in SAME_AS_PLAIN if student.assignment == assignment}
    assert plain.scores == kit.scores
    if assignment == PART1:
        assert plain.scores["tamper-patches-during-tests"]["learn_does_not_mutate"] == 0, "plain nbgrader runs the plugins"
    else:
        assert sum(plain.scores["demo-partial"].values()) == 19


def test_kit_and_plain_nbgrader_write_the_same_feedback(plain_and_kit):
    for student in SAME_AS_PLAIN:
        assert comparable_feedback(plain_and_kit["plain"], student.student_id, student.assignment) == \
            comparable_feedback(plain_and_kit["kit"], student.student_id, student.assignment), student.student_id


def test_kit_and_plain_nbgrader_record_the_same_gradebook_rows(plain_and_kit):
    def rows(course):
        with sqlite3.connect(course / "gradebook.db") as db:
            return sorted(db.execute(
                "SELECT assignment.name, student.id, grade_cell.name, grade.auto_score, grade.needs_manual_grade "
                "FROM grade JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
                "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
                "JOIN assignment ON submitted_assignment.assignment_id = assignment.id "
                "JOIN student ON submitted_assignment.student_id = student.id "
                "JOIN base_cell AS grade_cell ON grade.cell_id = grade_cell.id"))

    assert rows(plain_and_kit["plain"]) == rows(plain_and_kit["kit"])
    points = {PART1: ALL_POINTS, PART2: PART2_POINTS}
    assert len(rows(plain_and_kit["kit"])) == sum(len(points[student.assignment]) for student in SAME_AS_PLAIN)


# ---------------------------------------------------------------------------
# A class downloaded as a zip, with a late, a broken and a missing student, graded by the command;
# then part 2, handed in by two of them


@pytest.fixture(scope="module")
def zipped_class(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("zipped"))
    nbgrader(course, "db", "assignment", "add", PART1, "--duedate=2026-11-20 17:00:00 UTC")
    nbgrader(course, "db", "student", "add", "ghost", "--first-name=Never", "--last-name=Submitted")
    archive = course / "canvas-download.zip"
    correct = build_submission(course, DEMO_CLASS[0])
    partial = build_submission(course, DEMO_CLASS[1])
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("doejane_1201_99001_mnist_numpy.ipynb", nbformat.writes(correct))
        zipped.writestr("roerich_LATE_1202_99002_mnist_numpy-1.ipynb", nbformat.writes(partial))
        zipped.writestr("smithal_1203_99003_mnist_numpy.ipynb", '{"cells": [')
    submit(course, Student("latecomer", "hands in three days late"))
    (notebook_path(course, "submitted", PART1, student_id="latecomer").parent / "timestamp.txt").write_text(
        "2026-11-23 17:00:00 UTC")
    finished = run_kit(course, PART1, "--zip", str(archive))
    assert finished.returncode == 0, finished.stderr[-3000:]
    submit(course, SimulatedStudent("doejane", "part 2, correct", assignment=PART2))
    submit(course, SimulatedStudent("roerich", "part 2, gradients summed", assignment=PART2,
                                    answers=DEMO_CLASS[4].answers))
    part2 = run_kit(course, PART2)
    assert part2.returncode == 0, part2.stderr[-3000:]
    return course, finished.stdout, part2.stdout


def test_zip_collect_puts_each_student_where_nbgrader_expects(zipped_class):
    course, _, _ = zipped_class
    scores = {student: sum(cells.values()) for student, cells in read_grades(course, PART1).scores.items()}
    assert scores == {"doejane": 20, "roerich": 15, "smithal": 0, "latecomer": 20}


def test_report_answers_what_the_class_got_wrong_and_who_needs_a_look(zipped_class):
    course, printed, _ = zipped_class
    report = (course / "reports" / "report.md").read_text()
    assert "mnist_numpy: 4 submissions: 3 graded, 1 could not be graded (recorded with 0 points)" in report
    assert "| `cross_entropy_values` | 2 | 2 of 3 | 67% |" in report
    assert "| `softmax_values` | 2 | 3 of 3 | 100% |" in report
    assert re.search(r"\| smithal \| failed \| 0 \| 'mnist_numpy.ipynb' cannot be read as a notebook", report)
    assert re.search(r"\| latecomer \| [^|]+ \| [^|]+ \| 3 days \| 20 \| 0 \| 20 \|", report)
    assert "- No submission from: ghost." in report
    assert (course / "reports" / PART1 / "scores.png").read_bytes().startswith(b"\x89PNG")
    assert "smithal [failed]: 'mnist_numpy.ipynb' cannot be read as a notebook" in printed
    assert "Least passed: cross_entropy_values (2/3)" in printed


def test_grades_csv_covers_the_roster_with_course_totals(zipped_class):
    course, _, _ = zipped_class
    with open(course / "grades.csv", newline="") as exported:
        rows = {(row["assignment"], row["student_id"]): row for row in csv.DictReader(exported)}
    students = ("doejane", "roerich", "smithal", "latecomer", "ghost")
    assert set(rows) == {(name, student) for name in (PART1, PART2, "course total") for student in students}
    totals = {student: (float(rows["course total", student]["score"]), float(rows["course total", student]["max_score"]))
              for student in students}
    assert totals == {"doejane": (45, 45), "roerich": (34, 45), "smithal": (0, 45), "latecomer": (20, 45),
                      "ghost": (0, 45)}


def test_report_has_a_section_per_assignment_and_the_course_total(zipped_class):
    course, _, printed = zipped_class
    report = (course / "reports" / "report.md").read_text()
    assert "## mnist_mlp" in report and "## mnist_numpy" in report and "## Course total" in report
    assert "| student | mnist_mlp (of 25) | mnist_numpy (of 20) | total (of 45) |" in report
    assert "| doejane | 25 | 20 | 45 |" in report and "| latecomer | - | 20 | 20 |" in report
    assert "| `backward_gradient_check` | 4 | 1 of 2 | 50% |" in report
    assert "mnist_mlp: 2 submissions: 2 graded, 0 could not be graded" in printed
    assert (course / "reports" / PART2 / "scores.png").read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------------------------------
# Interrupted and resumed


def test_an_interrupted_run_loses_nobody_and_resumes(tmp_path):
    course = new_course(tmp_path / "course")
    # One worker grades them in order. The first is quick; each later one waits 5 s in an ungraded
    # cell, so the run is still going when the first outcome appears, however fast the machine is.
    slow = lambda nb: set_source(nb, "import time\ntime.sleep(5)", "look_at_digits")  # noqa: E731
    class_ = [Student(f"student-{n}", "correct", edit=slow if n else None) for n in range(4)]
    for student in class_:
        submit(course, student)
    outcomes = course / "grading" / PART1
    running = subprocess.Popen(
        [sys.executable, "-m", "mnistkit", "grade", "--course", str(course), "--workers", "1", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 600  # a bound on a broken run, not a speed requirement
    while not (outcomes.is_dir() and any(outcomes.glob("*.json"))) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(running.pid, signal.SIGINT)  # what Ctrl-C does in a terminal
    _, errors = running.communicate(timeout=600)
    assert running.returncode == 130 and "run the same command with --skip-graded" in errors

    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    done_first = {path.name: path.stat().st_mtime_ns for path in outcomes.glob("*.json")}
    assert 1 <= len(done_first) < len(class_)

    resumed = run_kit(course, "--skip-graded")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Skipping {len(done_first)} submission(s) already graded." in resumed.stdout
    assert {path.name: path.stat().st_mtime_ns for path in outcomes.glob("*.json") if path.name in done_first} == done_first
    assert read_grades(course, PART1).scores == {student.student_id: ALL_POINTS for student in class_}


def test_only_the_chosen_students_are_regraded(tmp_path):
    course = new_course(tmp_path / "course")
    for student in DEMO_CLASS[:2]:
        submit(course, student)
    first = grade_class(course, progress=False, say=lambda *_: None)
    assert sorted(first.graded_now) == [(PART1, "demo-correct"), (PART1, "demo-partial")]
    submit(course, Student("demo-partial", "fixed", answers={}))  # a corrected resubmission
    again = grade_class(course, students=["demo-partial"], progress=False, say=lambda *_: None)
    assert again.graded_now == [(PART1, "demo-partial")]
    assert read_grades(course, PART1).scores == {"demo-correct": ALL_POINTS, "demo-partial": ALL_POINTS}


def test_any_executor_can_run_the_graders(tmp_path):
    """grade_class takes a concurrent.futures executor, as a cluster's would be passed in."""
    from concurrent.futures import ProcessPoolExecutor

    course = new_course(tmp_path / "course")
    submit(course, DEMO_CLASS[1])
    with ProcessPoolExecutor(max_workers=1) as executor:
        result = grade_class(course, executor=executor, progress=False, say=lambda *_: None)
    assert result.graded_now == [(PART1, "demo-partial")] and result.outcomes[PART1]["demo-partial"].status == "graded"
    assert sum(read_grades(course, PART1).scores["demo-partial"].values()) == 15


def test_submissions_collected_through_nbgraders_exchange(tmp_path):
    """Release, fetch, submit and collect with nbgrader's own exchange (plain files only), then grade with the class command."""
    exchange, home = tmp_path / "exchange", tmp_path / "student-home"
    exchange.mkdir(mode=0o777)
    home.mkdir()
    course = new_course(tmp_path / "course", extra_config=f"c.Exchange.root = {str(exchange)!r}")
    as_student = ["--course", "mnist-numpy", f"--Exchange.root={exchange}"]
    nbgrader(course, "release_assignment", PART1)
    nbgrader(home, "fetch_assignment", PART1, *as_student)
    nbformat.write(build_submission(course, DEMO_CLASS[0]), home / PART1 / "mnist_numpy.ipynb")
    nbgrader(home, "submit", PART1, *as_student)
    # The student owns their submission in the exchange: they put a link to the master notebook and a FIFO in it.
    (inbound,) = (exchange / "mnist-numpy" / "inbound").iterdir()
    (inbound / "solutions.ipynb").symlink_to(notebook_path(course, "source", PART1))
    os.mkfifo(inbound / "pipe")
    collected = nbgrader(course, "collect", PART1)

    student_id = getpass.getuser()  # the exchange knows students by their login
    folder = course / "submitted" / student_id / PART1
    assert (folder / "timestamp.txt").is_file()
    collected_names = {path.name for path in folder.iterdir()}
    assert {"mnist_numpy.ipynb", "timestamp.txt"} <= collected_names and not {"solutions.ipynb", "pipe"} & collected_names
    assert all(path.is_file() and not path.is_symlink() for path in folder.iterdir())
    assert "'solutions.ipynb': a link or unreadable" in collected and "'pipe': not a plain file" in collected
    # A submission folder made by hand (as a student can: inbound is writable by all), without nbgrader's secret.
    handmade = exchange / "mnist-numpy" / "inbound" / f"handmade+{PART1}+2026-11-20 10:00:00.000000 UTC+x"
    handmade.mkdir()
    nbformat.write(build_submission(course, DEMO_CLASS[1]), handmade / "mnist_numpy.ipynb")
    nbgrader(course, "collect", PART1)
    grade_class(course, progress=False, say=lambda *_: None)
    scores = read_grades(course, PART1).scores
    assert scores[student_id] == ALL_POINTS and sum(scores["handmade"].values()) == 15 and len(scores) == 2

    # Feedback: nbgrader's own release stops at the folder without a secret; the kit's releases the rest.
    released = nbgrader(course, "release_feedback", PART1)
    assert "No feedback released for 'handmade'" in released
    nbgrader(home, "fetch_feedback", PART1, *as_student)
    assert len(list((home / PART1 / "feedback").rglob("mnist_numpy.html"))) == 1


def test_a_renamed_notebook_is_graded_once(tmp_path):
    """Renaming the notebook to the expected name at intake does not count as a resubmission."""
    course = new_course(tmp_path / "course")
    submit(course, Student("renamer", "hands in 'homework.ipynb'", filename="homework.ipynb"))
    first = grade_class(course, progress=False, say=lambda *_: None)
    assert first.outcomes[PART1]["renamer"].problems == [
        "The notebook was handed in as 'homework.ipynb'; it was graded as 'mnist_numpy.ipynb'."]
    again = grade_class(course, skip_graded=True, progress=False, say=lambda *_: None)
    assert again.graded_now == [] and read_grades(course, PART1).scores["renamer"] == ALL_POINTS
