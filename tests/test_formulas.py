"""The formulas of Formgrader's and the feedback pages, written as MathML (mnistkit/formulas.py)."""

import re

import nbformat
import pytest
from nbconvert import HTMLExporter
from traitlets.config.loader import PyFileConfigLoader

from mnistkit.course import COURSE_ROOT
from mnistkit.formulas import mathml
from mnistkit.simulated.students import PART1, PART2


def markdown_of(notebook):
    """nbconvert's HTML of ``notebook``'s Markdown cells with the course's nbgrader_config.py (the scripts and styles
    of nbgrader's own pages are checked in a browser: tests/test_browser.py, tests/test_hub.py)."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(COURSE_ROOT)).load_config()
    config.HTMLExporter.template_name = "basic"
    config.HTMLExporter.exclude_code_cell = True
    return HTMLExporter(config=config).from_notebook_node(notebook)[0]


@pytest.mark.parametrize("assignment", [PART1, PART2])
def test_every_formula_of_the_course_becomes_mathml(assignment):
    released = nbformat.read(COURSE_ROOT / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    markdown = "".join(cell.source for cell in released.cells if cell.cell_type == "markdown")
    formulas = len(re.findall(r"\$\$.+?\$\$|\$[^$\n]+\$", markdown, re.S))
    page = markdown_of(released)
    assert formulas >= 5 and page.count("<math ") == formulas and "\\frac" not in page


def test_markup_in_a_formula_is_text_or_left_as_its_source():
    assert mathml(r"\text{<img src=x onerror=alert(1)>}", display=False) is None
    assert mathml(r"\text{<b>bold</b>}", display=False) is None
    assert mathml(r"a < b", display=False).count("&lt;") == 1
    assert mathml(r"\frac{1}{n}", display=True).startswith('<math xmlns="http://www.w3.org/1998/Math/MathML"')


def test_dollars_in_code_stay_code():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "Price `$x$` and\n\n```text\n$\\frac{1}{2}$ <b>\n```\n\nbut $x^2$")])
    page = markdown_of(notebook)
    assert page.count("<math ") == 1 and "$\\frac{1}{2}$ &lt;b&gt;" in page and "<code>$x$</code>" in page
