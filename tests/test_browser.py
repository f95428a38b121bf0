"""What instructors, teaching assistants and students see, in a real browser.

One JupyterLab server (with nbgrader's Formgrader) serves one graded class for every test here,
and one headless Chromium (Debian's ``chromium``, driven by Playwright) looks at it:

- Formgrader lists the kit's grades; a teaching assistant's score and comment, typed into the
  page, reach the gradebook, ``grades.csv``, the report and the feedback, and survive later
  grading runs (a resubmission sets them aside, and says so);
- the class report as a web page (a screenshot is saved in the test's temporary folder);
- a student's notebook, run top to bottom in JupyterLab, and its Validate button;
- a student who put script in every part of a notebook a page shows: nothing of it runs in
  Formgrader (alone or in JupyterLab's panel), the feedback (from disk, served by Jupyter, in
  JupyterLab's viewer), the graded notebook in JupyterLab or the class report.

The tests run in file order: the manual-grading ones change the class's grades.
"""

import csv
import json
import shutil

import nbformat
import pytest

from mnistkit.course import nbgrader
from mnistkit.gradebook import open_gradebook
from mnistkit.local_servers import jupyter_lab_server
from mnistkit.simulated.independent_students import COPIED_PAIRS, SIMILARITY_CLASS
from mnistkit.simulated.mnist_numpy_students import TAMPERING, Student
from mnistkit.simulated.page_payloads import SCRIPTING_STUDENT, control_notebook
from mnistkit.simulated.students import DEMO_CLASS, PART1, PART2, build_submission, find_student, notebook_path, submit
from courses import new_course
from commands import run_kit
from pages import KERNEL_BUSY, KERNEL_IDLE, grade_by_hand, laid_out_formulas, open_submission, requests_leaving

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is in requirements.txt: run ./setup.sh")

CORRECT, PARTIAL, UNTOUCHED, PART2_CORRECT = DEMO_CLASS[0], DEMO_CLASS[1], DEMO_CLASS[2], DEMO_CLASS[3]
TAMPERER = find_student(TAMPERING, "tamper-edits-tests")[0]
BROKEN = Student("broken-file", "hands in a file that is not a notebook", raw=b'{"cells": [')
LATE = Student("latecomer", "hands in three days late")
TA_COMMENT = "Your loss sums over the batch; divide by the number of rows. One point for the idea."
WAIT = 120_000  # ms: bounds on a broken page, not speed requirements


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A class of part 1 graded by the class command: honest, independent, copying, tampering, broken, late;
    a student in the gradebook who never submitted; and one part-2 submission (so there is a course total)."""
    course = new_course(tmp_path_factory.mktemp("browser-course"))
    nbgrader(course, "db", "assignment", "add", PART1, "--duedate=2026-11-20 17:00:00 UTC")
    nbgrader(course, "db", "student", "add", "ghost", "--first-name=Never", "--last-name=Submitted")
    for student in [*SIMILARITY_CLASS, PARTIAL, TAMPERER, BROKEN, LATE, PART2_CORRECT, SCRIPTING_STUDENT]:
        submit(course, student)
    beside = notebook_path(course, "submitted", PART1, student_id=SCRIPTING_STUDENT.student_id).parent
    (beside / "page.html").write_text("<script>top.__pwned = ['handed-in-page']</script>")
    (notebook_path(course, "submitted", PART1, student_id=LATE.student_id).parent / "timestamp.txt").write_text(
        "2026-11-23 17:00:00 UTC")
    graded = run_kit(course)
    assert graded.returncode == 0, graded.stderr[-3000:]
    return course


@pytest.fixture(scope="module")
def server(course):
    with jupyter_lab_server(course) as (address, token):
        yield address, token


def logged_in_tab(browser, server):
    """A tab of a fresh browser context, logged in to the Jupyter server with its token (close its context)."""
    address, token = server
    tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    tab.set_default_timeout(WAIT)
    tab.goto(f"{address}/api/status?token={token}")  # the token login sets the session cookie
    return tab


@pytest.fixture
def page(browser, server):
    tab = logged_in_tab(browser, server)
    yield tab
    tab.context.close()


def submission_page(page, server, student):
    """Open ``student``'s graded part-1 notebook in Formgrader's manual-grading view, from the gradebook page."""
    address, _ = server
    return open_submission(page, address, f"{address}/formgrader", PART1, student)


def scores_in_gradebook(course, student, cell):
    """``(auto_score, manual_score, needs_manual_grade)`` of one part-1 cell of ``student``, from the gradebook."""
    with open_gradebook(course) as gradebook:
        grade = gradebook.find_grade(cell, PART1, PART1, student)
        return grade.auto_score, grade.manual_score, grade.needs_manual_grade


def manual_comment(course, student, cell):
    with open_gradebook(course) as gradebook:
        return gradebook.find_comment(cell, PART1, PART1, student).manual_comment


def grades_csv(course, student, assignment=PART1):
    with (course / "grades.csv").open(newline="") as file:
        return next(float(row["score"]) for row in csv.DictReader(file)
                    if row["student_id"] == student and row["assignment"] == assignment)


def feedback_text(course, student):
    """The words of ``student``'s part-1 feedback page, tags removed and spaces collapsed."""
    import html
    import re

    page = (course / "feedback" / student / PART1 / f"{PART1}.html").read_text()
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# ---------------------------------------------------------------------------
# Formgrader


def test_formgrader_lists_every_submission_with_the_kits_scores(course, server, page):
    from mnistkit.gradebook import read_grades

    address, _ = server
    page.goto(f"{address}/formgrader")
    page.wait_for_selector(f"table tbody tr:has-text('{PART1}')")
    assert page.inner_text(f"table tbody tr:has-text('{PART1}') td:nth-child(9)").strip() == "13"

    page.goto(f"{address}/formgrader/manage_submissions/{PART1}")
    page.wait_for_selector("table tbody tr td:has-text('graded')")
    rows = page.eval_on_selector_all("table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    shown = {row[1]: (row[3], row[4]) for row in rows}
    table = read_grades(course, PART1)
    # The file that is not a notebook was never autograded (it is in the gradebook with 0 points):
    # Formgrader says it needs autograding, and shows no score (the report says why it could not be).
    assert shown.pop(BROKEN.student_id) == ("needs autograding", "")
    assert shown == {student: ("graded", f"{table.total(student):g} / 20")
                     for student in table.scores if student != BROKEN.student_id}
    assert shown[PARTIAL.student_id] == ("graded", "15 / 20")


def test_formgrader_opens_inside_jupyterlab(server, page):
    address, _ = server
    page.goto(f"{address}/lab")
    page.click("li.lm-MenuBar-item:has-text('Nbgrader')")
    page.click("li.lm-Menu-item:has-text('Formgrader')")
    frame = page.frame_locator("iframe").first
    frame.locator(f"table tbody tr:has-text('{PART1}')").wait_for()
    assert frame.locator(f"table tbody tr:has-text('{PART2}')").count() == 1


def test_a_graded_notebook_shows_the_restored_cells_and_the_failed_checks(course, server, page, tmp_path):
    released = nbformat.read(notebook_path(course, "release", PART1), as_version=4)
    restored_line = next(c for c in released.cells if c.id == "softmax_values").source.splitlines()[0]
    # The tamperer replaced its softmax tests with 'pass': the teaching assistant sees the course's tests.
    text = submission_page(page, server, TAMPERER.student_id).inner_text("body")
    assert restored_line in text
    # A failed hidden check shows the message that says what was wrong.
    graded = nbformat.read(notebook_path(course, "autograded", PART1, student_id=PARTIAL.student_id), as_version=4)
    failure = next(output.evalue for cell in graded.cells if cell.id == "cross_entropy_values"
                   for output in cell.get("outputs", []) if output.output_type == "error")
    text = submission_page(page, server, PARTIAL.student_id).inner_text("body")
    assert failure.splitlines()[0] in text
    page.locator("input#cross_entropy_values").scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "formgrader-manual-grading.png")
    print(f"screenshot of Formgrader: {tmp_path / 'formgrader-manual-grading.png'}")


def test_formgrader_and_the_feedback_show_the_formulas_with_no_route_out(course, server, browser):
    address, _ = server
    tab = logged_in_tab(browser, server)
    try:
        left = requests_leaving(tab.context, address)
        submission_page(tab, server, PARTIAL.student_id)
        shown, raw = laid_out_formulas(tab)
        assert shown >= 8 and raw == []  # part 1's formulas, each laid out by the browser
        relative = f"feedback/{PARTIAL.student_id}/{PART1}/{PART1}.html"
        tab.goto((course / relative).as_uri())
        assert laid_out_formulas(tab) == (shown, [])
        # Jupyter serves a file only to a page of its own (Referer), such as JupyterLab's file browser.
        assert tab.goto(f"{address}/files/{relative}", referer=f"{address}/lab").ok
        assert laid_out_formulas(tab) == (shown, [])
        assert left == []  # no CDN: nothing was asked of any other server
    finally:
        tab.context.close()


# ---------------------------------------------------------------------------
# The class report as a web page


def test_the_report_page_has_what_an_instructor_needs_and_prints_cleanly(course, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((course / "reports" / "report.html").as_uri())
    screenshot = tmp_path / "report.png"
    page.screenshot(path=screenshot, full_page=True)
    print(f"screenshot of the report: {screenshot}")
    assert screenshot.read_bytes().startswith(b"\x89PNG")

    assert page.locator("h2", has_text="Course total").count() == 1
    totals = page.inner_text("table.totals")
    assert "demo-correct\t25\t–\t25" in totals and "demo-partial\t–\t15\t15" in totals

    part1 = page.locator(f"section#{PART1}")
    assert part1.locator("table.pass-rates tr").count() == 1 + 11  # a row per graded cell
    assert "cross_entropy_values\t2\t10 of 12\t" in part1.locator("table.pass-rates").inner_text()
    histogram = part1.locator("img.histogram")
    assert histogram.get_attribute("src").startswith("data:image/png;base64,")  # embedded: the page stands alone
    assert histogram.evaluate("img => img.complete && img.naturalWidth > 0")
    needs_a_look = part1.locator("table.needs-a-look").inner_text()
    assert "broken-file\tfailed\t0\t'mnist_numpy.ipynb' cannot be read as a notebook" in needs_a_look
    assert "tamper-edits-tests\tgraded\t7\tPut back 4 test or locked cell(s) whose code was changed" in needs_a_look
    assert "latecomer\t2026-11-23 17:00 UTC\t2026-11-20 17:00 UTC\t3 days\t20\t0\t20" in \
        part1.locator("table.late").inner_text()  # no late policy in this course: lateness costs nothing
    assert "No submission from: demo-correct, ghost." in part1.locator("ul.late-missing").inner_text()

    pairs = part1.locator(".pair h4").all_inner_texts()
    flagged = {frozenset(title.split(":")[0].split(" and ")) for title in pairs}
    # The planted copies, and the three students built from the reference solution (they are copies of it).
    from_the_reference = {PARTIAL.student_id, TAMPERER.student_id, LATE.student_id}
    assert flagged == COPIED_PAIRS | {frozenset((a, b)) for a in from_the_reference for b in from_the_reference if a < b}
    assert part1.locator(".pair mark").count() > 0

    links = part1.locator("a.feedback")
    assert links.count() == 12  # every graded submission; the broken file has no feedback
    with page.expect_navigation():
        part1.locator("tr:has-text('demo-partial') a.feedback").click()
    assert page.url.endswith(f"feedback/demo-partial/{PART1}/{PART1}.html")
    assert "Score: 15.0 / 20.0" in " ".join(page.inner_text("body").split())

    # Printed: no navigation bar, nothing wider than an A4 page, and a real PDF.
    page.goto((course / "reports" / "report.html").as_uri())
    page.emulate_media(media="print")
    assert page.locator("nav").evaluate("nav => getComputedStyle(nav).display") == "none"
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    assert page.evaluate("document.documentElement.scrollWidth") <= 794
    pdf = tmp_path / "report.pdf"
    page.pdf(path=pdf, format="A4")
    assert pdf.read_bytes().startswith(b"%PDF")
    page.close()


# ---------------------------------------------------------------------------
# Manual grading in Formgrader, and what later grading runs do with it


@pytest.fixture(scope="module")
def ta_edit(course, server, browser):
    """A teaching assistant gives demo-partial 1 of 2 points on cross_entropy_values and a comment, in Formgrader."""
    page = logged_in_tab(browser, server)
    submission_page(page, server, PARTIAL.student_id)
    grade_by_hand(page, "cross_entropy_values", 1, "cross_entropy_loss", TA_COMMENT)
    page.context.close()
    published = run_kit(course, command="report")
    assert published.returncode == 0, published.stderr[-3000:]
    return published.stdout


def test_a_score_and_comment_typed_in_formgrader_reach_the_gradebook_grades_report_and_feedback(course, ta_edit):
    auto, manual, _ = scores_in_gradebook(course, PARTIAL.student_id, "cross_entropy_values")
    assert (auto, manual) == (0, 1)
    assert manual_comment(course, PARTIAL.student_id, "cross_entropy_loss") == TA_COMMENT
    assert grades_csv(course, PARTIAL.student_id) == 16
    assert grades_csv(course, PARTIAL.student_id, "course total") == 16
    assert "| demo-partial | - | 16 | 16 |" in (course / "reports" / "report.md").read_text()  # the course total
    feedback = feedback_text(course, PARTIAL.student_id)
    assert TA_COMMENT in feedback and f"{PART1} (Score: 16.0 / 20.0)" in feedback
    assert "Grade cell: cross_entropy_values Score: 1.0 / 2.0" in feedback


def test_manual_grades_survive_regrading_others_skip_graded_and_the_same_submission(course, ta_edit):
    for arguments in ([PART1, "--student", "indep-2d"], ["--skip-graded"], [PART1, "--student", PARTIAL.student_id]):
        finished = run_kit(course, *arguments)
        assert finished.returncode == 0, finished.stderr[-3000:]
        auto, manual, needs_review = scores_in_gradebook(course, PARTIAL.student_id, "cross_entropy_values")
        assert (auto, manual) == (0, 1), arguments
        assert not needs_review, f"{arguments}: the same submission graded again needs no second review"
        assert manual_comment(course, PARTIAL.student_id, "cross_entropy_loss") == TA_COMMENT
        assert grades_csv(course, PARTIAL.student_id) == 16, arguments
    assert TA_COMMENT in feedback_text(course, PARTIAL.student_id)  # the regrade wrote the feedback again


def test_a_resubmission_sets_manual_grades_aside_and_says_so(course, server, page, ta_edit):
    import os
    import time

    path = submit(course, Student(PARTIAL.student_id, "resubmits the reference solution"))
    os.utime(path, (time.time() + 5, time.time() + 5))  # a new file, whatever the filesystem's clock resolution
    finished = run_kit(course, PART1, "--student", PARTIAL.student_id)
    assert finished.returncode == 0, finished.stderr[-3000:]
    auto, manual, needs_review = scores_in_gradebook(course, PARTIAL.student_id, "cross_entropy_values")
    assert (auto, manual, bool(needs_review)) == (2, None, True)
    assert manual_comment(course, PARTIAL.student_id, "cross_entropy_loss") is None
    assert grades_csv(course, PARTIAL.student_id) == 20
    record = json.loads((course / "grading" / PART1 / f"{PARTIAL.student_id}.json").read_text())
    said = " ".join(record["problems"])
    assert "Resubmitted after manual grading" in said and "cross_entropy_values: 1 by hand" in said
    assert TA_COMMENT in said, "nothing a teaching assistant wrote is lost"
    assert "Resubmitted after manual grading" in (course / "reports" / "report.md").read_text()
    # Formgrader asks for the review.
    address, _ = server
    page.goto(f"{address}/formgrader/gradebook/{PART1}/{PART1}")
    row = page.locator(f"table tbody tr:has(a:text-is('{PARTIAL.student_id}'))")  # hidden name, same row
    row.wait_for()
    assert row.locator("td:nth-child(7) .glyphicon-ok").count() == 1  # the "Needs Manual Grade?" column


# ---------------------------------------------------------------------------
# The student's side, in JupyterLab


def student_copy(course, name, notebook):
    """A student's folder inside the server's root: the release with ``notebook`` as theirs."""
    folder = course / "students" / name
    shutil.copytree(course / "release" / PART1, folder)
    nbformat.write(notebook, folder / f"{PART1}.ipynb")
    return folder


# The open notebook's kernel status (JupyterLab keeps one indicator per notebook it has open).


def open_in_lab(page, server, folder, course):
    """Open the student's notebook in JupyterLab, alone (``reset``: no tabs kept from an earlier test)."""
    address, _ = server
    page.goto(f"{address}/lab/tree/{folder.relative_to(course).as_posix()}/{PART1}.ipynb?reset")
    page.wait_for_selector(KERNEL_IDLE)


def run_all_cells(page):
    """*Run → Run All Cells*, until the kernel is seen busy (a click on a menu still opening can be lost)."""
    for attempt in range(3):
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            page.wait_for_selector(KERNEL_BUSY, timeout=WAIT // 4)
            return
        except playwright.Error:
            page.keyboard.press("Escape")  # a menu left open
    raise AssertionError("the kernel never became busy after Run All Cells, three times")


def test_the_released_notebook_runs_top_to_bottom_in_jupyterlab(course, server, page, tmp_path):
    folder = student_copy(course, "ada", build_submission(course, CORRECT))
    open_in_lab(page, server, folder, course)
    run_all_cells(page)
    page.wait_for_selector(KERNEL_IDLE, timeout=10 * WAIT)
    rendered = page.eval_on_selector_all(".jp-RenderedImage img", "imgs => imgs.filter(i => i.naturalWidth > 0).length")
    page.locator(".jp-RenderedImage img").last.scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "jupyterlab-student.png")
    print(f"screenshot of JupyterLab: {tmp_path / 'jupyterlab-student.png'}")
    page.keyboard.press("Control+s")
    page.wait_for_selector(".jp-mod-dirty", state="detached")

    ran = nbformat.read(folder / f"{PART1}.ipynb", as_version=4)
    code = [cell for cell in ran.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "every code cell ran"
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    visible_tests = [cell for cell in code if cell.id.endswith("_visible_tests")]
    assert len(visible_tests) >= 4
    for cell in visible_tests:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "passes the visible tests" in printed, cell.id
    plots = sum("image/png" in o.get("data", {}) for cell in code for o in cell.outputs)
    assert plots >= 3 and rendered >= 3


def test_validate_in_jupyterlab_lists_the_failing_cells_of_an_unfinished_notebook(course, server, page):
    folder = student_copy(course, "bo", build_submission(course, UNTOUCHED))
    open_in_lab(page, server, folder, course)
    page.click(".jp-Toolbar-item:has-text('Validate') >> visible=true")
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    dialog.get_by_text("The following cell failed").first.wait_for()
    said = dialog.inner_text()
    released = nbformat.read(notebook_path(course, "release", PART1), as_version=4)
    visible_tests = [cell.source.splitlines()[0] for cell in released.cells if cell.id.endswith("_visible_tests")]
    assert said.count("The following cell failed") >= len(visible_tests)  # and the cells that use the functions
    for first_line in visible_tests:  # each failing visible test is listed, with the error that stopped it
        assert first_line in said
    assert "NotImplementedError" in said


# ---------------------------------------------------------------------------
# Student content is shown, never run: the payloads of mnistkit/simulated/page_payloads.py


def pwned_files(course):
    """Files a payload that ran in the Jupyter server's origin wrote through its API (in the server's root)."""
    return sorted(path.name for path in course.glob("pwned-*.txt"))


def payloads_that_ran(page):
    """The payloads that recorded themselves in the page or any of its frames, once it has loaded."""
    page.wait_for_load_state("networkidle")
    ran = set()
    for frame in page.frames:
        try:
            ran.update(frame.evaluate("window.__pwned || []"))
        except playwright.Error:  # a frame that went away while loading
            pass
    return ran


def submission_id(course, student):
    with open_gradebook(course) as gradebook:
        return gradebook.find_submission_notebook(PART1, PART1, student).id


def test_the_payloads_run_where_a_page_does_not_make_them_inert(course, server, page, tmp_path):
    """The control: plain nbconvert's page runs them from disk, and a student file served in Jupyter's origin
    writes through the instructor's session, so the tests below would see a payload that ran."""
    from nbconvert import HTMLExporter

    plain = tmp_path / "plain.html"
    plain.write_text(HTMLExporter(template_name="classic").from_notebook_node(control_notebook())[0])
    page.goto(plain.as_uri())
    assert {"html-script", "html-img", "html-iframe", "markdown-output", "markdown-cell"} <= payloads_that_ran(page)

    address, _ = server
    graded = notebook_path(course, "autograded", PART1, student_id=SCRIPTING_STUDENT.student_id).parent
    shutil.copy(plain, graded / "control.html")
    try:
        page.goto(f"{address}/formgrader/submissions/{submission_id(course, SCRIPTING_STUDENT.student_id)}/control.html")
        page.wait_for_function("(window.__pwned || []).length > 0")
        page.wait_for_timeout(500)  # the API writes the payloads sent
        assert "pwned-html-script.txt" in pwned_files(course)
    finally:
        (graded / "control.html").unlink()
        for name in pwned_files(course):
            (course / name).unlink()


def test_formgrader_shows_the_scripting_students_notebook_inert(course, server, page):
    text = submission_page(page, server, SCRIPTING_STUDENT.student_id).inner_text("body")
    assert "payload html-script" in text and "onerror" in text  # shown as text
    assert payloads_that_ran(page) == set() and pwned_files(course) == []


def test_formgrader_inside_jupyterlab_shows_it_inert(course, server, page):
    address, _ = server
    page.goto(f"{address}/lab")
    page.click("li.lm-MenuBar-item:has-text('Nbgrader')")
    page.click("li.lm-Menu-item:has-text('Formgrader')")
    page.frame_locator("iframe").first.locator(f"table tbody tr:has-text('{PART1}')").wait_for()
    panel = next(frame for frame in page.frames if "/formgrader" in frame.url)
    panel.goto(f"{address}/formgrader/submissions/{submission_id(course, SCRIPTING_STUDENT.student_id)}/")
    panel.wait_for_selector("input.score")
    assert payloads_that_ran(page) == set() and pwned_files(course) == []


def test_a_handed_in_page_is_never_served_by_formgrader(course, server, page):
    address, _ = server
    response = page.goto(f"{address}/formgrader/submissions/{submission_id(course, SCRIPTING_STUDENT.student_id)}/page.html")
    assert response.status == 404
    assert payloads_that_ran(page) == set() and pwned_files(course) == []


def test_the_feedback_shows_it_inert_from_disk_served_by_jupyter_and_in_jupyterlab(course, server, page):
    address, _ = server
    relative = f"feedback/{SCRIPTING_STUDENT.student_id}/{PART1}/{PART1}.html"
    page.goto((course / relative).as_uri())
    assert "payload html-img" in page.inner_text("body")
    assert payloads_that_ran(page) == set()
    assert page.goto(f"{address}/files/{relative}", referer=f"{address}/lab").ok  # as from JupyterLab's file browser
    assert "payload html-img" in page.inner_text("body")
    assert payloads_that_ran(page) == set() and pwned_files(course) == []
    page.goto(f"{address}/lab/tree/{relative}")
    page.wait_for_selector(".jp-RenderedHTMLCommon, iframe")
    assert payloads_that_ran(page) == set() and pwned_files(course) == []


def test_the_graded_notebook_in_jupyterlab_and_the_report_are_inert(course, server, page):
    address, _ = server
    page.goto(f"{address}/lab/tree/autograded/{SCRIPTING_STUDENT.student_id}/{PART1}/{PART1}.ipynb")
    page.wait_for_selector(".jp-OutputArea-output:has-text('payload html-script')")
    assert payloads_that_ran(page) == set() and pwned_files(course) == []
    page.goto((course / "reports" / "report.html").as_uri())
    assert SCRIPTING_STUDENT.student_id in page.inner_text("body")
    assert payloads_that_ran(page) == set()
