"""One confined kernel's box: its own folders, the command that starts it confined, and cleaning up.

The kernel is started by bubblewrap (``bwrap``) in new user, mount, PID, network, IPC, UTS and
cgroup namespaces, with every capability dropped and no way to make further user namespaces.
Inside, it sees only:

- the Python installation, ``/usr`` and the kit's in-kernel guard, read-only;
- the course data and its grader-built float cache, read-only (``/opt/mnist-data``);
- a home and a ``/tmp`` of its own, each a filesystem of bounded size in memory (tmpfs), gone
  when the kernel is: its submission folder is copied into the home (``/home/student/submission``,
  its working folder) from a read-only scratch copy before the kernel starts;
- its own channel folder, where its connection file and its ZeroMQ sockets are (Unix sockets:
  the kernel has no network at all, not even the machine's loopback).

Limits are set before anything runs in it: address space, file size, open files and no core
files (``prlimit``), and a process count: a pids cgroup when the grader may make one (as root),
and in any case RLIMIT_NPROC, set inside the box's own user namespace so that it counts the
box's processes only, not the grader's or a classmate's. Every process in the box dies with it:
when the kernel is killed, its PID namespace goes, and everything started in it.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import mnistkit
from mnistkit.leftovers import owner_is_gone, remove_stale

INSIDE_HOME = "/home/student"
INSIDE_WORK = f"{INSIDE_HOME}/submission"
INSIDE_HANDED_IN = "/opt/handed-in"  # the read-only scratch copy the home is filled from
INSIDE_DATA = "/opt/mnist-data"
INSIDE_KIT = "/opt/mnistkit"
KIT_FOLDER = Path(mnistkit.__file__).resolve().parent
BOX_PREFIX = "mnistkit-box-"  # a box's folder in the temp folder: mnistkit-box-<grading process>-<random>
CGROUP_PREFIX = "box-"  # its pids cgroup: box-<grading process>-<random>

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# The channel folder is on the grader's disk and holds a connection file and sockets (a few hundred bytes):
# a kernel that puts more there is stopped (see ConfinedKernelManager).
CHANNEL_FOLDER_BYTES, CHANNEL_FOLDER_ENTRIES = 2**20, 64

# Environment variables a kernel may see from the grader's: thread counts and OpenBLAS's CPU
# settings (needed for correct results on some processors). Nothing else passes, so no secret can.
PASSED_ENVIRONMENT = (*THREAD_VARIABLES, "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL")
FIX_IT = (
    "Install bubblewrap (Debian and Ubuntu: 'apt-get install bubblewrap') and make sure unprivileged "
    "user namespaces are allowed (Debian: sysctl kernel.unprivileged_userns_clone=1; Ubuntu 24.04 and later: "
    "sysctl kernel.apparmor_restrict_unprivileged_userns=0). To grade without confinement anyway, so that "
    "student code runs with your own rights, pass --no-sandbox to 'python -m mnistkit grade' or set "
    "c.GuardedExecute.confine = False in nbgrader_config.py."
)


class SandboxUnavailable(RuntimeError):
    """This machine cannot confine grading kernels; the message says what is missing and what to do."""


@dataclass(frozen=True)
class Limits:
    """What one confined kernel may use."""

    memory_bytes: int = 4 * 2**30  # address space
    processes: int = 128  # processes and threads together
    file_bytes: int = 512 * 2**20  # the largest file it may write
    open_files: int = 1024
    scratch_bytes: int = 256 * 2**20  # the size of its home, and of its /tmp


# New user, mount, PID, network, IPC, UTS and cgroup namespaces; no capabilities, no nested user namespaces.
_NAMESPACES = ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--cap-drop", "ALL"]


@lru_cache(maxsize=None)
def check_sandbox(bwrap="bwrap"):
    """Return bwrap's path once it has confined a trial command here; raise `SandboxUnavailable` if not."""
    found = shutil.which(bwrap)
    if not found:
        raise SandboxUnavailable(f"Grading kernels cannot be confined: bubblewrap ('{bwrap}') is not installed. {FIX_IT}")
    trial = subprocess.run([found, *_NAMESPACES, "--ro-bind", "/", "/", "true"], capture_output=True, text=True)
    if trial.returncode != 0:
        reason = trial.stderr.strip().splitlines()[-1] if trial.stderr.strip() else f"exit status {trial.returncode}"
        raise SandboxUnavailable(f"Grading kernels cannot be confined: bubblewrap cannot make its namespaces "
                                 f"here ({reason}). {FIX_IT}")
    return found


def _python_folders():
    """The folders of the running Python installation (a virtual environment and its base)."""
    folders = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}
    return sorted({folder.resolve() for folder in folders} | folders)


def _root_entries():
    """``/bin``, ``/lib``, ... as bwrap arguments: links where they are links (merged /usr), else read-only."""
    arguments = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            arguments += ["--ro-bind", str(path), str(path)]
    return arguments


def _pids_cgroup_root():
    """A pids cgroup folder (v1, or v2 with the pids controller) this process may make groups in, or None."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, mount_point, kind, options = line.split()[:4]
        if kind == "cgroup":
            has_pids = "pids" in options.split(",")
        elif kind == "cgroup2":
            controllers = Path(mount_point) / "cgroup.controllers"
            has_pids = controllers.exists() and "pids" in controllers.read_text().split()
        else:
            continue
        if has_pids and os.access(mount_point, os.W_OK):
            return Path(mount_point) / "mnistkit"
    return None


@lru_cache(maxsize=None)
def _font_lists():
    """matplotlib's font list, as the grader built it: a box copies it rather than spend a second rebuilding it."""
    import matplotlib
    from matplotlib import font_manager  # noqa: F401 (builds the list if there is none)

    return tuple(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))


def _copy_font_list(folder):
    folder.mkdir(parents=True)
    for path in _font_lists():
        shutil.copyfile(path, folder / path.name)


class KernelBox:
    """The folders of one confined kernel, made fresh for it and deleted after it."""

    def __init__(self, submission_folder, data_folder=None, limits=Limits(), bwrap="bwrap"):
        self.bwrap = check_sandbox(bwrap)
        self.limits = limits
        self.data_folder = data_folder
        _leftovers_removed_once()
        self.root = Path(tempfile.mkdtemp(prefix=f"{BOX_PREFIX}{os.getpid()}-"))  # private to the grader (0700)
        self.channels = self.root / "channels"  # connection file and sockets, same path inside and out
        for name in ("channels", "home", "tmp"):
            (self.root / name).mkdir()
        # A copy, not the folder itself: nbgrader hard-links the course's own files into it.
        shutil.copytree(submission_folder, self.root / "home" / "submission", copy_function=shutil.copyfile,
                        symlinks=True, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        _copy_font_list(self.root / "home" / ".cache" / "matplotlib")
        (self.root / "passwd").write_text(f"student:x:{os.getuid()}:{os.getgid()}:student:{INSIDE_HOME}:/bin/sh\n")
        (self.root / "group").write_text(f"student:x:{os.getgid()}:\n")
        self.cgroup = self._make_cgroup()

    def _make_cgroup(self):
        parent = _pids_cgroup_root()
        if parent is None:
            return None
        try:
            group = parent / f"{CGROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
            group.mkdir(parents=True)
            (group / "pids.max").write_text(str(self.limits.processes))
            return group
        except OSError:
            return None

    def environment(self):
        """The kernel's whole environment."""
        # One BLAS thread unless the grader says otherwise: kernels run side by side, one per core, and
        # NumPy's default of a thread per core made them spin for the same cores (a 2 s cell took 60 s).
        environment = {name: "1" for name in THREAD_VARIABLES}
        environment.update({name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ})
        environment.update({
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": INSIDE_HOME, "USER": "student", "LOGNAME": "student", "TMPDIR": "/tmp",
            "PYTHONPATH": INSIDE_KIT, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "agg",
        })
        if self.data_folder:
            environment.update(MNIST_DATA=INSIDE_DATA, MNIST_CACHE_DIR=INSIDE_DATA)
        return environment

    def command(self, kernel_command):
        """``kernel_command`` wrapped so that it starts confined, limits first."""
        limits = self.limits
        sandbox = [self.bwrap, *_NAMESPACES, "--clearenv"]
        for name, value in self.environment().items():
            sandbox += ["--setenv", name, value]
        scratch = str(limits.scratch_bytes)
        sandbox += ["--ro-bind", "/usr", "/usr", *_root_entries(), "--proc", "/proc", "--dev", "/dev",
                    # the writable folders first: a later mount (a Python installed under /tmp, say) goes on top
                    "--size", scratch, "--tmpfs", INSIDE_HOME, "--size", scratch, "--tmpfs", "/tmp"]
        for folder in _python_folders():
            sandbox += ["--ro-bind", str(folder), str(folder)]
        for name in ("ld.so.cache", "localtime", "fonts"):
            if (Path("/etc") / name).exists():
                sandbox += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        sandbox += [
            "--ro-bind", str(self.root / "passwd"), "/etc/passwd", "--ro-bind", str(self.root / "group"), "/etc/group",
            # the in-kernel guard only: the grader's own code stays out of sight
            "--ro-bind", str(KIT_FOLDER / "__init__.py"), f"{INSIDE_KIT}/mnistkit/__init__.py",
            "--ro-bind", str(KIT_FOLDER / "kernel"), f"{INSIDE_KIT}/mnistkit/kernel",
            "--bind", str(self.channels), str(self.channels),
            "--ro-bind", str(self.root / "home"), INSIDE_HANDED_IN,
        ]
        if self.data_folder:
            sandbox += ["--ro-bind", str(self.data_folder), INSIDE_DATA]
        limited = ["prlimit", f"--as={limits.memory_bytes}", f"--fsize={limits.file_bytes}",
                   f"--nofile={limits.open_files}", "--core=0"]
        # Inside the box: fill the home, then count processes in the box's own user namespace only.
        inside = ["/bin/sh", "-c", f'cp -R {INSIDE_HANDED_IN}/. {INSIDE_HOME}/ && cd {INSIDE_WORK} && exec "$@"', "box",
                  "prlimit", f"--nproc={limits.processes}", "--"]
        command = [*limited, "--", *sandbox, "--", *inside, *kernel_command]
        if self.cgroup is not None:  # join the pids cgroup, then become the confined kernel
            command = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.cgroup), *command]
        return command

    def channel_folder_overflows(self):
        """Why the kernel must be stopped for what it put in its channel folder (on the grader's disk), or None."""
        total = 0
        try:
            with os.scandir(self.channels) as entries:
                for count, entry in enumerate(entries, 1):
                    total += entry.stat(follow_symlinks=False).st_size
                    if count > CHANNEL_FOLDER_ENTRIES or total > CHANNEL_FOLDER_BYTES:
                        return (f"it wrote more than its connection file and sockets into its channel folder, which "
                                f"is on the grader's disk (over {CHANNEL_FOLDER_BYTES // 2**20} MiB or "
                                f"{CHANNEL_FOLDER_ENTRIES} entries)")
        except OSError:
            return None
        return None

    def remove(self):
        """Delete the box's folders and its cgroup (its processes are gone by then)."""
        shutil.rmtree(self.root, ignore_errors=True)
        if self.cgroup is not None:
            for _ in range(50):
                try:
                    self.cgroup.rmdir()
                    break
                except OSError:  # the last processes are still being reaped
                    time.sleep(0.02)


_data_folders = {}  # (course data file, loader) -> the verified, prepared folder this process uses

MANIFEST = "SHA256SUMS"  # the prepared folder's own files and their hashes, written last


def prepared_data(course_data, loader_path, store):
    """A folder holding the verified course data and its float cache, made once per course, in ``store``.

    Kernels mount it read-only. It is made by a trusted grading process from ``course_data``
    (``mnist.npz``), verified by the course's own loader module at ``loader_path``, in a folder named
    after the hash of both: every later grading process, on this machine or on a cluster node that
    sees the course, uses it after checking its files against the hashes written with it, so that
    nothing changed since (a changed file, a copy cut short) reaches a kernel. A folder that does not
    match is made again.
    """
    import hashlib

    key = (str(course_data), str(loader_path))
    if key not in _data_folders:
        digest = hashlib.sha256(Path(course_data).read_bytes() + Path(loader_path).read_bytes()).hexdigest()[:24]
        store = Path(store)
        folder = store / digest
        if not _matches_manifest(folder):
            store.mkdir(parents=True, exist_ok=True)
            with open(store / f".{digest}.lock", "a") as lock:
                try:
                    import fcntl

                    fcntl.flock(lock, fcntl.LOCK_EX)  # another process preparing it: wait for it
                except OSError:
                    pass  # a filesystem without locks: at worst two processes prepare it
                if not _matches_manifest(folder):
                    _prepare(folder, course_data, loader_path)
        _data_folders[key] = folder
    return _data_folders[key]


def _prepare(folder, course_data, loader_path):
    """Prepare the data into a fresh folder beside ``folder``, write its manifest, and put it in place."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_course_mnist_loader", loader_path)
    loader = importlib.util.module_from_spec(spec)
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # nothing new in source/
    try:
        spec.loader.exec_module(loader)
    finally:
        sys.dont_write_bytecode = writes_bytecode
    partial = folder.with_name(f".{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        partial.mkdir(mode=0o755)
        loader.prepare(partial, source=course_data)
        lines = [f"{_file_hash(path)}  {path.relative_to(partial)}" for path in sorted(partial.rglob("*"))
                 if path.is_file()]
        (partial / MANIFEST).write_text("\n".join(lines) + "\n")
        if folder.exists():
            shutil.rmtree(folder)  # one that no longer matches its manifest
        os.rename(partial, folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _file_hash(path):
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(2**22):
            digest.update(chunk)
    return digest.hexdigest()


def _matches_manifest(folder):
    """Whether ``folder`` holds exactly the files of its manifest, each with its hash."""
    try:
        expected = dict(reversed(line.split("  ", 1)) for line in (folder / MANIFEST).read_text().splitlines())
        present = {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()} - {MANIFEST}
        return present == set(expected) and all(_file_hash(folder / name) == digest
                                                for name, digest in expected.items())
    except (OSError, ValueError):
        return False


# Leftovers: a grading process killed (SIGKILL, a crash) cannot remove its kernels' boxes. Their folders
# and cgroups are named after the process that made them (`mnistkit.leftovers`), and the next grading
# process removes those of processes that are gone.


def remove_leftovers():
    """Remove the boxes (folders in the temp folder, pids cgroups) left by grading processes that are gone;
    return how many."""
    removed = remove_stale(BOX_PREFIX)
    groups = _pids_cgroup_root()
    if groups is not None and groups.is_dir():
        for group in groups.glob(f"{CGROUP_PREFIX}*"):
            if owner_is_gone(group.name, CGROUP_PREFIX):
                try:
                    group.rmdir()  # only when no process is left in it
                    removed += 1
                except OSError:
                    pass
    return removed


@lru_cache(maxsize=None)
def _leftovers_removed_once():
    return remove_leftovers()
