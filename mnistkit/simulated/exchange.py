"""Students of a course handing in and fetching feedback through nbgrader's own exchange, on one machine.

Each student has a home folder of their own (their copy of the assignment and nbgrader's cache of
their submissions). `hand_in` runs nbgrader's own submit code in this process (the command
``nbgrader submit`` runs the same class), so a burst of submissions takes a fraction of a second
each; `fetch_feedback` runs the real ``nbgrader fetch_feedback`` command.
"""

import subprocess
from pathlib import Path

import nbformat

from mnistkit.course import Course
from mnistkit.simulated.students import build_submission, notebook_path


class ExchangeClass:
    """Students of ``course`` using the exchange at ``exchange``, their homes under ``homes``."""

    def __init__(self, course, exchange, homes):
        self.course = Course.of(course)
        self.exchange = Path(exchange)
        self.homes = Path(homes)
        self.course_id = self.course.config.CourseDirectory.course_id

    def home(self, student_id):
        return self.homes / student_id

    def _config(self, student_id, assignment):
        from traitlets.config import Config

        home = self.home(student_id)
        config = Config()
        config.Exchange.root = str(self.exchange)
        config.Exchange.cache = str(home / "nbgrader_cache")
        config.Exchange.assignment_dir = str(home)
        config.CourseDirectory.root = str(home)
        config.CourseDirectory.course_id = self.course_id
        config.CourseDirectory.assignment_id = assignment
        config.CourseDirectory.student_id = student_id
        return config

    def hand_in(self, student_id, student, notebook=None):
        """``student_id`` submits the work of ``student`` (a `SimulatedStudent`) with nbgrader's submit."""
        from nbgrader.auth import Authenticator
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.exchange.default.submit import ExchangeSubmit

        name = notebook_path(self.course, "release", student.assignment).name
        folder = self.home(student_id) / student.assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook if notebook is not None else build_submission(self.course, student), folder / name)
        config = self._config(student_id, student.assignment)
        ExchangeSubmit(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config),
                       config=config).start()

    def submissions(self, student_id, assignment):
        """The student's submissions in nbgrader's cache, oldest first: ``[(timestamp, folder)]``."""
        cache = self.home(student_id) / "nbgrader_cache" / self.course_id
        found = [(path.name.split("+")[2], path) for path in cache.glob(f"{student_id}+{assignment}+*")]
        return sorted(found)

    def fetch_feedback(self, student_id, assignment):
        """``nbgrader fetch_feedback`` as the student; ``{timestamp: page text}`` of what they have then."""
        home = self.home(student_id)
        subprocess.run(["nbgrader", "fetch_feedback", assignment, f"--course={self.course_id}",
                        f"--student={student_id}", f"--Exchange.root={self.exchange}",
                        f"--Exchange.cache={home / 'nbgrader_cache'}", f"--Exchange.assignment_dir={home}"],
                       cwd=home, check=True, capture_output=True, text=True)
        return {page.parent.name: page.read_text() for page in (home / assignment / "feedback").glob("*/*.html")}

    def released_page(self, student_id, assignment, timestamp):
        """The page released in the exchange for one submission (as ``fetch_feedback`` finds it), or None."""
        from nbgrader.utils import notebook_hash

        folder = dict(self.submissions(student_id, assignment))[timestamp]
        secret = (folder / "submission_secret.txt").read_text()
        name = notebook_path(self.course, "release", assignment).stem
        page = self.exchange / self.course_id / "feedback" / f"{notebook_hash(secret=secret, notebook_id=name)}.html"
        return page.read_text() if page.exists() else None
