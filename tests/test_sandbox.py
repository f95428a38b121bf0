"""Attacking students graded in one class run beside honest ones: confinement stops every attack.

The same honest students are graded alone in a second course; their gradebook rows must not
change when the attackers are graded beside them.
"""

import os
import socket
import threading
import uuid
from pathlib import Path

import numpy
import pytest

from mnistkit.simulated.attackers import attackers
from mnistkit.simulated.mnist_numpy_students import ALL_POINTS, CRASHES, MISTAKES
from mnistkit.course import COURSE_ROOT, nbgrader
from mnistkit.gradebook import read_grades
from mnistkit.grading import grade_class
from mnistkit.simulated.shown import page_text, secret_lines
from mnistkit.simulated.students import DEMO_CLASS, PART1, notebook_path, submit
from courses import new_course
from commands import run_kit
from watch import SOLUTION_CANARY, fingerprint, grade_rows, outputs_text, with_canary

HONEST = [(DEMO_CLASS[0], ALL_POINTS), *[entry for entry in MISTAKES if entry[0].student_id == "one-hot-off-by-one"],
          *[entry for entry in CRASHES if entry[0].student_id == "crash-exit-in-learn"]]
SECRET_NAME, SECRET = "MNISTKIT_TEST_DATABASE_PASSWORD", f"s3cret-{uuid.uuid4().hex}"
SITE_PACKAGES = Path(numpy.__file__).parent.parent


class Listener:
    """A TCP and a UDP socket on one port of 127.0.0.1, recording everything that reaches them."""

    def __init__(self):
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.seen = []
        for target in (self._accept, self._receive):
            threading.Thread(target=target, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, address = self.tcp.accept()
            except OSError:
                return
            self.seen.append(("tcp", address))
            connection.close()

    def _receive(self):
        while True:
            try:
                self.seen.append(("udp", self.udp.recvfrom(4096)))
            except OSError:
                return

    def close(self):
        self.tcp.close()
        self.udp.close()


def live_processes_with(marker):
    alive = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                alive.append(int(entry.name))
        except OSError:
            pass
    return alive


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    home = tmp_path_factory.mktemp("grader-home")
    marker = f"mnistkit-attacker-{uuid.uuid4().hex}"
    listener = Listener()
    saved = {name: os.environ.get(name) for name in ("HOME", SECRET_NAME)}
    os.environ.update({"HOME": str(home), SECRET_NAME: SECRET})
    try:
        alone = new_course(tmp_path_factory.mktemp("honest-alone"))
        course = new_course(tmp_path_factory.mktemp("attacked"))
        attacking = attackers(course, listener.port, marker, str(home), SECRET_NAME)
        for student, _ in HONEST:
            submit(alone, student)
            submit(course, student)
        for student, _ in attacking:
            submit(course, student)
        with_canary(course)  # after the students wrote their code: only a leak can carry it
        watched = [course / "source", course / "release", course / "nbgrader_config.py", COURSE_ROOT / "mnist_data",
                   course / "submitted", Path(numpy.__file__)]
        before = fingerprint(*watched), sorted(os.listdir(SITE_PACKAGES))
        grade_class(alone, progress=False, say=lambda *_: None)
        result = grade_class(course, progress=False, say=lambda *_: None)
        survivors = live_processes_with(marker)
        after = fingerprint(*watched), sorted(os.listdir(SITE_PACKAGES))
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        listener.close()
    return {"course": course, "alone": alone, "result": result, "attackers": attacking, "before": before,
            "after": after, "survivors": survivors, "seen": listener.seen, "home": home}


def test_the_attacker_catalogue_covers_every_attack():
    ids = {student.student_id for student, _ in attackers("/course", 1, "m", "/home", "S")}
    assert len(ids) >= 12


def test_honest_students_are_graded_as_if_no_attacker_were_there(attacked):
    honest = {student.student_id for student, _ in HONEST}
    assert grade_rows(attacked["course"], honest) == grade_rows(attacked["alone"], honest)
    scores = read_grades(attacked["course"], PART1).scores
    assert {student.student_id: scores[student.student_id] for student, _ in HONEST} == \
        {student.student_id: expected for student, expected in HONEST}


@pytest.mark.parametrize("index", range(12), ids=lambda i: attackers("/c", 1, "m", "/h", "S")[i][0].student_id)
def test_each_attacker_gets_what_its_honest_work_earns(attacked, index):
    student, expected = attacked["attackers"][index]
    outcome = attacked["result"].outcomes[PART1][student.student_id]
    assert outcome.status == "graded", outcome.problems
    assert read_grades(attacked["course"], PART1).scores[student.student_id] == expected, outcome.problems


def test_nobody_can_change_a_grade_in_the_gradebook(attacked):
    rows = grade_rows(attacked["course"], {student.student_id for student, _ in attacked["attackers"]})
    assert rows and all(manual is None and extra is None for *_, manual, extra in rows)


def test_the_course_the_data_python_and_classmates_work_are_untouched(attacked):
    (files_before, packages_before), (files_after, packages_after) = attacked["before"], attacked["after"]
    changed = sorted(path for path in files_before.keys() | files_after.keys()
                     if files_before.get(path) != files_after.get(path))
    assert len(files_before) > 20 and not changed, changed[:10]
    assert packages_after == packages_before, "site-packages changed"
    assert not list(attacked["home"].rglob("00-poison.py")), "an IPython startup file was written to the grader's home"
    assert not (attacked["home"] / ".cache" / "mnist-numpy").exists(), "the grader's data cache was written"


def test_no_attacker_reached_the_network(attacked):
    assert attacked["seen"] == []


def test_no_process_an_attacker_started_outlives_grading(attacked):
    assert attacked["survivors"] == []


def test_no_secret_reaches_any_feedback_or_graded_notebook(attacked):
    course = attacked["course"]
    hidden = secret_lines(course, PART1, regions=("HIDDEN TESTS",))
    for student, _ in attacked["attackers"]:
        feedback = page_text(course / "feedback" / student.student_id / PART1 / "mnist_numpy.html")
        outputs = outputs_text(notebook_path(course, "autograded", PART1, student_id=student.student_id))
        for text, where in ((feedback, "feedback"), (outputs, "graded notebook's outputs")):
            assert SECRET not in text, f"{student.student_id}'s {where} shows the grader's secret"
            assert SOLUTION_CANARY not in text, f"{student.student_id}'s {where} shows a solution line"
            shown = [line for line in hidden if line in text]
            assert not shown, f"{student.student_id}'s {where} shows hidden test lines: {shown[:3]}"
        assert "ATTACK WORKED" not in outputs, f"{student.student_id}: {outputs[outputs.find('ATTACK WORKED'):][:300]}"


def test_the_students_kernel_never_holds_a_hidden_test_to_quote(attacked):
    """Its callers' frames, linecache and IPython's In hold no hidden test: no line had to be removed."""
    for student_id in ("attack-leaks-hidden-tests", "attack-error-carries-hidden-test"):
        problems = " ".join(attacked["result"].outcomes[PART1][student_id].problems)
        assert "quoting hidden tests" not in problems, problems


# ---------------------------------------------------------------------------
# Plain nbgrader is confined too, and grading refuses to run unconfined unless told


def test_plain_nbgrader_autograde_confines_an_attacker(tmp_path):
    course = new_course(tmp_path / "course")
    attacker, expected = next(entry for entry in attackers(course, 9, "m", str(tmp_path), SECRET_NAME)
                              if entry[0].student_id == "attack-writes-gradebook")
    submit(course, attacker)
    submit(course, DEMO_CLASS[0])
    nbgrader(course, "autograde", PART1)
    assert read_grades(course, PART1).scores == {attacker.student_id: expected, "demo-correct": ALL_POINTS}
    assert all(manual is None for *_, manual, _ in grade_rows(course, {attacker.student_id, "demo-correct"}))


@pytest.mark.parametrize("bwrap, says", [
    ("/nonexistent/bwrap", "bubblewrap ('/nonexistent/bwrap') is not installed"),
    ("fake", "cannot make its namespaces here (bwrap: No permissions to create a new namespace)"),
])
def test_without_the_sandbox_grading_refuses_until_told_to_run_unconfined(tmp_path, bwrap, says):
    if bwrap == "fake":  # a bubblewrap that cannot make namespaces, as where user namespaces are off
        bwrap = tmp_path / "bwrap"
        bwrap.write_text("#!/bin/sh\necho 'bwrap: No permissions to create a new namespace' >&2\nexit 1\n")
        bwrap.chmod(0o755)
    course = new_course(tmp_path / "course", extra_config=f"c.GuardedExecute.bwrap = {str(bwrap)!r}")
    submit(course, DEMO_CLASS[0])
    refused = run_kit(course)
    assert refused.returncode == 1 and says in refused.stderr and "--no-sandbox" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (course / "autograded").exists() and read_grades(course, PART1).scores == {}

    unconfined = run_kit(course, "--no-sandbox")
    assert unconfined.returncode == 0, unconfined.stderr[-2000:]
    assert read_grades(course, PART1).scores == {"demo-correct": ALL_POINTS}
    report = (course / "reports" / "report.md").read_text()
    assert "**Graded unconfined:** 1 submission(s) were graded without the sandbox" in report
