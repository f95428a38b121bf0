"""What the browser tests do on Jupyter's pages, whichever server serves them (imported by the tests)."""

KERNEL_IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle'] >> visible=true"
KERNEL_BUSY = ".jp-Notebook-ExecutionIndicator[data-status='busy'] >> visible=true"


def open_submission(page, address, formgrader, assignment, student):
    """Open ``student``'s graded notebook ``assignment`` in Formgrader's manual-grading view, from the gradebook
    page (``formgrader``: its address, such as ``<address>/formgrader``)."""
    page.goto(f"{formgrader}/gradebook/{assignment}/{assignment}")
    # Formgrader lists submissions anonymously ("Submission #3"); the link under the hidden name is the same.
    link = page.locator(f"table tbody tr td a:text-is('{student}')")
    page.goto(address + link.get_attribute("href"))
    page.wait_for_selector("input.score")
    return page


def grade_by_hand(page, cell, score, comment_cell, comment):
    """Type a score over the autograder's for ``cell`` and a comment on ``comment_cell``, as a teaching assistant
    does in the open manual-grading view; each is saved when the field is left."""
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
        page.fill(f"input#{cell}", str(score))
        page.keyboard.press("Tab")
    assert saved.value.ok
    with page.expect_response(lambda r: "/formgrader/api/comment/" in r.url and r.request.method == "PUT") as saved:
        page.fill(f"textarea#{comment_cell}-comment", comment)
        page.keyboard.press("Tab")
    assert saved.value.ok


def requests_leaving(context, origin):
    """Abort every request of browser ``context`` that goes anywhere but ``origin`` (a page's own server, or files
    on disk) and list them: a page that shows what it should with this has no route out."""
    left = []

    def handle(route):
        url = route.request.url
        if url.startswith((f"{origin}/", "file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            left.append(url)
            route.abort()

    context.route("**/*", handle)
    return left


def laid_out_formulas(page):
    """How many MathML formulas ``page`` (or frame) lays out, and the page text that is left looking like LaTeX."""
    import re

    formulas = page.locator("math")
    shown = sum(1 for index in range(formulas.count()) if (formulas.nth(index).bounding_box() or {}).get("width"))
    raw = re.findall(r"\$[^$\n]*\\[a-z]+[^$\n]*\$", page.locator("body").inner_text())
    return shown, raw
