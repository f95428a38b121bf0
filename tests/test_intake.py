"""Hostile submissions, graded in one class run beside honest ones: the intake takes in only the notebooks.

What a student hands in besides code (links, FIFOs, devices, huge or many files, a notebook too
large or too long, a name that is not a student id) reaches nothing outside its own submission
folder, and costs the student only what it breaks. The same honest students are graded alone in
a second course; their gradebook rows must not change.
"""

import io
import json
import os
import pwd
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from mnistkit.course import COURSE_ROOT, nbgrader
from mnistkit.gradebook import read_grades
from mnistkit.grading import grade_class
from mnistkit.report import write_report
from mnistkit.simulated.hostile_submissions import BAD_STUDENT_IDS, hostile_submissions, is_special
from mnistkit.simulated.mnist_numpy_students import ALL_POINTS, MISTAKES, REFERENCE, Student
from mnistkit.simulated.shown import page_text, secret_lines
from mnistkit.simulated.students import DEMO_CLASS, PART1, build_submission, notebook_path, submit
from commands import run_kit
from courses import new_course
from watch import SOLUTION_CANARY, fingerprint, grade_rows, outputs_text, with_canary

HONEST = [(DEMO_CLASS[0], ALL_POINTS), *[entry for entry in MISTAKES if entry[0].student_id == "one-hot-off-by-one"]]
HOME_SECRET = "a line only the grader's home holds, 7f3a"
ENVIRONMENT_SECRET = ("MNISTKIT_TEST_INTAKE_SECRET", "s3cret-of-the-grader-9c2e")
CLASS_DATA = {"autograded", "feedback", "grading", "reports", "submitted", "gradebook.db", "grades.csv"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    home, trap = tmp_path_factory.mktemp("grader-home"), tmp_path_factory.mktemp("trap")
    (home / "grader-notes.txt").write_text(HOME_SECRET + "\n")
    alone = new_course(tmp_path_factory.mktemp("honest-alone"))
    course = new_course(tmp_path_factory.mktemp("hostile"))
    entries = hostile_submissions(course, trap, home)
    for student, _ in HONEST:
        submit(alone, student)
        submit(course, student)
    for student, _, plant, _ in entries:
        handed_in = submit(course, student)
        if plant:
            plant(handed_in.parent)
    for name in BAD_STUDENT_IDS:
        folder = course / "submitted" / name / PART1
        folder.mkdir(parents=True)
        nbformat.write(build_submission(course, DEMO_CLASS[0]), folder / "mnist_numpy.ipynb")
    with_canary(course)  # after the students wrote their code: only a leak can carry it
    watched = [course / "source", course / "release", course / "nbgrader_config.py", home]
    before = fingerprint(*watched), sorted(os.listdir(course))
    saved = {name: os.environ.get(name) for name in ("HOME", ENVIRONMENT_SECRET[0])}
    os.environ.update({"HOME": str(home), ENVIRONMENT_SECRET[0]: ENVIRONMENT_SECRET[1]})
    try:
        grade_class(alone, progress=False, say=lambda *_: None)
        result = grade_class(course, progress=False, say=lambda *_: None)
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
    write_report(course, result.outcomes, similarity=False)
    after = fingerprint(*watched), sorted(os.listdir(course))
    return {"course": course, "alone": alone, "result": result, "entries": entries, "before": before,
            "after": after, "trap": trap}


def _entry_ids():
    return [student.student_id for student, *_ in hostile_submissions("/course", "/trap", "/home")]


def test_honest_students_are_graded_as_if_no_hostile_submission_were_there(hostile):
    honest = {student.student_id for student, _ in HONEST}
    assert grade_rows(hostile["course"], honest) == grade_rows(hostile["alone"], honest)
    assert len(grade_rows(hostile["course"], honest)) == len(HONEST) * len(ALL_POINTS)


@pytest.mark.parametrize("index", range(len(_entry_ids())), ids=_entry_ids())
def test_each_hostile_submission_gets_what_its_honest_work_earns_and_is_recorded(hostile, index):
    student, expected, _, reason = hostile["entries"][index]
    outcome = hostile["result"].outcomes[PART1][student.student_id]
    assert read_grades(hostile["course"], PART1).scores[student.student_id] == expected, outcome.problems
    assert reason in " ".join(outcome.problems), outcome.problems


def test_the_course_and_the_graders_home_are_untouched_and_nothing_is_written_through_a_link(hostile):
    (files_before, listing_before), (files_after, listing_after) = hostile["before"], hostile["after"]
    changed = [path for path in files_before if files_after.get(path) != files_before[path]]
    added = [path for path in files_after.keys() - files_before.keys() if "/.cache/matplotlib/" not in path]
    assert len(files_before) > 10 and not changed and not added, (changed, added)  # the grader's own font cache aside
    assert set(listing_after) - set(listing_before) <= CLASS_DATA, "something was written in the course"
    assert list(hostile["trap"].iterdir()) == [], "a dangling link was written through"


def test_no_link_fifo_or_device_is_left_anywhere_the_grader_reads(hostile):
    course = hostile["course"]
    for top in ("submitted", "autograded", "feedback"):
        for root, folders, files in os.walk(course / top):
            for name in folders + files:
                path = Path(root) / name
                assert not is_special(path), f"{path} is still a link or a special file"
                mode = os.lstat(path).st_mode
                assert not mode & (stat.S_ISUID | stat.S_ISGID), f"{path} is set-uid or set-gid"


def test_only_the_notebook_and_the_course_files_reach_autograded_and_feedback(hostile):
    course = hostile["course"]
    shipped = {path.name for path in (course / "release" / PART1).iterdir()}
    for top in ("autograded", "feedback"):
        for folder in (course / top).glob(f"hostile-*/{PART1}"):
            extra = {path.name for path in folder.iterdir()} - shipped - {"mnist_numpy.html", "timestamp.txt"}
            assert not extra, f"{folder} holds files the student handed in: {sorted(extra)}"


def test_no_secret_reaches_any_output_feedback_or_record(hostile):
    course = hostile["course"]
    hidden = secret_lines(course, PART1, regions=("HIDDEN TESTS",))
    texts = {str(path): path.read_text(errors="replace") for path in (course / "grading").rglob("*.json")}
    for student, *_ in hostile["entries"]:
        graded = notebook_path(course, "autograded", PART1, student_id=student.student_id)
        page = course / "feedback" / student.student_id / PART1 / "mnist_numpy.html"
        if graded.exists():
            texts[str(graded)] = outputs_text(graded)
            assert "ATTACK WORKED" not in texts[str(graded)], f"{student.student_id} read what it handed in"
        if page.exists():
            texts[str(page)] = page_text(page)
    assert len(texts) > 20
    for where, text in texts.items():
        assert HOME_SECRET not in text and ENVIRONMENT_SECRET[1] not in text, where
        assert SOLUTION_CANARY not in text, where
        assert not [line for line in hidden if line in text], where


def test_folders_that_are_not_student_ids_are_refused_and_never_reach_the_gradebook(hostile):
    course, result = hostile["course"], hostile["result"]
    with sqlite3.connect(course / "gradebook.db") as db:
        students = {row[0] for row in db.execute("SELECT id FROM student")}
    assert not students & set(BAD_STUDENT_IDS)
    refused = dict(result.refused[PART1])
    assert set(refused) == {repr(name) for name in BAD_STUDENT_IDS}
    assert all("is not a valid student id" in reason for reason in refused.values())
    report = (course / "reports" / "report.md").read_text()
    assert "'-rf'" in report and "<img" not in report
    page = (course / "reports" / "report.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_what_one_notebook_may_hold_and_print_is_bounded(hostile):
    course = hostile["course"]
    printed = notebook_path(course, "autograded", PART1, student_id="hostile-prints-a-lot")
    assert printed.stat().st_size < 12 * 2**20
    assert "output beyond the 8 MiB a notebook may print was left out" in printed.read_text()
    attached = course / "feedback" / "hostile-big-attachment" / PART1 / "mnist_numpy.html"
    assert attached.stat().st_size < 2 * 2**20, "the 8 MiB attachment reached the feedback"


def check_bounded_disk(course):
    """The disk filler's kernel saw a home and a /tmp of 256 MiB each, and its writes failed there."""
    graded = nbformat.read(notebook_path(course, "autograded", PART1, student_id="hostile-fills-its-disk"), as_version=4)
    printed = "".join(output.get("text", "") for cell in graded.cells if cell.id == "softmax" for output in cell.outputs)
    assert "the filesystem of /home/student holds 256 MiB" in printed and "the filesystem of /tmp holds 256 MiB" in printed
    assert printed.count("attack failed: fill") == 2, printed


def test_a_kernel_has_a_disk_of_its_own_and_of_bounded_size(hostile):
    check_bounded_disk(hostile["course"])


# ---------------------------------------------------------------------------
# An LMS zip with hostile entries beside honest ones


def _hostile_archive(course, path, trap):
    """A Canvas-style zip: two honest students, and entries that try to escape, impersonate or exhaust."""
    correct = nbformat.writes(build_submission(course, DEMO_CLASS[0]))
    partial = nbformat.writes(build_submission(course, DEMO_CLASS[1]))
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w") as inner:  # mallory's upload claims to hold doejane's work
        inner.writestr("doejane_1_2_mnist_numpy.ipynb", "{}")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("doejane_1201_99001_mnist_numpy.ipynb", correct)
        old = zipfile.ZipInfo("roerich_1202_99002_mnist_numpy.ipynb", date_time=(2026, 11, 1, 9, 0, 0))
        archive.writestr(old, "{}")  # replaced by the newer resubmission below
        archive.writestr(zipfile.ZipInfo("roerich_LATE_1202_99002_mnist_numpy-1.ipynb",
                                         date_time=(2026, 11, 21, 9, 0, 0)), partial)
        archive.writestr("../../escaper_1_2_mnist_numpy.ipynb", correct)
        archive.writestr(f"{trap}/absolute_1_2_mnist_numpy.ipynb", correct)
        archive.writestr("mallory_1204_99004_upload.zip", nested.getvalue())
        archive.writestr("*_1205_99005_mnist_numpy.ipynb", correct)
        archive.writestr(".._1206_99006_mnist_numpy.ipynb", correct)
        archive.writestr("<b>x</b>_1207_99007_mnist_numpy.ipynb", correct)
        archive.writestr("bomber_1208_99008_mnist_numpy.ipynb", b"\0" * (16 * 2**20))  # 16 KiB compressed
        archive.writestr("giant_1212_99012_mnist_numpy.ipynb", b"\0" * (64 * 2**20))
        link = zipfile.ZipInfo("linker_1209_99009_mnist_numpy.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        setuid = zipfile.ZipInfo("setuid_1210_99010_mnist_numpy.ipynb")
        setuid.external_attr = (stat.S_IFREG | 0o4755) << 16
        archive.writestr(setuid, correct)
        archive.writestr("notanotebook_1211_99011_mnist_numpy.zip", b"not a zip at all")


@pytest.fixture(scope="module")
def zipped(tmp_path_factory):
    course, trap = new_course(tmp_path_factory.mktemp("zipped")), tmp_path_factory.mktemp("zip-trap")
    archive = tmp_path_factory.mktemp("lms") / "canvas-download.zip"
    _hostile_archive(course, archive, trap)
    (course / "downloaded").mkdir()
    (course / "downloaded" / "notes.txt").write_text("the instructor's own\n")
    before = fingerprint(course / "downloaded", course / "source"), sorted(os.listdir(course))
    graded = run_kit(course, PART1, "--zip", str(archive))
    after = fingerprint(course / "downloaded", course / "source"), sorted(os.listdir(course))
    return {"course": course, "graded": graded, "before": before, "after": after, "trap": trap}


def test_an_lms_zip_gives_the_honest_students_and_skips_every_hostile_entry_with_a_reason(zipped):
    course, graded = zipped["course"], zipped["graded"]
    assert graded.returncode == 0, graded.stderr[-3000:]
    scores = {student: sum(cells.values()) for student, cells in read_grades(course, PART1).scores.items()}
    assert scores == {"doejane": 20, "roerich": 15, "setuid": 20}
    printed = graded.stdout
    assert "3 notebook(s) collected for 3 student(s), 11 entries skipped" in printed
    for entry, reason in [("../../escaper", "leaves the archive's folder"), ("absolute_1_2", "leaves the archive's folder"),
                          ("mallory_1204", "not one of a notebook of this assignment"), ("'*_1205", "not a valid student id"),
                          ("'.._1206", "not a valid student id"), ("<b>x</b>", "not a valid student id"),
                          ("bomber", "compressed 1"), ("giant", "more than the 20 MiB a notebook may be"),
                          ("linker", "a link or a special file"),
                          ("roerich_1202_99002_mnist_numpy.ipynb", "the newer 'roerich_LATE_1202_99002_mnist_numpy-1.ipynb'"),
                          ("notanotebook", "not one of a notebook")]:
        assert any(entry in line and reason in line for line in printed.splitlines()), (entry, reason)


def test_an_lms_zip_writes_nothing_outside_submitted_and_leaves_downloaded_as_it_was(zipped):
    (files_before, listing_before), (files_after, listing_after) = zipped["before"], zipped["after"]
    assert files_after == files_before and set(listing_after) - set(listing_before) <= CLASS_DATA
    assert list(zipped["trap"].iterdir()) == []
    assert sorted(os.listdir(zipped["course"] / "submitted")) == ["doejane", "roerich", "setuid"]
    notebook = zipped["course"] / "submitted" / "setuid" / PART1 / "mnist_numpy.ipynb"
    assert stat.S_IMODE(notebook.stat().st_mode) == 0o644


def test_plain_nbgrader_zip_collect_uses_the_same_rules(tmp_path):
    course = new_course(tmp_path / "course")
    folder = course / "downloaded" / PART1 / "archive"
    folder.mkdir(parents=True)
    _hostile_archive(course, folder / "canvas-download.zip", tmp_path)
    nbgrader(course, "zip_collect", PART1, "--force")
    assert sorted(os.listdir(course / "submitted")) == ["doejane", "roerich", "setuid"]
    assert not (tmp_path / "absolute_1_2_mnist_numpy.ipynb").exists()
    assert not list(course.parent.glob("escaper*")) and not list((course / "downloaded").rglob("escaper*"))


# ---------------------------------------------------------------------------
# Graded by an ordinary user (as instructors on a hub grade), beside a kernel that forks until refused

GRADER_USER = "mnistkit-grader"
# It holds every process its box allows for 12 s (its children live as long as its kernel), while the
# other worker starts classmates' kernels: with a limit that counted the grader's processes, they failed.
FORK_LOOP = """
import os, time
children = []
try:
    while len(children) < 100_000:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except OSError as error:
    print(f"fork refused after {len(children)} processes: {error}")
time.sleep(12)
"""


def _ordinary_user():
    """``(uid, gid)`` to grade as: the current user if not root, else a system user made for the tests."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam(GRADER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", GRADER_USER],
                       check=True)
        entry = pwd.getpwnam(GRADER_USER)
    return entry.pw_uid, entry.pw_gid


def _let_others_traverse(*paths):
    """Give every folder above ``paths`` the others' search bit where it lacks it; return what to undo."""
    changed = []
    for path in paths:
        for folder in [Path(path).resolve(), *Path(path).resolve().parents]:
            mode = folder.stat().st_mode
            if folder.is_dir() and not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)
                changed.append((folder, mode))
    return changed


@pytest.fixture(scope="module")
def graded_by_ordinary_user():
    uid, gid = _ordinary_user()
    scratch = Path(tempfile.mkdtemp(prefix="mnistkit-ordinary-"))
    undo = _let_others_traverse(sys.prefix, sys.base_prefix, COURSE_ROOT / "mnist_data", scratch) if uid else []
    try:
        course, home, trap = new_course(scratch / "course"), scratch / "home", scratch / "trap"
        home.mkdir()
        trap.mkdir()
        (home / "grader-notes.txt").write_text(HOME_SECRET + "\n")
        submit(course, Student("aaa-fork-loop", "forks until the box refuses", answers={
            "softmax": REFERENCE["softmax"] + "\n\n" + FORK_LOOP}))
        for number in range(3):
            submit(course, Student(f"honest-{number}", "the reference solution"))
        hostile = [entry for entry in hostile_submissions(course, trap, home)
                   if entry[0].student_id in ("hostile-fifo", "hostile-link-to-home", "hostile-fills-its-disk",
                                              "hostile-fills-its-channel-folder")]
        for student, _, plant, _ in hostile:
            handed_in = submit(course, student)
            if plant:
                plant(handed_in.parent)
        for root, folders, files in os.walk(scratch):
            for name in [root, *(os.path.join(root, entry) for entry in folders + files)]:
                os.lchown(name, uid, gid)
        environment = {name: value for name, value in os.environ.items()
                       if not name.startswith(("XDG_", "JUPYTER_"))} | {"HOME": str(home)}
        graded = subprocess.run([sys.executable, "-m", "mnistkit", "grade", "--course", str(course), "--no-progress",
                                 "--workers", "2"], user=uid, group=gid, extra_groups=[], env=environment,
                                capture_output=True, text=True, cwd=scratch)
        yield course, graded, hostile
    finally:
        for folder, mode in reversed(undo):
            folder.chmod(mode)
        shutil.rmtree(scratch, ignore_errors=True)


def test_an_ordinary_user_grades_a_fork_loop_beside_honest_classmates(graded_by_ordinary_user):
    course, graded, hostile = graded_by_ordinary_user
    assert graded.returncode == 0, graded.stderr[-3000:]
    scores = read_grades(course, PART1).scores
    expected = {"aaa-fork-loop": ALL_POINTS, **{f"honest-{n}": ALL_POINTS for n in range(3)},
                **{student.student_id: points for student, points, _, _ in hostile}}
    assert scores == expected, graded.stdout[-3000:]
    printed = outputs_text(notebook_path(course, "autograded", PART1, student_id="aaa-fork-loop"))
    refused = re.search(r"fork refused after (\d+) processes", printed)
    assert refused and int(refused.group(1)) < 128, printed[-2000:]


def test_an_ordinary_users_intake_and_boxes_hold_as_roots_do(graded_by_ordinary_user):
    course, _, hostile = graded_by_ordinary_user
    for student, _, _, reason in hostile:
        problems = " ".join(json.loads((course / "grading" / PART1 / f"{student.student_id}.json").read_text())["problems"])
        assert reason in problems
    assert HOME_SECRET not in outputs_text(notebook_path(course, "autograded", PART1, student_id="hostile-link-to-home"))
    check_bounded_disk(course)


def test_plain_nbgrader_autograde_never_grades_through_a_linked_submission_folder(tmp_path):
    course = new_course(tmp_path / "course")
    (course / "submitted" / "linker").mkdir(parents=True)
    (course / "submitted" / "linker" / PART1).symlink_to(course / "source" / PART1, target_is_directory=True)
    before = fingerprint(course / "source")
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", PART1], cwd=course, capture_output=True)
    assert fingerprint(course / "source") == before
    assert not (course / "autograded" / "linker" / PART1 / "mnist_numpy.ipynb").exists()
    assert not os.path.lexists(course / "submitted" / "linker" / PART1)


def test_limits_an_instructor_raises_in_the_course_config_hold_for_the_class_command_and_plain_nbgrader(tmp_path):
    """The class command takes a submission in, then nbgrader's hook does again: both must read the course's limits."""
    course = new_course(tmp_path / "course", extra_config="c.Intake.max_cells = 1500")
    for student_id in ("long-notes-class", "long-notes-plain"):
        notebook = build_submission(course, DEMO_CLASS[0])
        notebook.cells += [nbformat.v4.new_markdown_cell(f"note {n}") for n in range(1200)]
        folder = course / "submitted" / student_id / PART1
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / "mnist_numpy.ipynb")
    grade_class(course, students=["long-notes-class"], workers=1, progress=False, say=lambda *_: None)
    nbgrader(course, "autograde", PART1, "--student", "long-notes-plain")
    grades = read_grades(course, PART1)
    assert grades.total("long-notes-class") == grades.max_total
    assert grades.total("long-notes-plain") == grades.max_total
