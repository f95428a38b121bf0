"""What the intake accepts: student ids, names, and the limits an instructor sets in ``nbgrader_config.py``."""

import re

from traitlets import Integer
from traitlets.config import LoggingConfigurable

# A student id starts with a letter or a digit and holds only letters, digits and . _ @ + -
# (so no path separator, no "..", no glob character, no markup, no leading "-" that a command
# would read as an option), at most 64 of them.
STUDENT_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.@+-]{0,63})")
STUDENT_ID_RULE = ("a student id starts with a letter or a digit and holds at most 64 letters, digits "
                   "and the characters . _ @ + - (no '..')")


def student_id_problem(student_id):
    """Why ``student_id`` cannot be used as a student id, or None when it can."""
    if not isinstance(student_id, str) or not STUDENT_ID.fullmatch(student_id) or ".." in student_id:
        return f"{shown(student_id)} is not a valid student id: {STUDENT_ID_RULE}"
    return None


def shown(name, limit=80):
    """A name that came from a student, safe to print or put in a record: quoted, escaped, bounded."""
    text = repr(str(name))
    return text if len(text) <= limit else text[:limit - 4] + "...'"


class Intake(LoggingConfigurable):
    """Limits of what a submission may hold (``c.Intake.<name>`` in nbgrader_config.py)."""

    max_notebook_mb = Integer(
        20, help="Largest notebook file taken in, in MiB (the released notebooks with all their plots are under 1 MiB)"
    ).tag(config=True)
    max_cells = Integer(
        1000, help="Most cells a submitted notebook may hold (the released notebooks hold under 100)"
    ).tag(config=True)
    max_archive_members = Integer(
        100_000, help="Most entries an archive from a learning-management system may hold"
    ).tag(config=True)
    max_compression_ratio = Integer(
        200, help="Largest ratio of a notebook's size to its compressed size in an archive (a notebook compresses "
                  "about 3 to 10 times)"
    ).tag(config=True)

    @property
    def max_notebook_bytes(self):
        return self.max_notebook_mb * 2**20
