"""Hostile submissions: what a student can put in their submission folder besides code, for the intake's tests.

Each student hands in the reference solution (or, where the hostile part is the notebook
itself, a notebook that breaks a rule) and plants something beside it or in it: links to the
course's secrets, a notebook that is a link, FIFOs, devices, huge or many files, a package
named like a course module, a notebook too large or with too many cells, a huge attachment,
a kernel that prints hundreds of megabytes. None of it may reach anything: each gets exactly
what its honest work earns, and the record says what was left out.

`hostile_submissions` returns ``(student, expected points, plant, reason)``: ``plant(folder)``
is called on the student's submission folder after it is handed in; ``reason`` is part of
what the record must say.
"""

import os
import stat

import nbformat

from mnistkit.simulated.attackers import TRY
from mnistkit.simulated.mnist_numpy_students import ALL_POINTS, REFERENCE, SEED_SOFTMAX_POINTS, seed_softmax_and
from mnistkit.simulated.students import PART1, SimulatedStudent, set_source

NOTHING = {cell: 0 for cell in ALL_POINTS}
FILL = """
import os
for where in (os.path.expanduser("~"), "/tmp"):
    size = os.statvfs(where).f_blocks * os.statvfs(where).f_frsize
    print(f"the filesystem of {where} holds {size // 2**20} MiB")
    def fill(where=where):
        with open(where + "/fill", "wb") as file:
            for _ in range(4096):
                file.write(b"x" * 2**20)
    attempt("fill " + where, fill)
    if os.path.exists(where + "/fill"):
        os.remove(where + "/fill")
"""


FILL_CHANNELS = """
import os, sys
folder = os.path.dirname(sys.argv[sys.argv.index("-f") + 1])
for n in range(8):  # 512 MiB a file is the most a kernel may write to one file
    try:
        with open(os.path.join(folder, f"fill-{n}"), "wb") as file:
            for _ in range(512):
                file.write(b"x" * 2**20)
    except OSError:
        pass
"""


def _reads(*names):
    """Softmax-cell code that prints whatever the handed-in files ``names`` hold, seen from the kernel."""
    return TRY + "\n".join(f"attempt('read {name}', lambda: open({name!r}, 'rb').read())" for name in names)


def _student(student_id, description, attack="", answers=None, **options):
    code = dict(answers or {})
    if attack:
        code["softmax"] = code.get("softmax", REFERENCE["softmax"]) + "\n\n" + attack
    return SimulatedStudent(student_id, description, answers=code, assignment=PART1, **options)


def _link(name, target):
    return lambda folder: os.symlink(target, folder / name)


def _many(folder, count=5000):
    (folder / "junk").mkdir()
    for number in range(count):
        (folder / "junk" / f"{number}.txt").write_text("x")


def _padded_notebook(megabytes):
    def plant(folder):
        path = folder / "mnist_numpy.ipynb"
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata["padding"] = "x" * (megabytes * 2**20)
        nbformat.write(notebook, path)
    return plant


def _many_cells(count):
    def plant(folder):
        path = folder / "mnist_numpy.ipynb"
        notebook = nbformat.read(path, as_version=4)
        notebook.cells += [nbformat.v4.new_markdown_cell(f"note {n}") for n in range(count)]
        nbformat.write(notebook, path)
    return plant


def _big_attachment(folder):
    path = folder / "mnist_numpy.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_markdown_cell("![a picture](attachment:big.png)")
    cell.attachments = {"big.png": {"image/png": "A" * (8 * 2**20)}}
    notebook.cells.insert(2, cell)
    nbformat.write(notebook, path)


def _forged_nbgrader_files(folder):
    """nbgrader's own small files, forged: the time a link to a file of the system's, the secret 1 MiB."""
    (folder / "timestamp.txt").unlink(missing_ok=True)
    os.symlink("/etc/shadow", folder / "timestamp.txt")
    (folder / "submission_secret.txt").write_bytes(b"x" * 2**20)


def _set_uid(folder):
    os.chmod(folder / "mnist_numpy.ipynb", 0o4755)


def hostile_submissions(course_dir, trap_folder, grader_home):
    """The hostile submissions for a course at ``course_dir``.

    ``trap_folder`` is an empty folder where a dangling link points: nothing may appear in it.
    ``grader_home`` is the grader's home, where some links point.
    """
    course, trap, home = str(course_dir), str(trap_folder), str(grader_home)
    master = f"{course}/source/mnist_numpy/mnist_numpy.ipynb"
    reference = REFERENCE["softmax"]
    entries = [
        (_student("hostile-link-to-master", "hands in a link to the master notebook beside its own, and prints it",
                  _reads("solutions.ipynb")),
         ALL_POINTS, _link("solutions.ipynb", master), "'solutions.ipynb', a symbolic link (to"),
        (_student("hostile-link-to-environ", "hands in links to the grader's environment and working folder",
                  _reads("env.txt", "gradebook.db")),
         ALL_POINTS, lambda folder: (os.symlink("/proc/self/environ", folder / "env.txt"),
                                     os.symlink("/proc/self/cwd/gradebook.db", folder / "gradebook.db")),
         "'env.txt', a symbolic link (to '/proc/self/environ')"),
        (_student("hostile-link-to-home", "hands in a link to a file in the grader's home", _reads("notes.txt")),
         ALL_POINTS, _link("notes.txt", f"{home}/grader-notes.txt"), "'notes.txt', a symbolic link"),
        (_student("hostile-notebook-is-link", "its notebook is a link to the master notebook", untouched=True),
         NOTHING, lambda folder: (os.unlink(folder / "mnist_numpy.ipynb"), os.symlink(master, folder / "mnist_numpy.ipynb")),
         "'mnist_numpy.ipynb', a symbolic link (to"),
        # The old intake copied a misnamed notebook to the expected name, writing through such a link.
        (_student("hostile-dangling-notebook-link", "a dangling link where its notebook should be, and its work "
                  "under another name", filename="homework.ipynb"),
         ALL_POINTS, _link("mnist_numpy.ipynb", f"{trap}/written-through.py"),
         "The notebook was handed in as 'homework.ipynb'"),
        (_student("hostile-link-to-dev-zero", "hands in a link to /dev/zero", _reads("zeros.bin")),
         ALL_POINTS, _link("zeros.bin", "/dev/zero"), "'zeros.bin', a symbolic link (to '/dev/zero')"),
        (_student("hostile-fifo", "hands in a FIFO, which blocks whoever opens it"),
         ALL_POINTS, lambda folder: os.mkfifo(folder / "pipe"), "'pipe', a FIFO"),
        (_student("hostile-hard-link", "hands in a hard link to a file of the grader's"),
         ALL_POINTS, lambda folder: os.link(f"{home}/grader-notes.txt", folder / "hard.txt"),
         "'hard.txt', a file of"),
        (_student("hostile-huge-file", "hands in a 64 MiB file beside its notebook"),
         ALL_POINTS, lambda folder: (folder / "data.bin").write_bytes(b"\0" * 64 * 2**20), "'data.bin', a file of 67,108,864 bytes"),
        (_student("hostile-many-files", "hands in a folder of 5,000 files"), ALL_POINTS, _many, "'junk', a folder"),
        (_student("hostile-forged-nbgrader-files", "its timestamp.txt is a link to /etc/shadow and its "
                  "submission_secret.txt 1 MiB"), ALL_POINTS, _forged_nbgrader_files,
         "'timestamp.txt', a symbolic link (to '/etc/shadow')"),
        # A package under a course module's name would be imported before the course's own module.
        (_student("hostile-fake-course-module", "the original softmax, and a package mnist_checks whose checks "
                  "check nothing", answers={"softmax": seed_softmax_and()}),
         SEED_SOFTMAX_POINTS,
         lambda folder: ((folder / "mnist_checks").mkdir(), (folder / "mnist_checks" / "__init__.py").write_text(
             "def check_close(*a, **k):\n    return a[0]\ncheck_shape = check_finite = check_close\n")),
         "'mnist_checks', a folder"),
        (_student("hostile-html-beside", "hands in an HTML page and an SVG with scripts beside its notebook"),
         ALL_POINTS, lambda folder: ((folder / "page.html").write_text("<script>top.__pwned = 1</script>"),
                                     (folder / "image.svg").write_text('<svg onload="top.__pwned = 1"/>')),
         "'image.svg', a file of"),
        (_student("hostile-huge-notebook", "a notebook of 30 MiB (its metadata padded)"),
         NOTHING, _padded_notebook(30), "is 30 MiB, more than the 20 MiB a notebook may be"),
        (_student("hostile-many-cells", "a notebook of 3,000 cells"),
         NOTHING, _many_cells(3000), "cells, more than the 1,000 a notebook may have"),
        (_student("hostile-big-attachment", "an 8 MiB attachment in a Markdown cell"), ALL_POINTS, _big_attachment, ""),
        (_student("hostile-set-uid", "its notebook is set-uid and executable"), ALL_POINTS, _set_uid, ""),
        # Its later tests still fail: an error is never left out with the output.
        (_student("hostile-prints-a-lot", "the original softmax, and prints 64 MiB while it is graded",
                  answers={"softmax": seed_softmax_and() + "\n\n\nfor _ in range(64):\n    print('x' * 2**20)"}),
         SEED_SOFTMAX_POINTS, None, "beyond the 8 MiB a notebook may print was left out, from cell softmax on"),
        # Its channel folder (its connection file and sockets) is on the grader's disk: the kernel is stopped at
        # once, and the notebook runs again without that (ungraded) cell.
        (_student("hostile-fills-its-channel-folder", "writes 4 GiB into the folder of its connection file",
                  edit=lambda notebook: set_source(notebook, FILL_CHANNELS, "look_at_digits")),
         ALL_POINTS, None, "into its channel folder, which is on the grader's disk"),
        # It says how large its folders' filesystems are, and frees what it wrote, so its later cells still run.
        (_student("hostile-fills-its-disk", "writes 4 GiB into its home and into /tmp", TRY + FILL),
         ALL_POINTS, None, ""),
    ]
    return [(student, expected, plant, reason) for student, expected, plant, reason in entries]


# Folders in submitted/ whose names are not student ids: never graded, never in the gradebook.
BAD_STUDENT_IDS = ["*", "<img src=x onerror=alert(1)>", "-rf", ".hidden", "a b"]


def is_special(path):
    """Whether ``path`` is anything but a plain file or folder (a link, a FIFO, a device)."""
    mode = os.lstat(path).st_mode
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
