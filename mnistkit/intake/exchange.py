"""nbgrader's exchange, collected as data: ``nbgrader collect`` copies plain files only, never following a link.

A student owns their submission in the exchange's inbound folder, and can change it while the
instructor collects. nbgrader's own collect copies it with the instructor's rights and follows
links (a link to a file only the instructor may read would be copied into ``submitted/``). This
one opens every entry relative to its folder, refusing links (``O_NOFOLLOW``) and never blocking
on a FIFO (``O_NONBLOCK``), and copies plain files of bounded size only; what it skips is logged.
Switched on in ``nbgrader_config.py`` with ``c.ExchangeFactory.collect``.
"""

import os
import stat
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

from mnistkit.intake.rules import Intake, shown, student_id_problem

CHUNK = 2**20


def copy_plain_files(source, destination, max_file_bytes):
    """Copy the plain files and real folders under ``source`` into ``destination``; return what was skipped."""
    skipped = []
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

    def copy_folder(folder_descriptor, target, shown_path):
        target.mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(folder_descriptor)):
            where = f"{shown_path}/{name}" if shown_path else name
            try:
                descriptor = os.open(name, flags, dir_fd=folder_descriptor)
            except OSError:  # a link (ELOOP), or gone meanwhile
                skipped.append(f"{shown(where)}: a link or unreadable")
                continue
            try:
                info = os.fstat(descriptor)
                if stat.S_ISDIR(info.st_mode):
                    copy_folder(descriptor, target / name, where)
                elif not stat.S_ISREG(info.st_mode):
                    skipped.append(f"{shown(where)}: not a plain file")
                elif info.st_size > max_file_bytes:
                    skipped.append(f"{shown(where)}: {info.st_size:,} bytes, more than a file may be")
                else:
                    _copy_descriptor(descriptor, target / name, max_file_bytes)
            finally:
                os.close(descriptor)

    top = os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        copy_folder(top, Path(destination), "")
    finally:
        os.close(top)
    return skipped


def _copy_descriptor(descriptor, path, limit):
    written = 0
    with open(path, "wb") as target:
        while chunk := os.read(descriptor, CHUNK):
            written += len(chunk)
            if written > limit:  # it grew while being copied
                break
            target.write(chunk)
    os.chmod(path, 0o644)


class SafeExchangeCollect(ExchangeCollect):
    """nbgrader's collect, copying each submission with `copy_plain_files`."""

    def do_copy(self, src, dest, log=None):
        student = os.path.basename(os.path.dirname(dest))  # submitted/<student>/<assignment>
        problem = student_id_problem(student)
        if problem:
            self.log.error("Not collected: %s", problem)
            return
        for line in copy_plain_files(src, dest, Intake(parent=self).max_notebook_bytes):
            self.log.warning("Skipped in %s's submission: %s", student, line)
