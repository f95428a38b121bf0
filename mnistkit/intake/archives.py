"""A learning-management system's zip of submissions, unpacked into ``submitted/`` as data.

Each entry's name says whose notebook it is, read by nbgrader's own `FileNameCollectorPlugin`
with the course's ``named_regexp``. The archive is read where it lies (``downloaded/`` is left as
it was found) and only what will be graded is written: for each valid student id, the newest
entry of each of the assignment's notebooks, as a plain file of bounded size. Everything else is
skipped with a reason, and no entry, however made, stops the others:

- names that are absolute or climb out (``..``), links, and entries of any other kind;
- archives inside the archive, which are not unpacked (a file in one could claim to be anyone's);
- student ids that break the rule of `mnistkit.intake.rules` (``..``, ``*``, markup, ...);
- notebooks larger than ``c.Intake.max_notebook_mb`` or compressed more than
  ``c.Intake.max_compression_ratio`` times, however the entry's header describes them.

`CheckedFileNameCollector` and `SafeExtractor` bring the same rules to plain ``nbgrader zip_collect``.
"""

import os
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin

from mnistkit.intake.rules import Intake, shown, student_id_problem

CHUNK = 2**20


class ArchiveRefused(ValueError):
    """The archive as a whole cannot be read; the message says why."""


@dataclass
class Collected:
    """What one archive gave: ``{student: [file names written]}``, and a sentence for each entry skipped."""

    students: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)

    def summary(self):
        files = sum(len(names) for names in self.students.values())
        skipped = f"{len(self.skipped)} {'entry' if len(self.skipped) == 1 else 'entries'} skipped"
        return [f"{files} notebook(s) collected for {len(self.students)} student(s), {skipped}"] + [
            f"Skipped {line}" for line in self.skipped]


def _unsafe_name(name):
    """Why the entry name ``name`` cannot be unpacked, or None."""
    path = PurePosixPath(name)
    if "\\" in name or "\0" in name or path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        return "its name is absolute or leaves the archive's folder"
    return None


def _kind_problem(info):
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 where the archive does not say
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        return "it is a link or a special file, not a plain file"
    return None


def _size_problem(info, rules):
    if info.file_size > rules.max_notebook_bytes:
        return f"it is {info.file_size / 2**20:.0f} MiB, more than the {rules.max_notebook_mb} MiB a notebook may be"
    if info.file_size > rules.max_compression_ratio * max(info.compress_size, 1):
        return f"it is compressed {info.file_size / max(info.compress_size, 1):.0f} times, more than a notebook can be"
    return None


def _entry_problem(info, rules):
    """Why the archive entry ``info`` is not unpacked, whoever's it is, or None."""
    return _unsafe_name(info.filename) or _kind_problem(info) or _size_problem(info, rules)


def _copy_bounded(archive, info, destination, limit):
    """Write the entry ``info`` to ``destination`` (mode 0644), reading at most ``limit`` bytes whatever its header says."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=destination.parent, prefix=".collecting-")
    try:
        written = 0
        with archive.open(info) as source, os.fdopen(descriptor, "wb") as target:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise ArchiveRefused(f"it holds more than the {limit // 2**20} MiB a notebook may be")
                target.write(chunk)
        os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _real_folder(path):
    """Make ``path`` (and its parents below the course) real folders; refuse one that is a link or a file."""
    if os.path.lexists(path):
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise ArchiveRefused(f"{shown(path.name)} in the course is not a folder")
    else:
        path.mkdir(parents=True)


def collect_zip(course, assignment, archive):
    """Unpack the submissions of ``assignment`` in a learning-management system's zip ``archive`` into
    ``submitted/`` of ``course`` (a `Course`); return a `Collected`.

    Student ids and notebook names are read from the archive's file names by the pattern
    ``FileNameCollectorPlugin.named_regexp`` of the course's configuration, whose ``Intake``
    limits bound the archive.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"No zip file {archive}")
    notebook_names = course.notebooks(assignment)
    rules = Intake(config=course.config)
    collector = FileNameCollectorPlugin(config=course.config)
    try:
        opened = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as error:
        raise ArchiveRefused(f"{archive} cannot be read as a zip file: {error}") from None
    result = Collected()
    with opened:
        entries = opened.infolist()
        if len(entries) > rules.max_archive_members:
            raise ArchiveRefused(f"{archive} holds {len(entries):,} entries, more than the "
                                 f"{rules.max_archive_members:,} an archive may hold (c.Intake.max_archive_members)")
        chosen = {}  # (student, notebook) -> its newest entry
        for order, info in enumerate(entries):
            if info.is_dir():
                continue
            found = collector.collect(f"archive/{info.filename}")
            problem = _entry_problem(info, rules)
            if not problem and found is None:
                problem = "its name is not one of a notebook of this assignment (c.FileNameCollectorPlugin.named_regexp)"
            if not problem:
                problem = student_id_problem(found["student_id"])
            if not problem and found["file_id"] not in notebook_names:
                problem = f"{shown(found['file_id'])} is not a notebook of {assignment}"
            if problem:
                result.skipped.append(f"{shown(info.filename)}: {problem}.")
                continue
            key = (found["student_id"], found["file_id"])
            newer = (info.date_time, order)
            if key in chosen:
                older, kept = sorted([chosen[key], (newer, info)], key=lambda pair: pair[0])
                chosen[key] = kept
                result.skipped.append(f"{shown(older[1].filename)}: {key[0]} handed in {key[1]}.ipynb again; "
                                      f"the newer {shown(kept[1].filename)} is graded.")
            else:
                chosen[key] = (newer, info)

        submitted = course.step_folder("submitted")
        for (student, notebook), (_, info) in sorted(chosen.items()):
            folder = course.folder("submitted", assignment, student)
            try:
                for path in (submitted, folder.parent, folder):
                    _real_folder(path)
                _copy_bounded(opened, info, folder / f"{notebook}.ipynb", rules.max_notebook_bytes)
            except (ArchiveRefused, OSError, zipfile.BadZipFile, EOFError, ValueError) as error:
                result.skipped.append(f"{shown(info.filename)}: {error}.")
                continue
            result.students.setdefault(student, []).append(f"{notebook}.ipynb")
    return result


class CheckedFileNameCollector(FileNameCollectorPlugin):
    """nbgrader's collector for ``nbgrader zip_collect``, refusing student ids that break the course's rule."""

    def collect(self, submitted_file):
        found = super().collect(submitted_file)
        problem = found and student_id_problem(found.get("student_id"))
        if problem:
            self.log.warning("Skipped %s: %s", shown(submitted_file), problem)
            return None
        return found


class SafeExtractor(ExtractorPlugin):
    """nbgrader's extractor for ``nbgrader zip_collect``: each archive's plain files only, bounded, never nested.

    Of several entries that are the same student's same notebook, only the newest is extracted
    (nbgrader would stop the whole collection at such a pair).
    """

    def extract(self, archive_path, extracted_path):
        rules = Intake(parent=self)
        collector = FileNameCollectorPlugin(config=self.config)
        for name in sorted(os.listdir(archive_path)):
            path = Path(archive_path) / name
            if not zipfile.is_zipfile(path):
                self.log.warning("Skipped %s: not a zip file", shown(name))
                continue
            with zipfile.ZipFile(path) as archive:
                newest = {}  # (student, notebook), or the entry's own name -> (date, order, entry)
                for order, info in enumerate(archive.infolist()[:rules.max_archive_members]):
                    problem = None if info.is_dir() else _entry_problem(info, rules)
                    if problem:
                        self.log.warning("Skipped %s: %s", shown(info.filename), problem)
                    if info.is_dir() or problem:
                        continue
                    found = collector.collect(f"{extracted_path}/{info.filename}")
                    key = (found["student_id"], found["file_id"]) if found else info.filename
                    if key in newest and newest[key][:2] > (info.date_time, order):
                        self.log.warning("Skipped %s: an older copy of %s", shown(info.filename), shown(newest[key][2].filename))
                        continue
                    if key in newest:
                        self.log.warning("Skipped %s: an older copy of %s", shown(newest[key][2].filename), shown(info.filename))
                    newest[key] = (info.date_time, order, info)
                for _, _, info in newest.values():
                    try:
                        _copy_bounded(archive, info, Path(extracted_path) / info.filename, rules.max_notebook_bytes)
                    except (ArchiveRefused, OSError, zipfile.BadZipFile, EOFError, ValueError) as error:
                        self.log.warning("Skipped %s: %s", shown(info.filename), error)
