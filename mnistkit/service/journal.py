"""Every submission the service has seen, and what became of it: an SQLite file, ``service/journal.db``.

A row is written when a submission is noticed, before anything else happens to it, and changed
only in one transaction at each step (queued, grading, graded or failed; over limit and refused
at once). A restart reads it: what was graded is never graded again, what was queued or cut off
while grading is graded, and what is new in the exchange is noticed.
"""

import sqlite3
import time
from dataclasses import dataclass, fields

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT UNIQUE NOT NULL,      -- the exchange folder's name, or where in submitted/ and which version
    source TEXT NOT NULL,          -- 'exchange', 'submitted', or 'final' (the policy's choice graded again)
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,         -- a valid student id, or the shown name of a refused folder
    arrived REAL NOT NULL,         -- when its files arrived (seconds since 1970): the queue's order, the attempts
    noticed REAL NOT NULL,
    state TEXT NOT NULL,           -- queued, grading, graded, failed, over limit, refused, collected before
    attempt INTEGER DEFAULT 0,     -- which counted attempt of the period it is (0: not counted)
    started REAL,
    finished REAL,
    crashes INTEGER DEFAULT 0,     -- gradings of it that ended without a result
    score REAL,
    max_score REAL,
    seconds_late REAL,
    copy_of INTEGER,               -- for 'final': the submission graded again
    message TEXT DEFAULT ''
);
CREATE INDEX IF NOT EXISTS by_student ON submissions (assignment, student);
CREATE INDEX IF NOT EXISTS by_state ON submissions (state, arrived);
"""

WAITING = ("queued", "grading")
DONE = ("graded", "failed")


@dataclass
class Row:
    id: int
    key: str
    source: str
    assignment: str
    student: str
    arrived: float
    noticed: float
    state: str
    attempt: int
    started: float
    finished: float
    crashes: int
    score: float
    max_score: float
    seconds_late: float
    copy_of: int
    message: str


_COLUMNS = ", ".join(field.name for field in fields(Row))


def _storable(text):
    """``text`` as SQLite can store it: what a folder name held that is not text, written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class Journal:
    """The service's journal of one course (one service at a time writes it)."""

    def __init__(self, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=60)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.executescript(SCHEMA)
        self.keys = {key for (key,) in self.connection.execute("SELECT key FROM submissions")}

    def close(self):
        self.connection.close()

    def _rows(self, where="1", parameters=()):
        query = f"SELECT {_COLUMNS} FROM submissions WHERE {where} ORDER BY arrived, id"
        return [Row(*values) for values in self.connection.execute(query, parameters)]

    def add(self, key, source, assignment, student, arrived, state="queued", attempt=0, copy_of=None, message=""):
        """Record a newly noticed submission; return its row."""
        assignment, student, message = map(_storable, (assignment, student, message))
        with self.connection:
            cursor = self.connection.execute(
                "INSERT INTO submissions (key, source, assignment, student, arrived, noticed, state, attempt, copy_of, "
                "message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, source, assignment, student, arrived, time.time(), state, attempt, copy_of, message))
        self.keys.add(key)
        return self.get(cursor.lastrowid)

    def get(self, row_id):
        (row,) = self._rows("id = ?", (row_id,))
        return row

    def update(self, row_id, **values):
        values = {name: _storable(value) if isinstance(value, str) else value for name, value in values.items()}
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self.connection:
            self.connection.execute(f"UPDATE submissions SET {assignments} WHERE id = ?", (*values.values(), row_id))

    def in_state(self, *states):
        marks = ", ".join("?" * len(states))
        return self._rows(f"state IN ({marks})", states)

    def of_student(self, assignment, student):
        return self._rows("assignment = ? AND student = ?", (assignment, student))

    def counted_since(self, assignment, student, since):
        """The counted attempts of one student and assignment that arrived after ``since``."""
        return self._rows("assignment = ? AND student = ? AND attempt > 0 AND arrived > ?", (assignment, student, since))

    def recent_seconds(self, assignment, count=10):
        """How long the last ``count`` gradings of ``assignment`` took, in seconds."""
        return [finished - started for started, finished in self.connection.execute(
            "SELECT started, finished FROM submissions WHERE assignment = ? AND state IN ('graded', 'failed') "
            "AND started IS NOT NULL AND finished IS NOT NULL ORDER BY finished DESC LIMIT ?", (assignment, count))]

    def all(self):
        return self._rows()
