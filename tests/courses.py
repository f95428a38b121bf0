"""Fresh course directories for the tests, made quickly (imported by them; pytest puts this folder on sys.path).

`mnistkit.course.new_course` runs ``nbgrader generate_assignment`` for every assignment, about
8 s. The tests make some twenty courses from the same sources, so the first one made in this
process is kept as a template: later courses get a copy of its releases and of its gradebook,
which is exactly what generate_assignment would have written again. A course whose
configuration puts the gradebook elsewhere (PostgreSQL) is generated for real.
"""

import atexit
import shutil
import tempfile
from pathlib import Path

from mnistkit import course as courses

_template = None


def new_course(destination, with_release=True, extra_config=""):
    """`mnistkit.course.new_course`, with its releases and gradebook copied from this process's template."""
    global _template
    destination = Path(destination)
    course = courses.new_course(destination, with_release=False, extra_config=extra_config)
    if not with_release:
        return course
    if "db_url" in extra_config:
        real = courses.Course(course)  # not SQLite beside the course: generate for real
        for assignment in real.assignments():
            real.generate_release(assignment)
        return course
    if _template is None:
        folder = tempfile.mkdtemp(prefix="course-template-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _template = courses.new_course(Path(folder) / "course")
    shutil.copytree(_template / "release", course / "release")
    shutil.copy2(_template / "gradebook.db", course / "gradebook.db")
    return course
