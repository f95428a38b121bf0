"""The course on a real JupyterHub with its real proxy, as a class uses it: every person their own account.

One hub (`python -m mnistkit hub`'s own code, two sections of the course: tests/hub_roster.toml)
serves every test here, and one headless Chromium goes through the hub's address as each person:

- the term: the instructor releases part 1 from Formgrader in JupyterLab's panel; a student
  fetches it from the Assignments list, writes the solutions, validates and submits; the
  instructor collects and grades with the kit; the student sees their feedback;
- what no student reaches, each tried through a student's own server: the course's Formgrader,
  its gradebook and source, a classmate's home or submission, the other section.

The tests run in file order: each step of the term builds on the one before.
"""

import asyncio
import json
import os
import pwd
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
from mnistkit.simulated.students import PART1, SimulatedStudent, build_submission

ROSTER_FILE = Path(__file__).with_name("hub_roster.toml")
ROSTER = load_roster(ROSTER_FILE)
SECTION_A, SECTION_B = ROSTER.courses
INSTRUCTOR, ASSISTANT = SECTION_A.instructors[0], SECTION_A.assistants[0]
STUDENT_A, STUDENT_B, STUDENT_C = SECTION_A.students
OTHER_SECTION_STUDENT = SECTION_B.students[0]
KERNEL_IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle'] >> visible=true"
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

    def run_as(self, account, *command, cwd=None):
        """Run ``command`` as ``account``, as in a terminal of its server (a course account's: its service's),
        with its home and groups and nothing of root's."""
        entry = pwd.getpwnam(account)
        kind = "course" if account.startswith("grader-") else "students"
        environment = {"PATH": os.environ["PATH"], "HOME": entry.pw_dir, "USER": account, "LANG": "C.UTF-8",
                       "JUPYTER_CONFIG_PATH": machine.settings_path(self.root / "config", kind)}
        return subprocess.run(list(map(str, command)), user=entry.pw_uid, group=entry.pw_gid,
                              extra_groups=os.getgrouplist(account, entry.pw_gid), env=environment,
                              cwd=cwd or entry.pw_dir, capture_output=True, text=True)

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


@pytest.fixture(scope="module")
def hub():
    _empty_accounts()
    root = Path(tempfile.mkdtemp(prefix="mnistkit-hub-"))
    root.chmod(0o755)
    kit = machine.kit_modes()  # the hub closes the kit's folder to others; the other tests grade as one
    try:
        with running_hub(ROSTER_FILE, root, port=free_port(), log=root / "jupyterhub.log") as address:
            yield Hub(address, root, machine.shared_password(root / "state"))
    finally:
        _empty_accounts()
        machine.restore_modes(kit)
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


def formgrader_frame(tab, hub, course):
    """Formgrader of ``course``, in JupyterLab's panel of the course's server, as the tab's person opens it."""
    tab.goto(f"{hub.address}/services/{course.course_id}/lab?formgrader=true")
    frame = tab.frame_locator("iframe[src*='formgrader']")
    frame.locator("text=Manage Assignments").first.wait_for()
    return frame


# ---------------------------------------------------------------------------
# The term


def test_the_instructor_releases_part_1_from_formgrader_in_jupyterlabs_panel(hub, tabs):
    tab = tabs.as_(hub, INSTRUCTOR)
    frame = formgrader_frame(tab, hub, SECTION_A)
    frame.locator("a:text-is('Manage Assignments')").click()
    row = frame.locator(f"tr:has-text('{PART1}')")
    row.locator(".glyphicon-cloud-upload").click()
    row.locator(".label-success:text-is('released')").wait_for()
    outbound = hub.root / "exchange" / SECTION_A.course_id / "outbound" / PART1
    assert (outbound / f"{PART1}.ipynb").is_file()


def test_a_student_fetches_solves_validates_and_submits_in_jupyterlab(hub, tabs):
    tab = tabs.as_(hub, STUDENT_A)
    open_nbgrader_menu_item(tab, "Assignment List")
    tab.click("button:text-is('Fetch')")
    tab.locator("button:text-is('Submit')").wait_for()

    # The student's answers go into the fetched notebook as JupyterLab saves it: through their own server.
    solved = build_submission(COURSE_ROOT, SimulatedStudent(STUDENT_A, "the reference solution", assignment=PART1))
    path = f"{SECTION_A.course_id}/{PART1}/{PART1}.ipynb"
    saved = tab.request.put(f"{hub.address}/user/{STUDENT_A}/api/contents/{path}",
                            data=json.dumps({"type": "notebook", "format": "json", "content": solved}),
                            headers={"X-XSRFToken": xsrf(tab), "Content-Type": "application/json"})
    assert saved.ok, saved.text()

    tab.goto(f"{hub.address}/user/{STUDENT_A}/lab/tree/{path}?reset")
    tab.wait_for_selector(KERNEL_IDLE)
    tab.click(".jp-Toolbar-item:has-text('Validate') >> visible=true")
    tab.locator(".jp-Dialog:has-text('Success! Your notebook passes all the tests.')").wait_for()
    tab.click(".jp-Dialog-button >> visible=true")

    open_nbgrader_menu_item(tab, "Assignment List")
    tab.click("button:text-is('Submit')")
    tab.locator(".nested_list_item:has-text('UTC')").first.wait_for()  # the submission, with its time
    inbound = hub.root / "exchange" / SECTION_A.course_id / "inbound"
    assert [entry.name.split("+")[:2] for entry in inbound.iterdir()] == [[STUDENT_A, PART1]]


def test_the_instructor_collects_and_grades_with_the_kit_and_the_student_sees_the_feedback(hub, tabs):
    tab = tabs.as_(hub, INSTRUCTOR)
    frame = formgrader_frame(tab, hub, SECTION_A)
    frame.locator("a:text-is('Manage Assignments')").click()
    row = frame.locator(f"tr:has-text('{PART1}')")
    row.locator(".glyphicon-cloud-download").click()
    course = hub.course_directory(SECTION_A)
    handed_in = course / "submitted" / STUDENT_A / PART1 / f"{PART1}.ipynb"
    for _ in range(120):
        if handed_in.exists():
            break
        time.sleep(0.5)
    assert handed_in.exists()

    # Grading, as the instructor runs it in a terminal of the course's server: as the course's account.
    graded = hub.run_as(SECTION_A.grader, sys.executable, "-m", "mnistkit", "grade", "--course", course,
                        "--no-progress", cwd=course)
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    tab.reload()
    frame = formgrader_frame(tab, hub, SECTION_A)
    frame.locator("a:text-is('Manage Assignments')").click()
    frame.locator(f"tr:has-text('{PART1}') .glyphicon-envelope").click()  # release the feedback
    frame.locator(".modal-dialog:has-text('Successfully released feedback')").wait_for()
    feedback_out = hub.root / "exchange" / SECTION_A.course_id / "feedback"
    for _ in range(120):
        if feedback_out.is_dir() and any(feedback_out.rglob("*.html")):
            break
        time.sleep(0.5)
    assert any(feedback_out.rglob("*.html"))

    student = tabs.as_(hub, STUDENT_A)
    open_nbgrader_menu_item(student, "Assignment List")
    student.click("button:text-is('Fetch Feedback')")
    student.locator("a:text-is(' (view feedback)')").first.wait_for()
    feedback = next((Path(pwd.getpwnam(STUDENT_A).pw_dir) / SECTION_A.course_id / PART1 / "feedback").rglob("*.html"))
    assert "Score: 20.0 / 20.0" in feedback.read_text()


# ---------------------------------------------------------------------------
# What a student must not reach, tried from the student's own server


def run_in_own_kernel(hub, name, code):
    """What ``code`` prints in a new kernel of ``name``'s own server, reached through the hub with their token."""
    api = hub.api(name)
    api.post(f"{hub.address}/hub/api/users/{name}/server")  # 400 if it runs already
    for _ in range(360):
        if api.get(f"{hub.address}/hub/api/users/{name}").json()["servers"].get("", {}).get("ready"):
            break
        time.sleep(0.5)
    base = f"{hub.address}/user/{name}"
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
        COURSE_ROOT / "mnistkit" / "simulated" / "reference.py", COURSE_ROOT / "gradebook.db",
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
