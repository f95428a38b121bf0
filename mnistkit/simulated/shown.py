"""What students are shown, and what they must never be: for checking releases and feedback."""

import html
import re

import nbformat

from mnistkit.nbgrader_plugins import marked_lines
from mnistkit.simulated.students import notebook_path


def secret_lines(course_dir, assignment, regions=("SOLUTION", "HIDDEN TESTS")):
    """Lines of the assignment's master notebook that only its ``### BEGIN/END <region>`` parts contain (see `marked_lines`)."""
    return marked_lines(nbformat.read(notebook_path(course_dir, "source", assignment), as_version=4).cells, regions)


def page_text(path):
    """The text of an HTML page, as a reader sees it."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def comparable_feedback(course_dir, student_id, assignment):
    """A feedback page's text without what differs between any two runs of the same grading: the
    course's path and the kernel's process id (both appear in tracebacks and warnings)."""
    page = notebook_path(course_dir, "feedback", assignment, student_id).with_suffix(".html")
    text = page_text(page).replace(str(course_dir), "<course>")
    return re.sub(r"ipykernel_\d+", "ipykernel_<pid>", text)
