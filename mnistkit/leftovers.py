"""Folders in the temp folder named after the process that made them, removed by a later process once it is gone.

A process killed by SIGKILL (or a machine that lost power) removes nothing. So each temporary
folder the kit makes is named ``<prefix><pid>-<random>``; whoever makes the next one of that kind
removes those whose process no longer runs (and never one of a running process).
"""

import os
import shutil
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
