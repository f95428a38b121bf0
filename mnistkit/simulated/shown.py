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
