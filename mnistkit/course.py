"""The course directory and the nbgrader commands run in it."""

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = "mnist_data"


def assignments(course_dir):
    """The course's assignments: the folders of ``source/`` that hold a notebook, sorted by name."""
    source = Path(course_dir) / "source"
    found = source.iterdir() if source.is_dir() else []
    return sorted(folder.name for folder in found if folder.is_dir() and any(folder.glob("*.ipynb")))


def notebooks(course_dir, assignment):
    """The names (without ``.ipynb``) of the notebooks of ``assignment``, from its master folder in ``source/``."""
    folder = Path(course_dir) / "source" / assignment
    names = sorted(path.stem for path in folder.glob("*.ipynb"))
    if not names:
        known = ", ".join(assignments(course_dir)) or "none"
        raise FileNotFoundError(f"No assignment '{assignment}' in {Path(course_dir) / 'source'} (assignments: {known})")
    return names


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message quotes its own error lines."""


def nbgrader(course_dir, *args):
    """Run ``nbgrader ARGS`` in ``course_dir`` and return its combined output.

    nbgrader calls its helper commands (``alembic``) by name, so the folder of the
    running interpreter is put first on ``PATH``: a virtual environment works without
    being activated.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    completed = subprocess.run(
        [sys.executable, "-m", "nbgrader", *map(str, args)],
        cwd=course_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if completed.returncode != 0:
        errors = [line for line in completed.stdout.splitlines() if "ERROR" in line or "Error" in line]
        summary = "\n".join(errors[-8:]) or completed.stdout[-2000:]
        raise NbgraderError(f"'nbgrader {' '.join(map(str, args))}' failed in {course_dir}:\n{summary}")
    return completed.stdout


def course_config(course_dir):
    """The course's ``nbgrader_config.py``, loaded as nbgrader loads it (a traitlets ``Config``)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(Path(course_dir).resolve())).load_config()


def new_course(destination, with_release=True, extra_config=""):
    """Lay out a fresh course directory at ``destination`` from this course's sources.

    The data folder is linked, not copied; ``extra_config`` lines are appended to its
    nbgrader_config.py. With ``with_release`` the student version is generated there by
    ``nbgrader generate_assignment`` for every assignment (which also creates the gradebook).
    """
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    config = (COURSE_ROOT / "nbgrader_config.py").read_text()
    (destination / "nbgrader_config.py").write_text(config + (f"\n{extra_config}\n" if extra_config else ""))
    shutil.copytree(COURSE_ROOT / "source", destination / "source", ignore=_ignored)
    (destination / DATA_DIR).symlink_to(COURSE_ROOT / DATA_DIR, target_is_directory=True)
    if with_release:
        for assignment in assignments(destination):
            generate_release(destination, assignment)
    return destination


def generate_release(course_dir, assignment):
    """Make ``release/<assignment>`` from ``source/<assignment>`` (and register it in the gradebook)."""
    return nbgrader(course_dir, "generate_assignment", assignment, "--force")


def release_drift(generated, committed):
    """Differences between two release folders, as readable lines (empty when identical)."""
    generated, committed = Path(generated), Path(committed)
    differences = []
    comparison = filecmp.dircmp(generated, committed, ignore=["__pycache__", ".ipynb_checkpoints"])
    pending = [(comparison, Path("."))]
    while pending:
        current, relative = pending.pop()
        differences += [f"missing from the committed release: {relative / name}" for name in current.left_only]
        differences += [f"not made by generate_assignment: {relative / name}" for name in current.right_only]
        _, mismatched, errors = filecmp.cmpfiles(current.left, current.right, current.common_files, shallow=False)
        differences += [f"differs from what generate_assignment makes: {relative / name}" for name in mismatched + errors]
        pending += [(sub, relative / name) for name, sub in current.subdirs.items()]
    return sorted(differences)


def _ignored(folder, names):
    return [name for name in names if name in ("__pycache__", ".ipynb_checkpoints") or name.endswith(".pyc")]
