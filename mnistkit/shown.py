"""What students are shown, and what they must never be: for checking releases and feedback."""

import html
import re

import nbformat

from mnistkit.students import notebook_path


def secret_lines(course_dir, regions=("SOLUTION", "HIDDEN TESTS")):
    """Lines of the master notebook that only its ``### BEGIN/END <region>`` parts contain.

    Short lines, imports and lines that also appear outside those parts prove nothing and are left out.
    """
    master = nbformat.read(notebook_path(course_dir, "source"), as_version=4)
    secrets, public = set(), set()
    for cell in master.cells:
        inside = None
        for line in cell.source.splitlines():
            marker = re.search(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)", line)
            if marker:
                inside = marker.group(2) if marker.group(1) == "BEGIN" else None
            elif inside in regions:
                secrets.add(line.strip())
            elif inside is None:
                public.add(line.strip())
    return {line for line in secrets - public if len(line) > 12 and not line.startswith(("import ", "from "))}


def page_text(path):
    """The text of an HTML page, as a reader sees it."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))
