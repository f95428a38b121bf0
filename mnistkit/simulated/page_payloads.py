"""A student who puts script in everything a page shows of a notebook, for the pages' browser tests.

Every payload, where it runs, records its name in ``top.__pwned`` (or its own window's) and asks
the Jupyter server, with the logged-in user's cookie, to write a file ``pwned-<name>.txt`` in the
server's root: what an attacker would do with an instructor's session. A page is inert when
neither happens. The same payloads, rendered by plain nbconvert, do run (`control_notebook`),
which shows that the tests would see them.
"""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output, new_raw_cell

from mnistkit.simulated.students import PART1, SimulatedStudent, insert_after

# What each payload runs: it records itself, then writes a file through the Jupyter API.
SCRIPT = ("(function(tag){var w=window;try{w=window.top;w.document;}catch(e){w=window;}"
          "(w.__pwned=w.__pwned||[]).push(tag);var m=document.cookie.match(/_xsrf=([^;]+)/);"
          "fetch('/api/contents/pwned-'+tag+'.txt',{method:'PUT',credentials:'same-origin',"
          "headers:{'Content-Type':'application/json','X-XSRFToken':m?decodeURIComponent(m[1]):''},"
          "body:JSON.stringify({type:'file',format:'text',content:tag})}).catch(function(){});})")
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def run(tag):
    """JavaScript that runs payload ``tag``."""
    return f"{SCRIPT}('{tag}')"


def _attribute(tag):
    return run(tag).replace('"', "&quot;")


# (tag, MIME type, data) of each output payload.
OUTPUTS = [
    ("html-script", "text/html", f"<script>{run('html-script')}</script>"),
    ("html-img", "text/html", f'<img src="x" onerror="{_attribute("html-img")}">'),
    ("html-iframe", "text/html", f'<iframe srcdoc="<script>{_attribute("html-iframe")}</script>"></iframe>'),
    ("markdown-output", "text/markdown", f'<img src="x" onerror="{_attribute("markdown-output")}">'),
    ("javascript-output", "application/javascript", run("javascript-output")),
    ("svg-output", "image/svg+xml",
     f'<svg xmlns="http://www.w3.org/2000/svg" onload="{_attribute("svg-output")}"><rect width="1" height="1"/></svg>'),
    ("latex-output", "text/latex", f'$x$<img src="x" onerror="{_attribute("latex-output")}">'),
]
# An image whose metadata nbconvert writes into the <img> tag's attributes.
IMAGE_METADATA = ("png-metadata", {"image/png": {"width": f'1" onerror="{_attribute("png-metadata")}'}})
MARKDOWN_CELL = f'A note.\n\n<img src="x" onerror="{_attribute("markdown-cell")}">\n\n<script>{run("markdown-script")}</script>'
RAW_CELL = f"<script>{run('raw-cell')}</script>"
TITLE = f"</title><script>{run('notebook-title')}</script>"
PRINTED = f"<script>{run('printed')}</script>"

DISPLAY_CODE = f'''
# Shown by every page that shows this notebook: each payload, if it ran, would report itself.
from IPython.display import display
for tag, mime, data in {[(tag, mime, data) for tag, mime, data in OUTPUTS]!r}:
    display({{mime: data, "text/plain": "payload " + tag}}, raw=True)
display({{"image/png": {PNG!r}, "text/plain": "payload png-metadata"}}, raw=True, metadata={IMAGE_METADATA[1]!r})
print({PRINTED!r})
'''


def _plant(nb):
    insert_after(nb, "softmax", DISPLAY_CODE)
    nb.cells.insert(1, new_markdown_cell(MARKDOWN_CELL, id="student-note"))
    nb.cells.insert(2, new_raw_cell(RAW_CELL, metadata={"format": "text/html"}, id="student-raw"))
    softmax = next(cell for cell in nb.cells if cell.id == "softmax")  # a solution cell: kept as the student left it
    # (nbformat allows no comma in a tag: this payload only records itself)
    softmax.metadata["tags"] = ['x" onmouseover="(top.__pwned=top.__pwned||[]).push(&quot;cell-tag&quot;)']
    nb.metadata["title"] = TITLE
    return nb


# Its exercises are as released (so its code is like nobody's): the script is all it adds.
SCRIPTING_STUDENT = SimulatedStudent("scripting-student", "the release untouched, with script in outputs, Markdown, "
                                     "a raw cell, metadata and the title", untouched=True, edit=_plant, assignment=PART1)


def control_notebook():
    """A notebook holding every payload as outputs and cells, as plain nbconvert would render them unsanitized."""
    cell = new_code_cell("print('payloads')", id="payloads")
    cell.outputs = [new_output("display_data", data={mime: data, "text/plain": tag}) for tag, mime, data in OUTPUTS]
    cell.outputs.append(new_output("display_data", data={"image/png": PNG}, metadata=IMAGE_METADATA[1]))
    cell.outputs.append(new_output("stream", name="stdout", text=PRINTED))
    notebook = nbformat.v4.new_notebook(cells=[new_markdown_cell(MARKDOWN_CELL, id="note"), cell,
                                              new_raw_cell(RAW_CELL, metadata={"format": "text/html"}, id="raw")])
    notebook.metadata["title"] = TITLE
    return notebook


def every_tag():
    return sorted({tag for tag, _, _ in OUTPUTS} | {"png-metadata", "markdown-cell", "markdown-script", "raw-cell",
                                                    "notebook-title", "printed", "cell-tag"})

