"""Grading on a real Dask cluster with a real PostgreSQL gradebook: the same results as one machine
with SQLite, nobody lost when a worker dies, and clear errors when either cannot be used."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from mnistkit.course import COURSE_ROOT, nbgrader
from mnistkit.gradebook import open_gradebook, read_grades
from mnistkit.grading import grade_class
from mnistkit.local_servers import free_port
from mnistkit.simulated.attackers import attackers
from mnistkit.simulated.mnist_numpy_students import ALL_POINTS, CRASHES, MISTAKES, TAMPERING, VALID, Student
from mnistkit.simulated.shown import comparable_feedback
from mnistkit.simulated.students import (
    DEMO_CLASS, PART1, PART2, build_submission, find_student, set_source, submit,
)
from courses import new_course
from commands import run_kit


def _attacker(student_id):
    everyone = attackers(COURSE_ROOT, free_port(), "mnistkit-cluster-test", "/nonexistent", "NO_SECRET")
    return find_student(everyone, student_id)[0]


# Valid, mistaken, crashing, tampering and attacking students of part 1, and part 2's demo students.
SAMPLE = [
    find_student(VALID, "valid-loss-warns"),
    find_student(MISTAKES, "seed-softmax")[0],
    find_student(CRASHES, "crash-exit-in-learn")[0],
    find_student(TAMPERING, "tamper-patches-during-tests")[0],
    _attacker("attack-kills-grader"),
    *DEMO_CLASS[3:],
]


def gradebook_rows(course):
    """Every grade in the course's gradebook, whatever database holds it."""
    rows = []
    with open_gradebook(course) as gradebook:
        for assignment in (PART1, PART2):
            for submission in gradebook.assignment_submissions(assignment):
                for notebook in submission.notebooks:
                    rows += [(assignment, submission.student.id, notebook.name, grade.name, grade.auto_score,
                              grade.manual_score, grade.needs_manual_grade) for grade in notebook.grades]
    return sorted(rows)


@pytest.fixture(scope="module")
def pool_and_cluster(tmp_path_factory, postgres, dask_scheduler):
    """The same class graded by this machine's processes into SQLite, and by the cluster into PostgreSQL."""
    pool = new_course(tmp_path_factory.mktemp("pool"))
    cluster = new_course(tmp_path_factory.mktemp("cluster"),
                         extra_config=f"c.CourseDirectory.db_url = {postgres.new_database('sample')!r}")
    for student in SAMPLE:
        submit(pool, student)
        submit(cluster, student)
    grade_class(pool, progress=False, say=lambda *_: None)
    graded = run_kit(cluster, "--scheduler", dask_scheduler)
    assert graded.returncode == 0, graded.stderr[-3000:]
    return pool, cluster, graded.stdout


def test_the_cluster_graded_into_postgresql(pool_and_cluster):
    pool, cluster, printed = pool_and_cluster
    assert "Grading on the Dask cluster at tcp://127.0.0.1:" in printed and "(2 workers)" in printed
    assert not (cluster / "gradebook.db").exists() and (pool / "gradebook.db").exists()
    assert sum(read_grades(cluster, PART2).scores["demo-partial"].values()) == 19


def test_cluster_and_pool_write_the_same_gradebook_rows(pool_and_cluster):
    pool, cluster, _ = pool_and_cluster
    rows = gradebook_rows(cluster)
    assert rows == gradebook_rows(pool)
    assert len(rows) == 5 * len(ALL_POINTS) + 2 * 14


def test_cluster_and_pool_write_the_same_feedback(pool_and_cluster):
    pool, cluster, _ = pool_and_cluster
    for student in SAMPLE:
        assert comparable_feedback(cluster, student.student_id, student.assignment) == \
            comparable_feedback(pool, student.student_id, student.assignment), student.student_id


def test_cluster_and_pool_export_the_same_grades(pool_and_cluster):
    pool, cluster, _ = pool_and_cluster
    assert (cluster / "grades.csv").read_text() == (pool / "grades.csv").read_text()
    # Plain nbgrader reads the PostgreSQL gradebook too: its export is the file's first part.
    nbgrader(cluster, "export", "--to", cluster / "plain.csv")
    with open(cluster / "plain.csv", newline="") as plain, open(cluster / "grades.csv", newline="") as kit:
        plain_rows, kit_rows = list(csv.DictReader(plain)), list(csv.DictReader(kit))
    key = lambda row: (row["assignment"], row["student_id"])  # noqa: E731
    assert kit_rows[:len(plain_rows)] == sorted(plain_rows, key=key) and len(plain_rows) == 2 * 7


def test_a_worker_killed_mid_run_loses_nobody(tmp_path, postgres, dask_scheduler):
    from distributed import Client

    course = new_course(tmp_path / "course", extra_config=f"c.CourseDirectory.db_url = {postgres.new_database('killed')!r}")
    # Each waits 3 s in an ungraded cell, so the run is still going when a worker is killed, however fast the machine.
    slow = lambda nb: set_source(nb, "import time\ntime.sleep(3)", "look_at_digits")  # noqa: E731
    class_ = [Student(f"student-{n}", "correct, slow to run", edit=slow) for n in range(6)]
    for student in class_:
        submit(course, student)
    running = subprocess.Popen([sys.executable, "-m", "mnistkit", "grade", "--course", str(course), "--no-progress",
                                "--scheduler", dask_scheduler], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with Client(dask_scheduler, set_as_default=False) as client:
        deadline = time.monotonic() + 600  # a bound on a broken run, not a speed requirement
        busy = []
        while not busy and time.monotonic() < deadline and running.poll() is None:
            busy = [worker for worker, tasks in client.processing().items() if tasks]
            time.sleep(0.2)
        assert busy, "no worker was ever given a student"
        time.sleep(1)  # in the middle of grading
        os.kill(client.run(os.getpid, workers=[busy[0]])[busy[0]], signal.SIGKILL)
        printed, errors = running.communicate(timeout=900)
        client.wait_for_workers(2, timeout=120)  # its nanny starts a new one, for the next tests
    assert running.returncode == 0, errors[-3000:]
    assert read_grades(course, PART1).scores == {student.student_id: ALL_POINTS for student in class_}
    rows = gradebook_rows(course)
    assert len(rows) == len(set(rows)) == len(class_) * len(ALL_POINTS), "each student is in the gradebook once"
    assert "mnist_numpy: 6 submissions: 6 graded" in printed


def test_a_sqlite_gradebook_is_refused_on_a_cluster(tmp_path, dask_scheduler):
    course = new_course(tmp_path / "course", with_release=False)
    submit(course, DEMO_CLASS[0], notebook=build_submission(COURSE_ROOT, DEMO_CLASS[0]))
    refused = run_kit(course, "--scheduler", dask_scheduler)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "The gradebook is a SQLite file" in refused.stderr and "postgresql+psycopg://" in refused.stderr
    assert not (course / "autograded").exists()


def test_an_unreachable_scheduler_is_reported_in_words(tmp_path, postgres):
    course = new_course(tmp_path / "course", with_release=False,
                        extra_config=f"c.CourseDirectory.db_url = {postgres.new_database('unreached')!r}")
    submit(course, DEMO_CLASS[0], notebook=build_submission(COURSE_ROOT, DEMO_CLASS[0]))
    address = f"tcp://127.0.0.1:{free_port()}"
    refused = run_kit(course, "--scheduler", address)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"error: Cannot reach the Dask scheduler at {address}" in refused.stderr


def test_an_unreachable_database_is_reported_in_words(tmp_path):
    url = f"postgresql+psycopg://grader:s3cret@127.0.0.1:{free_port()}/gradebook"
    course = new_course(tmp_path / "course", with_release=False, extra_config=f"c.CourseDirectory.db_url = {url!r}")
    submit(course, DEMO_CLASS[0], notebook=build_submission(COURSE_ROOT, DEMO_CLASS[0]))
    refused = run_kit(course)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "error: Cannot open the gradebook at postgresql+psycopg://grader:***@127.0.0.1:" in refused.stderr
    assert "Connection refused" in refused.stderr and "s3cret" not in refused.stderr
