"""nbgrader's exchange, collected as data: ``nbgrader collect`` copies plain files only, never following a link.

A student owns their submission in the exchange's inbound folder, and can change it while the
instructor collects. nbgrader's own collect copies it with the instructor's rights and follows
links (a link to a file only the instructor may read would be copied into ``submitted/``). This
one opens every entry relative to its folder, refusing links (``O_NOFOLLOW``) and never blocking
on a FIFO (``O_NONBLOCK``), and copies plain files of bounded size only; what it skips is logged.
It also refuses a submission folder another student's account made in a student's name, and
never takes a submission's time to be earlier than when its files arrived. Switched on in
``nbgrader_config.py`` with ``c.ExchangeFactory.collect``.
"""

import datetime
import os
import pwd
import stat
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.utils import parse_utc

from mnistkit.intake.folder import MAX_NBGRADER_FILE_BYTES, NBGRADER_FILES
from mnistkit.intake.rules import Intake, shown, student_id_problem

CHUNK = 2**20


MAX_DEPTH = 8  # folders within folders a submission may have; deeper ones are left out
MAX_ENTRIES = 1000  # files and folders a submission may have; the rest are left out


def copy_plain_files(source, destination, max_file_bytes):
    """Copy the plain files and real folders under ``source`` into ``destination``; return what was skipped.

    At most `MAX_ENTRIES` entries, `MAX_DEPTH` folders deep and four times ``max_file_bytes`` in all are copied:
    a student's folder cannot fill the grader's disk or exhaust its stack.
    """
    skipped = []
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    budget = {"entries": MAX_ENTRIES, "bytes": 4 * max_file_bytes}
    pending = [(os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC), Path(destination), "", 0)]
    try:
        while pending:  # folder by folder, not by recursion
            folder_descriptor, target, shown_path, depth = pending.pop()
            try:
                target.mkdir(parents=True, exist_ok=True)
                for name in sorted(os.listdir(folder_descriptor)):
                    where = f"{shown_path}/{name}" if shown_path else name
                    if budget["entries"] <= 0:
                        skipped.append(f"{shown(where)} and what follows it: more than {MAX_ENTRIES} entries")
                        break
                    budget["entries"] -= 1
                    try:
                        descriptor = os.open(name, flags, dir_fd=folder_descriptor)
                    except OSError:  # a link (ELOOP), or gone meanwhile
                        skipped.append(f"{shown(where)}: a link or unreadable")
                        continue
                    keep_open = False
                    try:
                        info = os.fstat(descriptor)
                        if stat.S_ISDIR(info.st_mode):
                            if depth + 1 > MAX_DEPTH:
                                skipped.append(f"{shown(where)}: a folder more than {MAX_DEPTH} folders deep")
                            else:
                                pending.append((descriptor, target / name, where, depth + 1))
                                keep_open = True
                        elif not stat.S_ISREG(info.st_mode):
                            skipped.append(f"{shown(where)}: not a plain file")
                        elif info.st_size > max_file_bytes:
                            skipped.append(f"{shown(where)}: {info.st_size:,} bytes, more than a file may be")
                        elif info.st_size > budget["bytes"]:
                            skipped.append(f"{shown(where)}: {info.st_size:,} bytes, more than the submission may hold")
                        else:
                            budget["bytes"] -= info.st_size
                            _copy_descriptor(descriptor, target / name, max_file_bytes)
                    finally:
                        if not keep_open:
                            os.close(descriptor)
            finally:
                os.close(folder_descriptor)
    finally:
        for descriptor, *_ in pending:  # left open by an error
            os.close(descriptor)
    return skipped


def copy_nbgrader_files(source, destination):
    """Copy only nbgrader's own small files (`NBGRADER_FILES`) of the folder ``source`` into ``destination``, as
    plain files of at most `MAX_NBGRADER_FILE_BYTES`, never following a link; what cannot be is left out."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    try:
        folder = os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return
    try:
        for name in NBGRADER_FILES:
            try:
                descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
            except OSError:
                continue
            try:
                info = os.fstat(descriptor)
                if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_NBGRADER_FILE_BYTES:
                    _copy_descriptor(descriptor, destination / name, MAX_NBGRADER_FILE_BYTES)
            finally:
                os.close(descriptor)
    finally:
        os.close(folder)


def _copy_descriptor(descriptor, path, limit):
    written = 0
    with open(path, "wb") as target:
        while chunk := os.read(descriptor, CHUNK):
            written += len(chunk)
            if written > limit:  # it grew while being copied
                break
            target.write(chunk)
    os.chmod(path, 0o644)


def made_by(path, student):
    """Whether the submission folder at ``path`` was made by ``student``'s own account, or by the account collecting
    (where students and instructor share one account, nobody else can write the exchange)."""
    owner = os.lstat(path).st_uid
    if owner == os.geteuid():
        return True
    try:
        return pwd.getpwuid(owner).pw_name == student
    except KeyError:
        return False


def arrival(path):
    """When the submission folder at ``path`` was last written (its own and its entries' change times, which its
    owner cannot set), as a UTC `datetime`."""
    latest = os.lstat(path).st_ctime
    for entry in os.scandir(path):
        latest = max(latest, entry.stat(follow_symlinks=False).st_ctime)
    return datetime.datetime.fromtimestamp(latest, datetime.timezone.utc).replace(tzinfo=None)


ARRIVAL_SLACK = datetime.timedelta(minutes=2)  # nbgrader's submit writes the time, then copies the files


class SafeExchangeCollect(ExchangeCollect):
    """nbgrader's collect, copying each submission with `copy_plain_files`; a submission folder made by another
    student's account is never collected, and a submission's time is never earlier than when its files arrived.

    The exchange's ``inbound`` is writable by every student, and the folder's name says whose it is and when
    it was made: nbgrader's own collect only warns when the folder's owner is someone else (``check_owner``)
    and takes the time a student's ``timestamp.txt`` claims.
    """

    def _sort_by_timestamp(self, records):
        """One student's submissions, latest first, those made by their own account before any other."""
        ordered = super()._sort_by_timestamp(records)
        if not self.check_owner:
            return ordered
        own = [r for r in ordered if made_by(os.path.join(self.inbound_path, r["filename"]), r["username"])]
        return own + [r for r in ordered if r not in own]

    def do_copy(self, src, dest, log=None):
        student = os.path.basename(os.path.dirname(dest))  # submitted/<student>/<assignment>
        collect_submission(src, dest, student, self.log, Intake(parent=self).max_notebook_bytes, self.check_owner)


def collect_submission(src, dest, student, log, max_file_bytes, check_owner=True):
    """Copy ``student``'s submission folder ``src`` of the exchange into ``dest`` as data; return whether it was.

    Not collected (and logged): a student id that is not one, or (with ``check_owner``) a folder made by another
    account. The copy holds plain files only (see `copy_plain_files`), and its ``timestamp.txt`` is never earlier
    than when the files arrived.
    """
    problem = student_id_problem(student)
    if problem:
        log.error("Not collected: %s", problem)
        return False
    if check_owner and not made_by(src, student):
        log.error("Not collected: %s was made by another account than %s's, so it is not their submission",
                  shown(os.path.basename(src)), student)
        return False
    arrived = arrival(src)
    for line in copy_plain_files(src, dest, max_file_bytes):
        log.warning("Skipped in %s's submission: %s", student, line)
    stamp = Path(dest) / "timestamp.txt"
    try:
        claimed = parse_utc(stamp.read_text()[:100].strip()) if stamp.exists() else None
    except (ValueError, OverflowError, TypeError):
        claimed = None
    if claimed is None or claimed.replace(tzinfo=None) < arrived - ARRIVAL_SLACK:
        log.warning("%s's submission says it was made at %s, but its files arrived at %s: it is dated then",
                    student, shown(str(claimed)), arrived)
        stamp.write_text(f"{arrived:%Y-%m-%d %H:%M:%S.%f} UTC")
        os.chmod(stamp, 0o644)
    return True


class SafeExchangeReleaseFeedback(ExchangeReleaseFeedback):
    """nbgrader's release_feedback, releasing every student's feedback that can be, and naming those that cannot.

    nbgrader names each released page after the ``submission_secret.txt`` its submit wrote; a
    submission folder a student made by hand has none, and nbgrader's own release then stops at
    that student with a traceback, releasing nobody after them.
    """

    def copy_files(self):
        pages = Path(self.src_path).parent.parent.glob(f"*/{self.coursedir.assignment_id}/*.html")
        unreleasable = sorted({page.parent.parent.name for page in pages
                               if not all((page.parent / name).is_file() for name in NBGRADER_FILES)})
        for student in unreleasable:
            self.log.error("No feedback released for %s: their submission has no %s (it was not made by nbgrader's "
                           "submit), so they could not fetch it; send them feedback/%s/%s/ yourself",
                           shown(student), " or ".join(NBGRADER_FILES), shown(student), self.coursedir.assignment_id)
        excluded = self.coursedir.student_id_exclude
        self.coursedir.student_id_exclude = ",".join(filter(None, [excluded, *unreleasable]))
        try:
            super().copy_files()
        finally:
            self.coursedir.student_id_exclude = excluded
