"""Take in one submission folder, ``submitted/<student>/<assignment>/``, before nbgrader copies anything from it.

nbgrader copies every file of a submission folder into ``autograded/`` and ``feedback/`` with the
grader's rights, following links. So before it runs, the folder is made to hold nothing but what
is graded: the assignment's notebooks, as plain files of bounded size, and nbgrader's own
``timestamp.txt`` and ``submission_secret.txt``. Everything else (links of any kind, devices, FIFOs, folders, other files) is
removed from the folder, never opened or followed, and named in the record: the grade comes
from the notebook's cells alone, and the student's copy in the exchange or the LMS is untouched.
"""

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from mnistkit.intake.rules import Intake, shown, student_id_problem

# nbgrader's own small files, kept as they are: the time of the submission (written by nbgrader's submit,
# collect and zip_collect), and the secret its submit writes, from which release_feedback names the feedback
# that only this student's fetch_feedback finds in the exchange. Each is read as text, never run.
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")
MAX_NBGRADER_FILE_BYTES = 1024


@dataclass
class TakenIn:
    """What the intake found: sentences for the instructor, and whether anything can be graded."""

    problems: list = field(default_factory=list)
    gradable: bool = False


def _kind(mode):
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a file"


def _describe(path, info):
    """``path`` as the record shows it, from its ``lstat``: what it is, never what it points to."""
    what = _kind(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        what += f" (to {shown(os.readlink(path))})"
    elif stat.S_ISREG(info.st_mode):
        what += f" of {info.st_size:,} bytes" + (" with other hard links" if info.st_nlink > 1 else "")
    return f"{shown(path.name)}, {what}"


def _remove(path, info):
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path)  # never follows links inside
    else:
        path.unlink()


def _is_plain_file(info):
    return stat.S_ISREG(info.st_mode) and info.st_nlink == 1


def _check_real_folders(folder):
    """Why the submission folder or its student folder is not a real folder (a link, say), or None."""
    for path in (folder.parent, folder):
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            return f"the submission folder {shown(path.name)} is {_kind(info.st_mode)}, not a folder"
    return None


def take_in(folder, names, rules=None):
    """Make ``folder`` hold only the notebooks ``names`` (without ``.ipynb``) and nbgrader's own files; check them.

    Returns a `TakenIn`. A single notebook handed in under another name is renamed to the expected
    one (an assignment of one notebook only). A notebook missing from an assignment of several gets
    zero points, as nbgrader gives it; with none, or one that breaks a rule, nothing can be graded.
    """
    rules = rules or Intake()
    folder = Path(folder)
    result = TakenIn()
    problem = student_id_problem(folder.parent.name) or _check_real_folders(folder)
    if problem:
        result.problems.append(f"Not graded: {problem}.")
        return result

    expected = {f"{name}.ipynb" for name in names}
    left_out = []  # how each entry that is not graded is described in the record

    def leave_out(path, info):
        left_out.append(_describe(path, info))
        _remove(path, info)

    # Links, FIFOs, devices, folders and hard-linked files first: never opened, never followed.
    entries = {}
    for path in sorted(folder.iterdir()):
        info = os.lstat(path)
        if _is_plain_file(info):
            entries[path.name] = (path, info)
        else:
            leave_out(path, info)

    misnamed = [name for name in entries if name.endswith(".ipynb") and name not in expected]
    if len(expected) == 1 and not (expected & set(entries)) and len(misnamed) == 1:
        (target,) = expected
        os.rename(folder / misnamed[0], folder / target)
        result.problems.append(f"The notebook was handed in as {shown(misnamed[0])}; it was graded as '{target}'.")
        entries[target] = (folder / target, os.lstat(folder / target))
        del entries[misnamed[0]]

    for name, (path, info) in sorted(entries.items()):
        if name in expected and info.st_size > rules.max_notebook_bytes:
            result.problems.append(f"Not graded: '{name}' is {info.st_size / 2**20:.0f} MiB, more than the "
                                   f"{rules.max_notebook_mb} MiB a notebook may be (c.Intake.max_notebook_mb).")
            _remove(path, info)
        elif name in expected or name in NBGRADER_FILES and info.st_size <= MAX_NBGRADER_FILE_BYTES:
            os.chmod(path, 0o644)  # whatever modes an archive or a student gave it
        else:
            leave_out(path, info)
    if left_out:
        result.problems.append("Left out of grading, since only the notebook is graded: " + "; ".join(left_out) + ".")

    found = 0
    for name in sorted(expected):
        path = folder / name
        if not os.path.lexists(path):
            if not any(problem.startswith(f"Not graded: '{name}'") for problem in result.problems):
                result.problems.append(f"No '{name}' was handed in" + (
                    ": the submission folder holds no notebook." if len(expected) == 1 else "; it gets 0 points."))
            continue
        reason = _notebook_problem(path, rules)
        if reason:
            result.problems.append(f"'{name}' cannot be read as a notebook: {reason}.")
            return TakenIn(result.problems, False)
        found += 1
    result.gradable = found > 0
    return result


def _notebook_problem(path, rules):
    """Why the notebook file at ``path`` cannot be graded, or None."""
    if path.stat().st_size == 0:
        return "the file is empty"
    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat's own reading and schema errors mean the same to an instructor
        return str(error).splitlines()[0][:200] or type(error).__name__
    if len(notebook.cells) > rules.max_cells:
        return f"it has {len(notebook.cells):,} cells, more than the {rules.max_cells:,} a notebook may have"
    return None


def submission_stamp(folder):
    """Changes whenever a file of the submission changes (so a resubmission is regraded); never follows a link."""
    stamps = []
    for root, folders, files in os.walk(folder):  # does not descend into linked folders
        for name in files + [name for name in folders if os.path.islink(os.path.join(root, name))]:
            path = os.path.join(root, name)
            info = os.lstat(path)
            stamps.append(f"{os.path.relpath(path, folder)}:{info.st_size}:{info.st_mtime_ns}")
    return "|".join(sorted(stamps))
