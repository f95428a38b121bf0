"""What a killed process leaves behind: nothing that outlives it, and no folder that a later process does not remove.

`die_with_parent` makes a child process get a signal when the process that started it dies.

A process killed by SIGKILL (or a machine that lost power) removes nothing. So each temporary
folder the kit makes is named ``<prefix><pid>-<random>``; whoever makes the next one of that kind
removes those whose process no longer runs (and never one of a running process).
"""

import os
import shutil
import signal
import tempfile
from pathlib import Path


def owner_is_gone(name, prefix):
    """Whether ``name`` (``<prefix><pid>-...``) was made by a process that no longer runs."""
    pid = name[len(prefix):].split("-", 1)[0]
    return pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists()


def remove_stale(prefix, folder=None):
    """Remove the folders ``<prefix><pid>-*`` in ``folder`` (default: the temp folder) whose process is gone;
    return how many."""
    removed = 0
    for path in Path(folder or tempfile.gettempdir()).glob(f"{prefix}*"):
        if path.is_dir() and not path.is_symlink() and owner_is_gone(path.name, prefix):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def new_folder(prefix):
    """A new private folder ``<prefix><this pid>-<random>`` in the temp folder, after removing stale ones."""
    remove_stale(prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def die_with_parent(signum=signal.SIGTERM):
    """In a child process: get ``signum`` when the process that started it dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG; kept across exec, as ``preexec_fn`` of a server's Popen)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signum)  # 1: PR_SET_PDEATHSIG
