"""What a grading run leaves behind when it is stopped or one of its processes is killed: nothing in the temp folder.

A kernel's box (its folders in the temp folder, its pids cgroup) is removed by the grading
process that made it; one killed by SIGKILL cannot, and the next grading process (or the end of
the class run) removes the boxes of processes that are gone. The course data is prepared once per
course, in the course, not in the temp folder.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mnistkit.leftovers import remove_stale
from mnistkit.records import load_outcomes
from mnistkit.sandbox.box import BOX_PREFIX, remove_leftovers
from mnistkit.simulated.students import PART1, SimulatedStudent, submit

from courses import new_course

TEMP = Path(tempfile.gettempdir())
WAIT = 600  # seconds at most for a run to get somewhere (a bound, not a speed requirement)


def kit_entries():
    return {path.name for path in TEMP.glob("mnistkit-*")}


def class_of(tmp_path, count):
    course = new_course(tmp_path / "course")
    for number in range(count):
        submit(course, SimulatedStudent(f"student-{number}", "the reference solution", assignment=PART1))
    return course


def start_run(course):
    return subprocess.Popen([sys.executable, "-m", "mnistkit", "grade", "--course", str(course), "--workers", "2",
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def worker_with_a_box(run, before):
    """The pid of a grading worker of ``run`` once one has a kernel box (named after it) in the temp folder."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for name in kit_entries() - before:
            found = re.match(rf"{BOX_PREFIX}(\d+)-", name)
            if found and int(found.group(1)) != run.pid:
                return int(found.group(1))
        assert run.poll() is None, "the run ended before any kernel started"
        time.sleep(0.05)
    raise AssertionError(f"no kernel box within {WAIT} s")


def test_a_run_whose_worker_is_killed_leaves_nothing_in_the_temp_folder(tmp_path):
    course = class_of(tmp_path, 3)
    before = kit_entries()
    run = start_run(course)
    os.kill(worker_with_a_box(run, before), signal.SIGKILL)
    output, _ = run.communicate(timeout=WAIT)
    assert run.returncode == 0, output
    assert kit_entries() - before == set(), output
    outcomes = load_outcomes(course, PART1)
    assert len(outcomes) == 3 and any("worker" in " ".join(o.problems) for o in outcomes.values()), outcomes
    # Nobody lost: the run again grades those whose worker died.
    again = subprocess.run([sys.executable, "-m", "mnistkit", "grade", "--course", str(course), "--skip-graded",
                            "--no-progress"], capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_run_stopped_with_sigterm_finishes_who_it_started_and_leaves_nothing(tmp_path):
    course = class_of(tmp_path, 4)
    before = kit_entries()
    run = start_run(course)
    worker_with_a_box(run, before)
    run.send_signal(signal.SIGTERM)
    output, _ = run.communicate(timeout=WAIT)
    assert run.returncode == 130, output
    assert "Interrupted" in output and "--skip-graded" in output
    assert kit_entries() - before == set(), output
    graded = [student for student, outcome in load_outcomes(course, PART1).items() if outcome.status == "graded"]
    assert 1 <= len(graded) < 4, output


@pytest.mark.parametrize("owner", ["gone", "running"])
def test_boxes_are_removed_only_when_the_process_that_made_them_is_gone(owner):
    pid = 1 if owner == "running" else _a_finished_process()
    box = Path(tempfile.mkdtemp(prefix=f"{BOX_PREFIX}{pid}-"))
    (box / "home").mkdir()
    try:
        remove_leftovers()
        assert box.exists() == (owner == "running")
    finally:
        subprocess.run(["rm", "-rf", str(box)])


def _a_finished_process():
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


SERVERS = """
import sys, time
from mnistkit.local_servers import PostgresServer, jupyter_lab_server
with PostgresServer() as database, jupyter_lab_server(sys.argv[1]) as (address, _):
    print(database._server.pid, database.port, address, database.folder, flush=True)
    time.sleep(600)
"""


def test_the_servers_the_tests_start_stop_when_the_test_run_is_killed(tmp_path):
    import requests

    from mnistkit.local_servers import postgres_bin

    run = subprocess.Popen([sys.executable, "-c", SERVERS, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        pid, port, address, folder = run.stdout.readline().split()
    finally:
        run.kill()  # as a test run stopped by a timeout is
        run.wait()

    def refused():
        try:
            requests.get(address, timeout=2)
            return False
        except requests.ConnectionError:
            return True

    deadline = time.monotonic() + 120
    while Path(f"/proc/{pid}").exists() or not refused():
        assert time.monotonic() < deadline, "a server outlived the run that started it"
        time.sleep(0.2)
    ready = subprocess.run([postgres_bin() / "pg_isready", "-h", "127.0.0.1", "-p", port], capture_output=True)
    assert ready.returncode != 0
    # What they left in the temp folder goes when the next one starts.
    remove_stale("mnistkit-postgres-"), remove_stale("mnistkit-jupyter-home-")
    assert not Path(folder).exists() and not list(TEMP.glob(f"mnistkit-jupyter-home-{run.pid}-*"))
