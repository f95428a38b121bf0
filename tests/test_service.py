"""The grading service (python -m mnistkit serve): feedback before the deadline through nbgrader's own exchange.

One term is played out once for the module: a student alone, then a burst of 50 submissions in a
few seconds (a student over their attempts, a student whose kernel dies, folders that are not
submissions), the service killed in the middle and started again, one grading process killed;
every student then fetches their feedback with nbgrader's own fetch_feedback. A second course
shows the score only and keeps each student's best on-time submission.
"""

import datetime
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from mnistkit.course import Course, nbgrader
from mnistkit.deadlines import grant_extension
from mnistkit.gradebook import read_grades
from mnistkit.nbgrader_plugins import marked_lines
from mnistkit.service.journal import Row
from mnistkit.simulated.exchange import ExchangeClass
from mnistkit.simulated.mnist_numpy_students import CRASHES
from mnistkit.simulated.students import DEMO_CLASS, PART1, SimulatedStudent, find_student, notebook_path, submit

from courses import new_course

CORRECT, PARTIAL, UNTOUCHED = DEMO_CLASS[0], DEMO_CLASS[1], DEMO_CLASS[2]
POINTS = {CORRECT.student_id: 20, PARTIAL.student_id: 15, UNTOUCHED.student_id: 0}  # by the work handed in
CRASHER, CRASHER_POINTS = find_student(CRASHES, "crash-exit-in-learn")
WAIT = 900  # seconds a test waits for the service at most (never a measure of speed)


def rows(course):
    """Every row of the service's journal, in order of arrival."""
    connection = sqlite3.connect(f"file:{course / 'service' / 'journal.db'}?mode=ro", uri=True, timeout=60)
    try:
        names = ", ".join(Row.__dataclass_fields__)
        return [Row(*values) for values in connection.execute(f"SELECT {names} FROM submissions ORDER BY arrived, id")]
    finally:
        connection.close()


def wait_until(check, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"the service did not get there in {timeout} s: {what}")
        time.sleep(0.3)
    return found


def settled(course, count):
    """Whether the journal has ``count`` rows and none of them is waiting."""
    try:
        found = rows(course)
    except sqlite3.Error:
        return False
    return len(found) >= count and not any(row.state in ("queued", "grading") for row in found)


@contextmanager
def service(course, log):
    """``python -m mnistkit serve`` in the course, its output in ``log``; stopped (SIGTERM, then SIGKILL) at the end."""
    with open(log, "a") as output:
        process = subprocess.Popen([sys.executable, "-m", "mnistkit", "serve", "--course", str(course)],
                                   stdout=output, stderr=subprocess.STDOUT, cwd=course)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def graded_lines(*logs):
    """``{student: number of gradings recorded}`` over the service's logs."""
    counts = {}
    for log in logs:
        for student in re.findall(r"^\S+ (?:graded|failed): (\S+)'s ", Path(log).read_text(), flags=re.MULTILINE):
            counts[student] = counts.get(student, 0) + 1
    return counts


def process_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


SETTINGS = """
c.GradingService.attempts = 3
c.GradingService.period_hours = 24
c.GradingService.poll_seconds = 0.5
c.GradingService.quiet_seconds = 0.5
c.GradingService.workers = 2
"""

BURST = [(f"burst-{number:02d}", CORRECT if number % 9 == 0 else PARTIAL if number % 9 == 1 else UNTOUCHED)
         for number in range(45)]


@pytest.fixture(scope="module")
def term(tmp_path_factory, request):
    base = tmp_path_factory.mktemp("service")
    exchange = base / "exchange"
    exchange.mkdir(mode=0o777)
    course = new_course(base / "course", extra_config=f"c.Exchange.root = {str(exchange)!r}\n{SETTINGS}")
    nbgrader(course, "release_assignment", PART1)
    klass = ExchangeClass(course, exchange, base / "homes")
    logs = [base / "service-1.log", base / "service-2.log"]
    found = SimpleNamespace(course=course, klass=klass, logs=logs, queued_pages={})
    inbound = exchange / "mnist-numpy" / "inbound"
    with service(course, logs[0]) as first:
        # Alone.
        klass.hand_in("solo", CORRECT)
        wait_until(lambda: settled(course, 1), "the first submission graded")
        # Folders in inbound that are not submissions: the service says so and carries on.
        (inbound / "notes.txt").write_text("not a submission")
        (inbound / f"filer+{PART1}+2026-12-01 10:00:00 UTC+x").write_text("a file named as a submission")
        (inbound / f"bad id+{PART1}+2026-12-01 10:00:00 UTC+x").mkdir()
        os.mkdir(os.fsencode(inbound) + b"/\xff+" + PART1.encode() + b"+2026-12-01 10:00:00 UTC+x")  # not text
        (inbound / "final:1:after:2").mkdir()  # named as the service names its own rows
        deep = inbound / f"deep+{PART1}+2026-12-02 10:00:00.000000 UTC+x"  # a thousand folders within folders
        deep.mkdir()
        # Removed whatever happens: shutil.rmtree, as pytest cleans its old folders with, would recurse a thousand times.
        request.addfinalizer(lambda: deep.exists() and remove_nested(deep))
        (deep / f"{PART1}.ipynb").write_text(notebook_path(course, "release", PART1).read_text())
        nested = str(deep)
        for _ in range(1000):
            nested += "/d"
            os.mkdir(nested)
        # The burst: 50 submissions in a few seconds.
        for student_id, student in BURST[:20]:
            klass.hand_in(student_id, student)
        for _ in range(4):  # one more than the attempts of a period
            klass.hand_in("eager", UNTOUCHED)
        # A student who writes five submission folders at once by hand, each named as made earlier than the one
        # before (inbound is writable by every student), to have them all graded: attempts count by arrival.
        stubs = notebook_path(course, "release", PART1).read_text()
        for number in range(5):
            folder = inbound / f"prober+{PART1}+2026-12-02 10:0{9 - number}:00.000000 UTC+forged{number}"
            folder.mkdir()
            (folder / f"{PART1}.ipynb").write_text(stubs)
        klass.hand_in("crasher", CRASHER)
        for student_id, student in BURST[20:]:
            klass.hand_in(student_id, student)
        # Submitted by hand into submitted/ (no exchange, no secret): graded too.
        submit(course, SimulatedStudent("by-hand", "placed in submitted/ by hand", assignment=PART1))
        last = BURST[-1][0]
        wait_until(lambda: any(row.student == last for row in rows(course)), "the last of the burst noticed")
        found.queued_pages[last] = klass.fetch_feedback(last, PART1)
        # The service is killed (as by a crash) with gradings under way, once a few are done.
        wait_until(lambda: sum(row.state == "graded" for row in rows(course)) >= 6, "six graded")
        first.send_signal(signal.SIGKILL)
        first.wait()
    found.grading_pids = [int(pid) for pid in re.findall(r"\(process (\d+)\)", logs[0].read_text())]
    time.sleep(1)  # the gradings it started die with it
    found.alive_after_kill = [pid for pid in found.grading_pids if process_alive(pid)]
    found.in_flight_at_kill = {row.student for row in rows(course) if row.state == "grading"}
    with service(course, logs[1]):
        # One grading process of the restarted service is killed too: its submission is graded again.
        started = wait_until(lambda: re.search(r"grading (burst-\d+)'s \S+ .*\(process (\d+)\)", logs[1].read_text()),
                             "a grading started")
        found.killed_grading = started.group(1)
        os.kill(int(started.group(2)), signal.SIGKILL)
        wait_until(lambda: settled(course, 1 + 6 + 50 + 5 + 1), "every submission done")
    found.rows = rows(course)
    found.pages = {student_id: klass.fetch_feedback(student_id, PART1)
                   for student_id in ["solo", "eager", "crasher", last, *[s for s, _ in BURST[:3]]]}
    return found


def remove_nested(top):
    """Remove the folder ``top`` and what is in it, deepest first, without recursion."""
    chain = [str(top)]
    while chain:
        entries = list(os.scandir(chain[-1]))
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
        folders = [entry.path for entry in entries if entry.is_dir(follow_symlinks=False)]
        if folders:
            chain.append(folders[0])
        else:
            os.rmdir(chain.pop())


def test_every_submission_is_graded_once_and_recorded(term):
    by_student = {}
    for row in term.rows:
        by_student.setdefault(row.student, []).append(row)
    students = {"solo", "eager", "prober", "deep", "crasher", "by-hand", *[s for s, _ in BURST]}
    assert students <= set(by_student)
    assert all(row.state == "graded" for s in students - {"eager", "prober"} for row in by_student[s]), \
        [(row.student, row.state, row.message) for row in term.rows if row.state != "graded"]
    assert [row.state for row in by_student["eager"]] == ["graded", "graded", "graded", "over limit"]
    assert sorted(row.state for row in by_student["prober"]) == ["graded"] * 3 + ["over limit"] * 2
    # Nothing graded twice: each submission's grading is recorded once over both runs of the service,
    # those cut off by the kill included.
    counts = graded_lines(*term.logs)
    assert counts == {**{s: 1 for s in students - {"eager", "prober"}}, "eager": 3, "prober": 3}
    assert term.in_flight_at_kill and not term.alive_after_kill
    assert "queued again" in term.logs[1].read_text() and "ended without a result" in term.logs[1].read_text()
    assert "more than 8 folders deep" in "".join(log.read_text() for log in term.logs)


def test_the_gradebook_holds_each_students_points(term):
    scores = {student: sum(cells.values()) for student, cells in read_grades(term.course, PART1).scores.items()}
    expected = {"solo": 20, "eager": 0, "prober": 0, "deep": 0, "by-hand": 20, "crasher": sum(CRASHER_POINTS.values()),
                **{s: POINTS[work.student_id] for s, work in BURST}}
    assert scores == expected


def test_submissions_are_graded_in_order_of_arrival(term):
    firsts = {}
    for row in term.rows:
        if row.source == "exchange" and row.state == "graded":
            firsts.setdefault(row.student, row)
    started = [row.started for row in sorted(firsts.values(), key=lambda row: row.arrived)]
    # Each grading started after every earlier arrival's first start (those cut off by the kill started again).
    cut_off = term.in_flight_at_kill | {term.killed_grading}
    in_order = [s for s, row in zip(started, sorted(firsts.values(), key=lambda row: row.arrived))
                if row.student not in cut_off]
    assert in_order == sorted(in_order)


def test_a_student_waiting_in_the_queue_sees_their_place_and_the_expected_wait(term):
    (page,) = term.queued_pages[BURST[-1][0]].values()
    place = re.search(r"is number (\d+) in the grading queue", page)
    assert place and int(place.group(1)) > 1 and "expected in about" in page
    assert "<script" not in page


def test_feedback_shows_the_visible_tests_and_each_hidden_tests_verdict_only(term):
    master = nbformat.read(notebook_path(term.course, "source", PART1), as_version=4)
    hidden = [line.strip() for line in marked_lines(master.cells, regions=("HIDDEN TESTS",)) if len(line.strip()) > 12]
    assert hidden
    for student_id, _ in BURST[:3]:
        (page,) = term.pages[student_id].values()
        assert "Feedback from the course&#39;s grading service" in page or "Feedback from the course's grading service" in page
        assert not [line for line in hidden if line in page], f"{student_id} sees hidden test code"
    partial = term.pages[BURST[1][0]]
    (page,) = partial.values()
    assert "Score: 15.0 / 20.0" in page and "Failed (0 of" in page
    assert "AssertionError" not in page.split("Failed (0 of", 1)[1][:200]  # no hidden test's message


def test_attempts_are_counted_and_the_one_over_the_limit_is_not_graded(term):
    (alone,) = term.pages["solo"].values()
    assert "This was attempt 1 of the 3 graded in any 24 hours: 2 left now." in alone
    # All four came in the burst, before the first was graded: each page counts the three then used.
    pages = [page for _, page in sorted(term.pages["eager"].items())]
    assert len(pages) == 4
    for number, page in enumerate(pages[:3], 1):
        assert f"This was attempt {number} of the 3 graded in any 24 hours: 0 left now." in page
        assert "The next one can be graded from" in page
    assert "was not graded" in pages[3] and "The next submission can be graded from" in pages[3]


def test_a_kernel_that_dies_costs_only_its_cells(term):
    (page,) = term.pages["crasher"].values()
    assert f"Score: {sum(CRASHER_POINTS.values()):.1f} / 20.0" in page


def test_folders_that_are_not_submissions_are_refused_in_words(term):
    refused = {row.key.removeprefix("inbound/"): row.message for row in term.rows if row.state == "refused"}
    assert "its name is not student+assignment+time" in refused["notes.txt"]
    assert "its name is not student+assignment+time" in refused["final:1:after:2"]
    assert "not a folder" in refused[f"filer+{PART1}+2026-12-01 10:00:00 UTC+x"]
    assert any(key.startswith("inbound-bytes/") for key in refused)  # a name that is not text, recorded by its bytes
    assert any(key.startswith("bad id+") and "student id" in message for key, message in refused.items())


def test_a_submission_put_in_submitted_by_hand_is_graded_without_feedback_to_release(term):
    (row,) = [row for row in term.rows if row.student == "by-hand"]
    assert row.source == "submitted" and row.state == "graded" and row.score == 20
    assert "cannot be told" in "".join(log.read_text() for log in term.logs) or "Feedback not released" in row.message


def test_the_burst_piled_up_in_the_queue(term):
    # The scenario, not a speed: most of the 50 were waiting at once, before the first of them was graded.
    burst = [row for row in term.rows if row.source == "exchange" and row.student != "solo"]
    first_done = min(row.finished for row in burst if row.finished)
    assert sum(row.noticed < first_done for row in burst) >= 40


# ---------------------------------------------------------------------------
# Score only, best submission on time


@pytest.fixture(scope="module")
def best_course(tmp_path_factory):
    base = tmp_path_factory.mktemp("service-best")
    exchange = base / "exchange"
    exchange.mkdir(mode=0o777)
    course = new_course(base / "course", extra_config=(
        f"c.Exchange.root = {str(exchange)!r}\n{SETTINGS}\nc.GradingService.attempts = 0\n"
        "c.GradingService.shows = 'score'\nc.GradingService.final = 'best'\n"))
    due = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    nbgrader(course, "db", "assignment", "add", PART1, f"--duedate={due:%Y-%m-%d %H:%M:%S} UTC")
    nbgrader(course, "release_assignment", PART1)
    grant_extension(Course(course), PART1, "improver", 48, "ill")
    klass = ExchangeClass(course, exchange, base / "homes")
    log = base / "service.log"
    with service(course, log):
        for student_id in ("improver", "late"):
            klass.hand_in(student_id, CORRECT)
            klass.hand_in(student_id, PARTIAL)
        wait_until(lambda: settled(course, 5), "both students' submissions and the best one graded again")
    return SimpleNamespace(course=course, klass=klass, log=log, rows=rows(course),
                           pages={s: klass.fetch_feedback(s, PART1) for s in ("improver", "late")})


def test_the_best_on_time_submission_makes_the_grade_and_a_late_student_keeps_their_last(best_course):
    scores = {student: sum(cells.values()) for student, cells in read_grades(best_course.course, PART1).scores.items()}
    assert scores == {"improver": 20, "late": 15}
    finals = [row for row in best_course.rows if row.source == "final"]
    assert [(row.student, row.state, row.score) for row in finals] == [("improver", "graded", 20)]


def test_score_only_feedback_shows_the_score_and_no_cell(best_course):
    pages = [page for _, page in sorted(best_course.pages["improver"].items())]
    assert ["Score: 20.0 / 20.0" in pages[0], "Score: 15.0 / 20.0" in pages[1]] == [True, True]
    for page in pages:
        assert "this page shows your score only" in page and "Test cell" not in page and "def softmax" not in page
        assert "best graded submission made by your due date" in page
