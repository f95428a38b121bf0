"""The course on a real JupyterHub with its real proxy, as a class uses it: every person their own account.

One hub (`python -m mnistkit hub`'s own code, two sections of the course: tests/hub_roster.toml)
serves every test here, and one headless Chromium goes through the hub's address as each person:

- the term: the instructor releases part 1 from Formgrader in JupyterLab's panel; a student
  fetches it from the Assignments list, writes the solutions, validates and submits; the
  instructor collects and grades with the kit; each student sees their feedback, its formulas laid out with no route out;
- what no student reaches, each tried through a student's own server: the course's Formgrader,
  its gradebook and source, a classmate's home or submission, the other section.

The tests run in file order: each step of the term builds on the one before.
"""

import asyncio
import datetime
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from mnistkit.course import COURSE_ROOT
from mnistkit.hub import machine
from mnistkit.hub.roster import load_roster
from mnistkit.hub.running import running_hub
from mnistkit.local_servers import free_port
from mnistkit.simulated.students import (
    BACKWARD_SUMMING, PART1, PART2, SEED_CROSS_ENTROPY, SimulatedStudent, build_submission,
)
from pages import KERNEL_IDLE, grade_by_hand, laid_out_formulas, open_submission, requests_leaving

ROSTER_FILE = Path(__file__).with_name("hub_roster.toml")
ROSTER = load_roster(ROSTER_FILE)
SECTION_A, SECTION_B = ROSTER.courses
INSTRUCTOR, ASSISTANT = SECTION_A.instructors[0], SECTION_A.assistants[0]
STUDENT_A, STUDENT_B, STUDENT_C = SECTION_A.students
OTHER_SECTION_STUDENT = SECTION_B.students[0]
WAIT = 180_000  # ms: bounds on a broken page or a stuck server, not speed requirements

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the hub spawns each person's server as their own "
                                                          "Unix account: its tests run as root")


@dataclass
class Hub:
    address: str
    root: Path
    password: str

    def course_directory(self, course):
        return machine.course_directory(course)

    def _as(self, account):
        """How to run a command as ``account``, as in a terminal of its server (a course account's: its service's),
        with its home and groups and nothing of root's: keyword arguments of subprocess's."""
        entry = pwd.getpwnam(account)
        kind = "course" if account.startswith("grader-") else "students"
        environment = {"PATH": os.environ["PATH"], "HOME": entry.pw_dir, "USER": account, "LANG": "C.UTF-8",
                       "JUPYTER_CONFIG_PATH": machine.settings_path(self.root / "config", kind)}
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": os.getgrouplist(account, entry.pw_gid),
                "env": environment, "cwd": entry.pw_dir}

    def run_as(self, account, *command, cwd=None):
        """Run ``command`` as ``account`` (see `_as`); its completed process, output captured."""
        return subprocess.run(list(map(str, command)), **{**self._as(account), **({"cwd": cwd} if cwd else {})},
                              capture_output=True, text=True)

    def start_as(self, account, *command, cwd, output):
        """Start ``command`` as ``account`` (see `_as`), writing to the file ``output``; its process."""
        return subprocess.Popen(list(map(str, command)), **{**self._as(account), "cwd": cwd}, stdout=output,
                                stderr=subprocess.STDOUT)

    def login(self, browser, name):
        """A tab of a fresh browser context, logged in as ``name`` through the hub's login page (close its context)."""
        tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        tab.set_default_timeout(WAIT)
        tab.goto(f"{self.address}/hub/login")
        tab.fill("#username_input", name)
        tab.fill("#password_input", self.password)
        tab.click("#login_submit")
        tab.wait_for_url("**/lab**")
        return tab

    def api(self, name):
        """A requests session with an API token of ``name``, got as they would: log in, then ask the hub."""
        session = requests.Session()
        session.get(f"{self.address}/hub/login")
        answer = session.post(f"{self.address}/hub/login", allow_redirects=False, data={
            "username": name, "password": self.password, "_xsrf": session.cookies.get("_xsrf")})
        assert answer.status_code == 302, answer.text[:500]
        answer = session.post(f"{self.address}/hub/api/users/{name}/tokens", json={"note": "tests"},
                              headers={"X-XSRFToken": session.cookies.get("_xsrf", path="/hub/")})
        assert answer.ok, answer.text[:500]
        api = requests.Session()
        api.headers["Authorization"] = f"token {answer.json()['token']}"
        return api


def _empty_accounts():
    """The tests' accounts with empty homes and no process left from an earlier run."""
    for account in ROSTER.accounts():
        try:
            entry = pwd.getpwnam(account)
        except KeyError:
            continue
        subprocess.run(["pkill", "-KILL", "-u", account], capture_output=True)
        shutil.rmtree(entry.pw_dir, ignore_errors=True)


# The kit folder's modes before the hub closed it, kept until they are put back: a run killed meanwhile (SIGKILL
# skips every finally) leaves the kit closed to ordinary users, and the next run puts it back first.
KIT_MODES = Path(tempfile.gettempdir()) / "mnistkit-hub-kit-modes.json"


def _undo_a_killed_run():
    """Put back what a hub test run killed before its end left: the kit folder's modes, the hub's folders."""
    if KIT_MODES.exists():
        machine.restore_modes([(Path(path), mode, gid) for path, mode, gid in json.loads(KIT_MODES.read_text())])
        KIT_MODES.unlink()
    for stale in Path(tempfile.gettempdir()).glob("mnistkit-hub-*"):
        if stale.is_dir() and not stale.is_symlink():  # its hub died with that run (PR_SET_PDEATHSIG)
            shutil.rmtree(stale, ignore_errors=True)


@pytest.fixture(scope="module")
def hub():
    _empty_accounts()
    _undo_a_killed_run()
    root = Path(tempfile.mkdtemp(prefix="mnistkit-hub-"))
    root.chmod(0o755)
    kit = machine.kit_modes()  # the hub closes the kit's folder to others; the other tests grade as one
    KIT_MODES.write_text(json.dumps([(str(path), mode, gid) for path, mode, gid in kit]))
    try:
        with running_hub(ROSTER_FILE, root, port=free_port(), log=root / "jupyterhub.log") as address:
            yield Hub(address, root, machine.shared_password(root / "state"))
    finally:
        _empty_accounts()
        machine.restore_modes(kit)
        KIT_MODES.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def tabs(browser):
    """Open tabs as people with ``tabs.as_(hub, name)``; every one is closed after the test."""
    opened = []

    class Tabs:
        def as_(self, hub, name):
            tab = hub.login(browser, name)
            opened.append(tab)
            return tab

    yield Tabs()
    for tab in opened:
        tab.context.close()


def xsrf(tab):
    return next(cookie["value"] for cookie in tab.context.cookies() if cookie["name"] == "_xsrf")


def open_nbgrader_menu_item(tab, label):
    tab.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
    tab.click(f".lm-Menu-itemLabel:text-is('{label}')")


def formgrader_frame(tab, hub, course, page="manage_assignments"):
    """Formgrader of ``course``, in JupyterLab's panel of the course's server, as the tab's person opens it."""
    tab.goto(f"{hub.address}/services/{course.course_id}/lab?formgrader=true")
    frame = tab.frame_locator("iframe[src*='formgrader']")
    frame.locator("text=Manage Assignments").first.wait_for()
    if page == "manage_assignments":
        frame.locator("a:text-is('Manage Assignments')").click()
        frame.locator("tr:has-text('mnist_numpy')").first.wait_for()
        # Its rows are drawn before their table is made sortable (DataTables): wait for both, as its own code does.
        tab.frame(url=lambda url: "formgrader/manage_assignments" in url).wait_for_function(
            "() => window.models && window.models.loaded")
    return frame


def wait_for(condition, what, seconds=WAIT / 1000):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(0.25)


def hand_in(tab, hub, name, student, course=SECTION_A, validate=False):
    """``name`` fetches ``student.assignment`` from the Assignments list (unless fetched), writes ``student``'s
    answers into it through their own server, as JupyterLab saves, optionally validates, and submits."""
    assignment = student.assignment
    open_nbgrader_menu_item(tab, "Assignment List")
    row = tab.locator(f".list_item:has-text('{assignment}')")
    fetch = tab.locator(f"#released_assignments_list .list_item:has-text('{assignment}') button:text-is('Fetch')")
    submit = tab.locator(f"#fetched_assignments_list .list_item:has-text('{assignment}') button:text-is('Submit')")
    row.first.wait_for()
    if not submit.is_visible():
        fetch.click()
    submit.wait_for()
    path = f"{course.course_id}/{assignment}/{assignment}.ipynb"
    saved = tab.request.put(f"{hub.address}/user/{name}/api/contents/{path}", headers={
        "X-XSRFToken": xsrf(tab), "Content-Type": "application/json"}, data=json.dumps(
        {"type": "notebook", "format": "json", "content": build_submission(COURSE_ROOT, student)}))
    assert saved.ok, saved.text()
    if validate:
        tab.goto(f"{hub.address}/user/{name}/lab/tree/{path}?reset")
        tab.wait_for_selector(KERNEL_IDLE)
        tab.click(".jp-Toolbar-item:has-text('Validate') >> visible=true")
        tab.locator(".jp-Dialog:has-text('Success! Your notebook passes all the tests.')").wait_for()
        tab.click(".jp-Dialog-button >> visible=true")
        open_nbgrader_menu_item(tab, "Assignment List")
    submitted = tab.locator(f"#submitted_assignments_list .list_item:has-text('{assignment}') .nested_list_item")
    before = submitted.count()
    tab.locator(f"#fetched_assignments_list .list_item:has-text('{assignment}') button:text-is('Submit')").click()
    wait_for(lambda: submitted.count() > before, f"{name}'s submission of {assignment} listed as submitted")


def fetch_feedback(tab, name, assignment, course=SECTION_A):
    """``name`` fetches their feedback from the Assignments list; its page's words (tags, styles and scripts removed)."""
    import html
    import re

    open_nbgrader_menu_item(tab, "Assignment List")
    item = tab.locator(f"#submitted_assignments_list .list_item:has-text('{assignment}')")
    item.locator("button:text-is('Fetch Feedback')").first.click()
    item.locator("a:text-is(' (view feedback)')").first.wait_for()  # this assignment's, not an earlier one's
    folder = Path(pwd.getpwnam(name).pw_dir) / course.course_id / assignment / "feedback"
    wait_for(lambda: any(folder.rglob("*.html")), f"{name}'s feedback of {assignment} in their home")
    pages = sorted(folder.rglob("*.html"))
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", pages[-1].read_text(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def feedback_in_jupyterlab(tab, hub, name, assignment, course=SECTION_A):
    """``name``'s feedback page of ``assignment`` opened in JupyterLab's HTML viewer, as from their file browser."""
    folder = Path(pwd.getpwnam(name).pw_dir)
    page = sorted((folder / course.course_id / assignment / "feedback").rglob("*.html"))[-1]
    tab.goto(f"{hub.address}/user/{name}/lab/tree/{page.relative_to(folder)}")
    frame = tab.frame_locator("iframe")
    frame.locator("math").first.wait_for()
    return frame


def release(tab, hub, assignment, course=SECTION_A):
    """The instructor releases ``assignment`` in Formgrader (the cloud icon of *Manage Assignments*)."""
    row = formgrader_frame(tab, hub, course).locator(f"tr:has-text('{assignment}')")
    row.locator(".glyphicon-cloud-upload").click()
    row.locator(".label-success:text-is('released')").wait_for()


def collect_and_grade(tab, hub, assignment, course=SECTION_A):
    """The instructor collects in Formgrader, then grades with the kit in a terminal of the course's server."""
    frame = formgrader_frame(tab, hub, course)
    frame.locator(f"tr:has-text('{assignment}') .glyphicon-cloud-download").click()
    frame.locator(".modal-dialog:has-text('Successfully collected')").wait_for()
    folder = hub.course_directory(course)
    graded = hub.run_as(course.grader, sys.executable, "-m", "mnistkit", "grade", assignment, "--no-progress",
                        cwd=folder)  # as in a terminal there: the course is the current folder
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    return graded.stdout


def release_feedback(tab, hub, assignment, course=SECTION_A):
    frame = formgrader_frame(tab, hub, course)
    frame.locator(f"tr:has-text('{assignment}') .glyphicon-envelope").click()
    frame.locator(".modal-dialog:has-text('Successfully released feedback')").wait_for()


def scores(hub, assignment, course=SECTION_A):
    """``{student: (score, seconds late)}`` in the course's gradebook."""
    from mnistkit.gradebook import open_gradebook

    with open_gradebook(hub.course_directory(course)) as gradebook:
        return {submission.student_id: (submission.score, submission.total_seconds_late)
                for submission in gradebook.assignment_submissions(assignment)}


CORRECT = SimulatedStudent(STUDENT_A, "the reference solution", assignment=PART1)
PARTIAL = SimulatedStudent(STUDENT_B, "the original notebook's cross-entropy", assignment=PART1,
                           answers={"cross_entropy_loss": SEED_CROSS_ENTROPY})
STUBS = SimulatedStudent(STUDENT_C, "hands in the stubs as they were released", assignment=PART1, untouched=True)
TA_COMMENT = "Your loss sums over the batch; divide by the number of rows. One point for the idea."
TIMES = {}  # measured durations of the term, printed at its end


# ---------------------------------------------------------------------------
# The term


def test_the_instructor_releases_part_1_from_formgrader_in_jupyterlabs_panel(hub, tabs):
    release(tabs.as_(hub, INSTRUCTOR), hub, PART1)
    outbound = hub.root / "exchange" / SECTION_A.course_id / "outbound" / PART1
    assert (outbound / f"{PART1}.ipynb").is_file()


def test_a_student_fetches_solves_validates_and_submits_in_jupyterlab(hub, tabs):
    hand_in(tabs.as_(hub, STUDENT_A), hub, STUDENT_A, CORRECT, validate=True)
    inbound = hub.root / "exchange" / SECTION_A.course_id / "inbound"
    assert [entry.name.split("+")[:2] for entry in inbound.iterdir()] == [[STUDENT_A, PART1]]


def test_a_student_submits_twice_and_a_deadline_passes_before_another_submits(hub, tabs):
    twice = tabs.as_(hub, STUDENT_C)
    hand_in(twice, hub, STUDENT_C, SimulatedStudent(STUDENT_C, "first try", assignment=PART1, untouched=True))
    hand_in(twice, hub, STUDENT_C, SimulatedStudent(STUDENT_C, "the reference solution", assignment=PART1))

    # The instructor sets the deadline in Formgrader: now. The next submission is late.
    tab = tabs.as_(hub, INSTRUCTOR)
    frame = formgrader_frame(tab, hub, SECTION_A)
    frame.locator(f"tr:has-text('{PART1}') .glyphicon-pencil").click()
    now = datetime.datetime.now(datetime.timezone.utc)
    frame.locator("input.modal-duedate").fill(now.strftime("%Y-%m-%dT%H:%M:%S"))
    frame.locator("input.modal-timezone").fill("+0000")
    frame.locator("button.save").click()
    frame.locator(f"tr:has-text('{PART1}'):has-text('{now:%Y-%m-%d}')").wait_for()
    time.sleep(1)  # the next submission's time is after the deadline whatever the clocks' resolution

    hand_in(tabs.as_(hub, STUDENT_B), hub, STUDENT_B, PARTIAL)
    inbound = hub.root / "exchange" / SECTION_A.course_id / "inbound"
    handed_in = sorted(entry.name.split("+")[0] for entry in inbound.iterdir())
    assert handed_in == sorted([STUDENT_A, STUDENT_B, STUDENT_C, STUDENT_C])

    # Then B, late, writes two submission folders into inbound by hand (it is writable by every student): their own
    # work claiming a time before the deadline, and stubs in C's name, both newer than any real submission.
    # The collect must take neither claim: B stays late, C keeps their own work (checked after grading).
    forged = hub.run_as(STUDENT_B, sys.executable, "-c", FORGE, inbound, PART1, STUDENT_B, STUDENT_C,
                        json.dumps(build_submission(COURSE_ROOT, PARTIAL)), json.dumps(build_submission(COURSE_ROOT, STUBS)))
    assert forged.returncode == 0, forged.stderr


# B's two forged submission folders (run as B): argv = inbound, assignment, B, C, B's notebook, the stubs.
# B's own folder carries the secret of B's last real submission (from B's nbgrader cache), so B still gets feedback.
FORGE = """
import datetime, glob, os, shutil, sys
inbound, assignment, me, victim, mine, stubs = sys.argv[1:]
newer = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
(secret,) = sorted(glob.glob(os.path.expanduser(f"~/.local/share/jupyter/nbgrader_cache/*/{me}+{assignment}+*/"
                                                "submission_secret.txt")))[-1:]
for owner, notebook, claimed in ((me, mine, "2000-01-01 00:00:00.000000 UTC"), (victim, stubs, None)):
    stamp = claimed or f"{newer:%Y-%m-%d %H:%M:%S.%f} UTC"
    folder = os.path.join(inbound, f"{owner}+{assignment}+{newer:%Y-%m-%d %H:%M:%S.%f} UTC+forged")
    os.mkdir(folder)
    with open(os.path.join(folder, assignment + ".ipynb"), "w") as file:
        file.write(notebook)
    with open(os.path.join(folder, "timestamp.txt"), "w") as file:
        file.write(stamp)
    if owner == me:
        shutil.copy(secret, folder)
"""


def test_the_instructor_collects_and_grades_with_the_kit(hub, tabs):
    started = time.perf_counter()
    said = collect_and_grade(tabs.as_(hub, INSTRUCTOR), hub, PART1)
    TIMES["collect and grade 3 students of part 1"] = time.perf_counter() - started
    found = scores(hub, PART1)
    assert {student: score for student, (score, _) in found.items()} == {STUDENT_A: 20, STUDENT_B: 15, STUDENT_C: 20}, said
    # B's backdated folder was collected (the newest), with the time its files arrived: late still.
    assert found[STUDENT_B][1] > 0 and found[STUDENT_A][1] == found[STUDENT_C][1] == 0, found
    assert STUDENT_B in said


def test_a_teaching_assistant_grades_by_hand_in_formgrader_through_the_hub(hub, tabs):
    tab = tabs.as_(hub, ASSISTANT)
    open_submission(tab, hub.address, f"{hub.address}/services/{SECTION_A.course_id}/formgrader", PART1, STUDENT_B)
    grade_by_hand(tab, "cross_entropy_values", 1, "cross_entropy_loss", TA_COMMENT)
    assert scores(hub, PART1)[STUDENT_B][0] == 16


def test_each_student_fetches_their_feedback_and_sees_their_score_and_what_failed(hub, tabs):
    course = hub.course_directory(SECTION_A)
    started = time.perf_counter()
    # The feedback written again with the assistant's score and comment.
    rewritten = hub.run_as(SECTION_A.grader, sys.executable, "-m", "mnistkit", "report", PART1, cwd=course)
    assert rewritten.returncode == 0, rewritten.stderr[-3000:]
    release_feedback(tabs.as_(hub, INSTRUCTOR), hub, PART1)
    seen = {name: fetch_feedback(tabs.as_(hub, name), name, PART1) for name in (STUDENT_A, STUDENT_B, STUDENT_C)}
    TIMES["feedback written again, released and fetched by 3 students"] = time.perf_counter() - started
    assert f"{PART1} (Score: 20.0 / 20.0)" in seen[STUDENT_A] and f"{PART1} (Score: 20.0 / 20.0)" in seen[STUDENT_C]
    assert f"{PART1} (Score: 16.0 / 20.0)" in seen[STUDENT_B] and TA_COMMENT in seen[STUDENT_B]
    assert "Grade cell: cross_entropy_values Score: 1.0 / 2.0" in seen[STUDENT_B]
    assert "For a batch, return the mean over rows, not the sum." in seen[STUDENT_B]  # what failed, in words


def test_a_students_feedback_and_notebook_show_their_formulas_in_jupyterlab_with_no_route_out(hub, tabs):
    tab = tabs.as_(hub, STUDENT_B)
    left = requests_leaving(tab.context, hub.address)
    shown, raw = laid_out_formulas(feedback_in_jupyterlab(tab, hub, STUDENT_B, PART1))
    assert shown >= 8 and raw == []  # part 1's formulas, each laid out by the browser
    # The notebook itself: JupyterLab typesets with the MathJax it bundles.
    tab.goto(f"{hub.address}/user/{STUDENT_B}/lab/tree/{SECTION_A.course_id}/{PART1}/{PART1}.ipynb")
    tab.locator(".jp-RenderedMarkdown mjx-container").first.wait_for()
    assert left == []  # no CDN: nothing was asked of any other server


def test_part_2_follows_release_to_feedback(hub, tabs):
    tab = tabs.as_(hub, INSTRUCTOR)
    release(tab, hub, PART2)
    student = tabs.as_(hub, STUDENT_A)
    hand_in(student, hub, STUDENT_A, SimulatedStudent(STUDENT_A, "the reference solution", assignment=PART2))
    started = time.perf_counter()
    collect_and_grade(tab, hub, PART2)
    release_feedback(tab, hub, PART2)
    seen = fetch_feedback(student, STUDENT_A, PART2)
    TIMES["part 2: collect, grade, release and fetch one student's feedback"] = time.perf_counter() - started
    assert f"{PART2} (Score: 25.0 / 25.0)" in seen
    print("\n" + "\n".join(f"{what}: {seconds:.1f} s" for what, seconds in TIMES.items()))


def test_the_grading_service_gives_a_student_feedback_before_the_deadline(hub, tabs):
    """The course account runs python -m mnistkit serve; a student's submission of part 2 is graded as it arrives and
    its feedback is in their Assignments list; a folder a classmate made in their name is refused."""
    folder = hub.course_directory(SECTION_A)
    log_path = Path(tempfile.mkdtemp(prefix="mnistkit-service-log-")) / "service.log"
    inbound = hub.root / "exchange" / SECTION_A.course_id / "inbound"
    with open(log_path, "w") as log:
        service = hub.start_as(SECTION_A.grader, sys.executable, "-m", "mnistkit", "serve", cwd=folder, output=log)
        try:
            wait_for(lambda: "Grading service of" in log_path.read_text(), "the service started")
            student = tabs.as_(hub, STUDENT_B)
            hand_in(student, hub, STUDENT_B, SimulatedStudent(STUDENT_B, "sums its gradients", assignment=PART2,
                                                              answers={"backward": BACKWARD_SUMMING}))
            forged = hub.run_as(STUDENT_C, sys.executable, "-c", "import os, sys; os.mkdir(sys.argv[1])",
                                inbound / f"{STUDENT_B}+{PART2}+2026-12-01 10:00:00.000000 UTC+forged")
            assert forged.returncode == 0, forged.stderr
            started = time.perf_counter()
            wait_for(lambda: f"graded: {STUDENT_B}'s {PART2}" in log_path.read_text(), "B's part 2 graded by the service")
            try:
                seen = fetch_feedback(student, STUDENT_B, PART2)
            except Exception:  # what the student's own nbgrader finds, to say why the list shows no feedback
                fetched = hub.run_as(STUDENT_B, "nbgrader", "fetch_feedback", PART2, "--course", SECTION_A.course_id,
                                     "--debug")
                raise AssertionError(fetched.stdout[-3000:] + fetched.stderr[-5000:]) from None
            TIMES["part 2: the service's feedback, from hand-in to fetched"] = time.perf_counter() - started
        finally:
            service.terminate()
            service.wait(60)
    said = log_path.read_text()
    graded = re.search(rf"graded: {STUDENT_B}'s {PART2}, ([\d.]+) of 25 ", said)
    assert graded, said[-3000:]
    assert f"{PART2} (Score: {float(graded.group(1)):.1f} / 25.0)" in seen and float(graded.group(1)) < 25
    assert "Feedback from the course's grading service" in seen and "attempt 1 of the 3 graded in any 24 hours" in seen
    assert "made by another account than" in said and f"{STUDENT_B}'s" in said
    print("\n" + "\n".join(f"{what}: {seconds:.1f} s" for what, seconds in TIMES.items()))


# ---------------------------------------------------------------------------
# What a student must not reach, tried from the student's own server


def own_server(hub, name):
    """A requests session of ``name`` with their own server running; the server's address."""
    api = hub.api(name)
    api.post(f"{hub.address}/hub/api/users/{name}/server")  # 400 if it runs already
    wait_for(lambda: api.get(f"{hub.address}/hub/api/users/{name}").json()["servers"].get("", {}).get("ready"),
             f"{name}'s server ready")
    return api, f"{hub.address}/user/{name}"


def run_in_own_kernel(hub, name, code):
    """What ``code`` prints in a new kernel of ``name``'s own server, reached through the hub with their token."""
    api, base = own_server(hub, name)
    started = api.post(f"{base}/api/kernels", json={"name": "python3"})
    assert started.ok, started.text
    kernel = started.json()["id"]
    try:
        channels = base.replace("http", "ws", 1) + f"/api/kernels/{kernel}/channels"
        with ThreadPoolExecutor(1) as thread:  # this thread's event loop is Playwright's
            return thread.submit(asyncio.run, _execute(channels, api.headers["Authorization"], code)).result()
    finally:
        api.delete(f"{base}/api/kernels/{kernel}")


async def _execute(url, authorization, code):
    """Run ``code`` on a kernel's websocket (Jupyter's JSON protocol); what it printed, errors included."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(HTTPRequest(url, headers={"Authorization": authorization}))
    request = uuid.uuid4().hex
    connection.write_message(json.dumps({
        "header": {"msg_id": request, "msg_type": "execute_request", "username": "", "session": uuid.uuid4().hex,
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    printed = []
    try:
        while True:
            message = await asyncio.wait_for(connection.read_message(), WAIT / 1000)
            assert message is not None, "the kernel's websocket closed"
            message = json.loads(message)
            if message.get("parent_header", {}).get("msg_id") != request:
                continue
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                printed.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(printed)
    finally:
        connection.close()


REACH = """
import json, os
def reach(path):
    try:
        if os.path.isdir(path):
            os.listdir(path)
            return "listed"
        with open(path, "rb") as file:
            file.read(1)
        return "read"
    except OSError as error:
        return type(error).__name__
print(json.dumps({path: reach(path) for path in PATHS}))
"""


def reached(hub, name, paths):
    """``{path: "read" | "listed" | the error's name}`` for each of ``paths``, tried by ``name``'s own kernel."""
    printed = run_in_own_kernel(hub, name, f"PATHS = {[str(path) for path in paths]!r}\n{REACH}")
    return json.loads(printed.strip().splitlines()[-1])


def test_a_students_own_kernel_reaches_no_solution_gradebook_classmate_or_other_section(hub):
    course, other = hub.course_directory(SECTION_A), hub.course_directory(SECTION_B)
    exchange = hub.root / "exchange" / SECTION_A.course_id
    closed = [
        course / "gradebook.db", course / "source" / PART1 / f"{PART1}.ipynb", course / "submitted", other,
        COURSE_ROOT / "source" / PART1 / f"{PART1}.ipynb", COURSE_ROOT / ".git" / "HEAD",
        COURSE_ROOT / "mnistkit" / "simulated" / "reference.py", COURSE_ROOT / "nbgrader_config.py",
        Path(pwd.getpwnam(STUDENT_A).pw_dir), exchange / "inbound",
        hub.root / "state" / "password", hub.root / "state" / "jupyterhub.sqlite",
    ]
    open_ = [Path(pwd.getpwnam(STUDENT_B).pw_dir), exchange / "outbound" / PART1 / f"{PART1}.ipynb",
             hub.root / "data" / "mnist.npz"]  # controls: the check does reach what is the student's to reach
    found = reached(hub, STUDENT_B, closed + open_)
    assert {path: found[str(path)] for path in closed} == {path: "PermissionError" for path in closed}
    assert [found[str(path)] for path in open_] == ["listed", "read", "read"]


def test_a_student_cannot_open_the_courses_formgrader_or_the_other_sections(hub):
    api = hub.api(STUDENT_A)
    for course in ROSTER.courses:
        refused = api.get(f"{hub.address}/services/{course.course_id}/formgrader/api/assignments",
                          allow_redirects=False)
        assert refused.status_code == 403, (course.course_id, refused.status_code)
    other = hub.api(INSTRUCTOR).get(f"{hub.address}/services/{SECTION_B.course_id}/formgrader/api/assignments",
                                    allow_redirects=False)
    assert other.status_code == 403


def test_each_instructor_lists_their_own_course_only(hub):
    for course in ROSTER.courses:
        api, server = own_server(hub, course.instructors[0])
        listed = api.get(f"{server}/formgraders").json()
        assert listed["success"], listed
        assert [entry["course_id"] for entry in listed["value"]] == [course.course_id], listed


def test_a_student_of_the_other_section_neither_sees_nor_fetches_its_assignment(hub):
    api, server = own_server(hub, OTHER_SECTION_STUDENT)
    assert SECTION_A.course_id not in api.get(f"{server}/courses").json()["value"]  # it lists released ones only
    listed = api.get(f"{server}/assignments", params={"course_id": SECTION_A.course_id}).json()
    assert not listed["success"] or listed["value"] == [], listed
    fetched = api.post(f"{server}/assignments/fetch",
                       data={"course_id": SECTION_A.course_id, "assignment_id": PART1}).json()
    assert not fetched["success"] or fetched["value"] == [], fetched  # nbgrader says nothing; nothing comes
    home = Path(pwd.getpwnam(OTHER_SECTION_STUDENT).pw_dir)
    assert not (home / SECTION_A.course_id).exists()
