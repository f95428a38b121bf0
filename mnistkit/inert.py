"""Student content made inert for every page that shows it; runs in the trusted grader, loaded by nbgrader.

Formgrader's manual-grading page and every feedback page are nbconvert's HTML of the graded
notebook in ``autograded/``, and nbconvert passes HTML, Markdown, SVG, JavaScript and output
metadata through as they are. So what a student's notebook and code put there is reduced, in
the graded notebook itself, to what can only be shown:

- outputs keep their text (``text/plain``, printed text, errors) and their PNG and JPEG images,
  checked to be base64 and nothing else; HTML, Markdown, SVG, LaTeX, JavaScript and widget outputs
  are replaced by their plain text, and output metadata is dropped;
- a Markdown or raw cell the student added or changed is shown as the text they typed, in a
  code block, without its attachments; the course's own Markdown cells stay as released;
- the notebook's metadata is the release's, and a cell keeps only nbgrader's own metadata.

Honest work keeps what it needs: printed output, plots (PNG) and the cells' code.
"""

import copy
import re

import nbformat
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor

from mnistkit.nbgrader_plugins import cell_key, released_notebook

IMAGE_TYPES = ("image/png", "image/jpeg")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")


def fenced(text):
    """``text`` as a Markdown code block that shows it exactly, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def inert_output(output):
    """A copy of one output holding only text and checked PNG or JPEG images."""
    kind = output.get("output_type")
    if kind == "stream":
        return new_output("stream", name="stderr" if output.get("name") == "stderr" else "stdout",
                          text=str(output.get("text", "")))
    if kind == "error":
        return new_output("error", ename=str(output.get("ename", "")), evalue=str(output.get("evalue", "")),
                          traceback=[str(line) for line in output.get("traceback", [])])
    if kind not in ("display_data", "execute_result"):
        return new_output("stream", name="stdout", text=f"[an output of type {str(kind)[:40]!r} is not shown]\n")
    data = output.get("data", {})
    kept = {mime: data[mime] for mime in IMAGE_TYPES
            if isinstance(data.get(mime), str) and _BASE64.fullmatch(data[mime])}
    text = data.get("text/plain")
    if isinstance(text, list):
        text = "".join(map(str, text))
    if isinstance(text, str):
        kept["text/plain"] = text
    elif not kept:
        others = ", ".join(sorted(str(mime)[:40] for mime in data)) or "nothing"
        kept["text/plain"] = f"[an output of type {others} is not shown]"
    if kind == "execute_result":
        count = output.get("execution_count")
        return new_output("execute_result", data=kept, execution_count=count if isinstance(count, int) else None)
    return new_output("display_data", data=kept)


class InertContent(NbGraderPreprocessor):
    """Reduce a graded notebook's student content to what pages can only show (see the module's docstring)."""

    def preprocess(self, nb, resources):
        released = nbformat.read(released_notebook(self.config, resources), as_version=nbformat.NO_CONVERT)
        released_cells = {cell_key(cell): cell for cell in released.cells}
        changed = []
        for cell in nb.cells:
            original = released_cells.get(cell_key(cell))
            if cell.cell_type == "code":
                cell.outputs = [inert_output(output) for output in cell.get("outputs", [])]
                count = cell.get("execution_count")
                cell.execution_count = count if isinstance(count, int) else None
            elif original is None or original.cell_type != cell.cell_type or original.source != cell.source:
                changed.append(cell_key(cell) or "?")
                cell.cell_type, cell.source = "markdown", fenced(str(cell.source))
                cell.pop("attachments", None)
            # nbgrader's own cell metadata (checked against its database) and nothing else: no tags,
            # which nbconvert writes into class attributes.
            own = cell.get("metadata", {}).get("nbgrader") if original is not None else None
            cell.metadata = {"nbgrader": own} if own else {}
        nb.metadata = copy.deepcopy(released.metadata)
        if changed:
            self.log.info("shown as plain text: %d Markdown or raw cell(s) the student added or changed", len(changed))
        return nb, resources
