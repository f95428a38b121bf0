"""The course directory and the nbgrader commands run in it."""

import csv
import filecmp
import os
import shutil
import subprocess
import sys
from functools import cached_property
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = "mnist_data"


class Course:
    """One nbgrader course directory: its folders, its configuration and its gradebook.

    Folders are those of nbgrader's own `CourseDirectory` (``source/``, ``release/``,
    ``submitted/<student>/<assignment>/``, ...), with the names and layout the course's
    ``nbgrader_config.py`` gives them. A course pickles as its path, so it can be sent to a
    worker process or a cluster; each process then reads the configuration once.
    """

    OUTCOMES = "grading"  # the kit's record of each submission: grading/<assignment>/<student>.json

    def __init__(self, root):
        self.root = Path(root).resolve()

    @classmethod
    def of(cls, course):
        """``course`` itself if it is a `Course`, else the course in the folder ``course``."""
        return course if isinstance(course, cls) else cls(course)

    def __reduce__(self):
        return (Course, (str(self.root),))

    def __eq__(self, other):
        return isinstance(other, Course) and other.root == self.root

    def __hash__(self):
        return hash(self.root)

    def __repr__(self):
        return f"Course({str(self.root)!r})"

    def __fspath__(self):
        return str(self.root)

    @cached_property
    def config(self):
        """nbgrader's configuration in this course, loaded as nbgrader loads it (a traitlets ``Config``): the
        ``nbgrader_config`` files of Jupyter's configuration path (on a hub, the exchange's place), then the
        course's own ``nbgrader_config.py`` over them."""
        from jupyter_core.paths import jupyter_config_path
        from traitlets.config import Application, Config
        from traitlets.config.loader import PyFileConfigLoader

        config = Config()
        for loaded, _ in Application._load_config_files("nbgrader_config", path=jupyter_config_path()):
            config.merge(loaded)
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config())
        config.CourseDirectory.root = str(self.root)
        return config

    def kit_config(self):
        """A copy of `config` for the kit's own nbgrader steps (autograde, feedback, its release), with nbgrader's
        default authenticator: they ask the hub about nobody. (A hub's settings name nbgrader's JupyterHub plugin,
        for students' servers; it needs a user's server, and autograde would add each student to a hub group,
        which the hub's roster keeps.)"""
        import copy

        config = copy.deepcopy(self.config)
        config.Authenticator.plugin_class = "nbgrader.auth.NoAuthPlugin"
        return config

    @cached_property
    def directory(self):
        """nbgrader's `CourseDirectory` of this course."""
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config)

    def folder(self, step, assignment, student="."):
        """The folder of ``assignment`` in an nbgrader step: ``"source"``, ``"release"`` (no student),
        ``"submitted"``, ``"autograded"``, ``"feedback"`` (one student's)."""
        names = {"source": "source_directory", "release": "release_directory", "submitted": "submitted_directory",
                 "autograded": "autograded_directory", "feedback": "feedback_directory"}
        step_name = getattr(self.directory, names[step])
        return Path(self.directory.format_path(step_name, student, assignment))

    def step_folder(self, step):
        """The folder of an nbgrader step that holds every assignment or every student: ``submitted/``, ..."""
        return self.folder(step, ".")  # pathlib drops the "." parts of root/submitted/./.

    def notebook(self, step, assignment, name, student="."):
        """The path of notebook ``name`` (without ``.ipynb``) of ``assignment`` in an nbgrader step."""
        return self.folder(step, assignment, student) / f"{name}.ipynb"

    def assignments(self):
        """The course's assignments: the folders of ``source/`` that hold a notebook, sorted by name."""
        source = self.step_folder("source")
        found = source.iterdir() if source.is_dir() else []
        return sorted(folder.name for folder in found if folder.is_dir() and any(folder.glob("*.ipynb")))

    def notebooks(self, assignment):
        """The names (without ``.ipynb``) of the notebooks of ``assignment``, from its master folder in ``source/``."""
        names = sorted(path.stem for path in self.folder("source", assignment).glob("*.ipynb"))
        if not names:
            known = ", ".join(self.assignments()) or "none"
            raise FileNotFoundError(f"No assignment '{assignment}' in {self.step_folder('source')} "
                                    f"(assignments: {known})")
        return names

    def handed_in(self, assignment):
        """Names of the folders of ``submitted/`` that hold ``assignment`` (links too), whatever the names are."""
        submitted = self.step_folder("submitted")
        if not submitted.is_dir():
            return []
        return sorted(path.name for path in submitted.iterdir()
                      if os.path.lexists(self.folder("submitted", assignment, path.name)))

    def outcome_path(self, assignment, student):
        """Where the kit records what happened to one student's submission."""
        return self.root / self.OUTCOMES / assignment / f"{student}.json"

    def nbgrader(self, *args):
        """Run ``nbgrader ARGS`` in this course (see `nbgrader`)."""
        return nbgrader(self.root, *args)

    def generate_release(self, assignment):
        """Make ``release/<assignment>`` from ``source/<assignment>`` (and register it in the gradebook)."""
        return self.nbgrader("generate_assignment", assignment, "--force")

    def gradebook(self):
        """nbgrader's `Gradebook` of the course (use it in a ``with`` block); see `mnistkit.gradebook`."""
        from mnistkit.gradebook import open_gradebook

        return open_gradebook(self)


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message quotes its own error lines."""


def nbgrader(course, *args):
    """Run ``nbgrader ARGS`` in the folder ``course`` and return its combined output.

    nbgrader calls its helper commands (``alembic``) by name, so the folder of the
    running interpreter is put first on ``PATH``: a virtual environment works without
    being activated.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    completed = subprocess.run(
        [sys.executable, "-m", "nbgrader", *map(str, args)],
        cwd=os.fspath(course),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if completed.returncode != 0:
        errors = [line for line in completed.stdout.splitlines() if "ERROR" in line or "Error" in line]
        summary = "\n".join(errors[-8:]) or completed.stdout[-2000:]
        raise NbgraderError(f"'nbgrader {' '.join(map(str, args))}' failed in {os.fspath(course)}:\n{summary}")
    return completed.stdout


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
        course = Course(destination)
        for assignment in course.assignments():
            course.generate_release(assignment)
    return destination


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


def write_csv(path, header, rows):
    """A CSV file of course data at ``path``, written whole or not at all (a reader never sees half of it)."""
    path = Path(path)
    written = path.with_name(path.name + ".new")
    with written.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    written.replace(path)
    return path
