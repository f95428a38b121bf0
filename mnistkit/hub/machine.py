"""Prepares the hub's machine (as root): accounts, the exchange, the courses, and Jupyter's settings.

Everything the hub owns is under one folder, the hub root (default ``/srv/mnistkit-hub``)::

    <root>/exchange/         nbgrader's exchange: 1777, so that every account may make its course's
                             folders there but none may remove another's; nbgrader sets the rest
                             (a course's inbound is written, never listed, by its students)
    <root>/data/mnist.npz    the course's data, read-only for every account ($MNIST_DATA)
    <root>/config/common/    nbgrader_config.py (the exchange, courses from JupyterHub's groups),
                             jupyter_server_config.py (Formgrader may be framed by JupyterLab) and
                             JupyterLab's settings (no news fetched from the internet)
    <root>/config/staff/     what an instructor's or assistant's own server leaves out: a Formgrader
                             of its own (theirs is the course's, a service) and assignment creation
    <root>/config/students/  what a student's own server leaves out: also the list of courses to grade
    <root>/state/            JupyterHub's database and secrets (0700, root)

and each course's directory is ``/home/grader-<course>/<course>``, owned by the course's account
(0700: no student reaches its gradebook, its source or its submissions). Every person's home is
0700.

This kit's own folder holds the master notebooks, its git history and its simulated students:
solutions all. Every server runs its ``.venv``, so others may pass through the folder (0711),
but of what is in it they reach ``.venv`` alone; the course accounts, which grade with the kit,
reach the rest as the group ``mnistkit-staff`` (`close_kit_to_students`).

Running it again changes only what is missing or wrong.
"""

import grp
import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from mnistkit.course import COURSE_ROOT, DATA_DIR, Course, new_course

DEFAULT_ROOT = Path("/srv/mnistkit-hub")
STAFF_GROUP = "mnistkit-staff"  # the course accounts: they grade with the kit, so they read its folder
SHARED_WITH_EVERYONE = (".venv",)  # what of the kit's folder every server runs
# What each kind of server leaves out, of its server extensions and JupyterLab's. Every server leaves out the
# news JupyterLab would fetch from the internet; a person's own server, Formgrader and assignment creation
# (they belong to the course's service); a student's, the list of courses to grade too.
LEFT_OUT = {
    "common": {"server": [], "lab": ["@jupyterlab/apputils-extension:announcements"]},
    "staff": {"server": ["nbgrader.server_extensions.formgrader"],
              "lab": ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"]},
    "students": {"server": ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list"],
                 "lab": ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                         "@jupyter/nbgrader:course-list"]},
}


class HubSetupError(RuntimeError):
    """The machine cannot run the course's hub as it is; the message says why and what to do."""


def prepare(roster, root=DEFAULT_ROOT):
    """Make the accounts, folders, courses and settings of ``roster`` under ``root``; the folders, by name."""
    if os.geteuid() != 0:
        raise HubSetupError("The hub spawns every person's server as their own Unix account, so it runs as root: "
                            "run this command as root (sudo).")
    root = Path(root)
    check_environment_reachable()
    folders = {name: root / name for name in ("exchange", "data", "config", "state")}
    _folder(root, 0o755)
    _folder(folders["exchange"], 0o1777)
    _folder(folders["state"], 0o700)
    _folder(folders["data"], 0o755)
    data = folders["data"] / "mnist.npz"
    if not data.exists():
        shutil.copyfile(COURSE_ROOT / DATA_DIR / "mnist.npz", data)
    data.chmod(0o444)
    for account in roster.accounts():
        make_account(account)
    close_kit_to_students([course.grader for course in roster.courses])
    _write_settings(folders["config"], folders["exchange"])
    for course in roster.courses:
        prepare_course(course, data)
    return folders


def check_environment_reachable():
    """Every account runs this Python environment: raise `HubSetupError` if others cannot reach it."""
    for path in {Path(sys.executable), Path(sys.executable).resolve(), Path(sys.prefix), Path(sys.base_prefix)}:
        for folder in [path, *path.parents]:
            mode = folder.stat().st_mode
            if folder.is_dir() and not mode & stat.S_IXOTH:
                raise HubSetupError(
                    f"The students' servers run this Python ({sys.executable}), but {folder} is closed to other "
                    "accounts. Make the course's environment with a Python every account can run: "
                    "./setup.sh uses /usr/bin/python3 for that where the first python3 is not one.")


def make_account(name):
    """The Unix account ``name``, with a home of its own that only it may enter."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", name], check=True,
                       capture_output=True)
        entry = pwd.getpwnam(name)
    home = Path(entry.pw_dir)
    home.mkdir(exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    home.chmod(0o700)
    return entry


def close_kit_to_students(course_accounts, kit=COURSE_ROOT):
    """Let others into this kit's folder only as far as its ``.venv``; the course accounts read all of it
    (`kit_modes` before it, then `restore_modes`, undo it)."""
    if subprocess.run(["getent", "group", STAFF_GROUP], capture_output=True).returncode:
        subprocess.run(["groupadd", "--system", STAFF_GROUP], check=True, capture_output=True)
    for account in course_accounts:
        subprocess.run(["usermod", "--append", "--groups", STAFF_GROUP, account], check=True, capture_output=True)
    staff = grp.getgrnam(STAFF_GROUP).gr_gid
    kit = Path(kit)
    kit.chmod(stat.S_IMODE(kit.stat().st_mode) & ~0o066 | 0o011)
    for path in kit.iterdir():
        if path.name in SHARED_WITH_EVERYONE or path.is_symlink():
            continue
        os.chown(path, -1, staff)
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode & ~0o007 | 0o040 | (0o010 if path.is_dir() else 0))


def kit_modes(kit=COURSE_ROOT):
    """``[(path, mode, gid)]`` of the kit's folder and what is in it (the part `close_kit_to_students` changes)."""
    return [(path, path.lstat().st_mode, path.lstat().st_gid) for path in [Path(kit), *Path(kit).iterdir()]]


def restore_modes(before):
    """Put back the modes and groups `close_kit_to_students` changed."""
    for path, mode, gid in before:
        if path.exists() and not path.is_symlink():
            os.chown(path, -1, gid)
            path.chmod(stat.S_IMODE(mode))


def course_directory(course):
    return Path(pwd.getpwnam(course.grader).pw_dir) / course.course_id


def prepare_course(course, data):
    """The course's directory, laid out from this kit's course, with its id and its students in the gradebook."""
    folder = course_directory(course)
    grader = pwd.getpwnam(course.grader)
    if not (folder / "nbgrader_config.py").exists():
        new_course(folder, extra_config=f'c.CourseDirectory.course_id = "{course.course_id}"')
        link = folder / DATA_DIR
        link.unlink()
        link.mkdir()
        shutil.copyfile(data, link / "mnist.npz")
    with Course(folder).gradebook() as gradebook:
        for student in course.students:
            gradebook.update_or_create_student(student)
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, grader.pw_uid, grader.pw_gid)
    folder.chmod(0o700)


def _write_settings(config, exchange):
    _folder(config, 0o755)
    for kind, left_out in LEFT_OUT.items():
        folder = config / kind
        _folder(folder, 0o755)
        _folder(folder / "labconfig", 0o755)
        if left_out["server"]:
            (folder / "jupyter_server_config.json").write_text(json.dumps(
                {"ServerApp": {"jpserver_extensions": {name: False for name in left_out["server"]}}}, indent=1))
        (folder / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {name: True for name in left_out["lab"]}}, indent=1))
    common = config / "common"
    (common / "nbgrader_config.py").write_text(
        '"""nbgrader on the hub: one exchange, and each person\'s courses from their JupyterHub groups."""\n'
        "from nbgrader.auth import JupyterHubAuthPlugin\n\n"
        "c = get_config()  # noqa: F821\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        "c.Exchange.path_includes_course = True\n"
        "c.Authenticator.plugin_class = JupyterHubAuthPlugin\n")
    (common / "jupyter_server_config.py").write_text(
        '"""JupyterLab shows Formgrader in a frame of the same server: allow that frame (JupyterHub 4.1 and later\n'
        'forbid every frame otherwise)."""\n'
        "c = get_config()  # noqa: F821\n"
        'c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors \'self\'"}}\n')
    for path in config.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def settings_path(config, kind):
    """``JUPYTER_CONFIG_PATH`` for a server of ``kind`` (``"students"``, ``"staff"`` or ``"course"``)."""
    kinds = [kind, "common"] if kind in LEFT_OUT else ["common"]
    return os.pathsep.join(str(Path(config) / name) for name in kinds)


def _folder(path, mode):
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, 0, 0)
    path.chmod(mode)


def service_token(state, course_id):
    """The API token of a course's Formgrader service, made once and kept in the hub's state folder."""
    path = Path(state) / f"service-{course_id}.token"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def shared_password(state):
    """The password every account logs in with while trying the hub (kept in the hub's state folder)."""
    path = Path(state) / "password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()
