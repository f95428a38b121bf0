"""A term against a deadline, graded by real nbgrader: the late policy, extensions and resubmissions.

One class of part 1 hands in before, at and after the due date, with and without extensions;
the class command grades it. Every student's raw score, penalty and final score must then be
the same in nbgrader's gradebook (what Formgrader reads), plain ``nbgrader export``, the kit's
``grades.csv``, the class report and the student's feedback; and stay so after a teaching
assistant changes a score and after an extension granted once grading is done.
"""

import csv
import datetime
import re
import subprocess
from dataclasses import dataclass

import pytest

from mnistkit.course import nbgrader
from mnistkit.gradebook import open_gradebook
from mnistkit.simulated.students import PART1, SEED_CROSS_ENTROPY, SimulatedStudent, submit
from commands import kit, run_kit
from courses import new_course

DUE = datetime.datetime(2026, 11, 20, 17, 0, tzinfo=datetime.timezone.utc)
POLICY = """
c.LatePolicy.penalty_per_day = 0.1
c.LatePolicy.floor = 0.5
c.LatePolicy.cutoff_days = 7
"""
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


@dataclass
class Case:
    student: str
    handed_in: datetime.timedelta  # after the due date
    raw: float
    penalty: float
    extension_days: float = 0
    partial: bool = False

    @property
    def final(self):
        return self.raw - self.penalty


# 10 % of the score per day or part of a day late, keeping at least half; nothing after 7 days.
CASES = [
    Case("early", -DAY, 20, 0),
    Case("on-the-dot", datetime.timedelta(0), 20, 0),
    Case("an-hour-late", HOUR, 20, 2),
    Case("two-days-and-an-hour", 2 * DAY + HOUR, 20, 6),  # three days begun
    Case("six-days-late", 6 * DAY, 20, 10),  # 60 %, but the floor keeps half
    Case("after-the-cutoff", 8 * DAY, 20, 20),
    Case("partial-an-hour-late", HOUR, 15, 1.5, partial=True),
    Case("extended", 2 * DAY, 20, 0, extension_days=3),
    Case("extended-not-enough", DAY + 2 * HOUR, 20, 2, extension_days=1),  # 2 hours after the extended date
]
GRANTED_LATER = Case("granted-after-grading", 2 * DAY, 20, 4)  # then 3 days granted: no penalty
RESUBMITTED = Case("resubmitted-late", 2 * HOUR, 20, 2)  # the last submission counts


def stamp(moment):
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def hand_in(course, case):
    answers = {"cross_entropy_loss": SEED_CROSS_ENTROPY} if case.partial else {}
    student = SimulatedStudent(case.student, case.student, assignment=PART1, answers=answers,
                               files={"timestamp.txt": stamp(DUE + case.handed_in)})
    submit(course, student)


def extend(course, student, days, reason="a documented illness"):
    return kit(course, "extend", PART1, student, "--days", days, "--reason", reason)


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("deadlines"), extra_config=POLICY)
    nbgrader(course, "db", "assignment", "add", PART1, f"--duedate={stamp(DUE)}")
    for case in CASES + [GRANTED_LATER]:
        hand_in(course, case)
        if case.extension_days:
            granted = extend(course, case.student, case.extension_days)
            assert granted.returncode == 0, granted.stderr
    # A resubmission: on time first, then again two hours late (nbgrader keeps the last).
    hand_in(course, Case(RESUBMITTED.student, -DAY, 0, 0))
    hand_in(course, RESUBMITTED)
    graded = run_kit(course)
    assert graded.returncode == 0, graded.stderr[-3000:]
    return course


def gradebook_scores(course):
    """``{student: (raw, penalty, seconds late)}`` as nbgrader's gradebook (and so Formgrader) holds them."""
    with open_gradebook(course) as gradebook:
        return {s.student.id: (s.score, s.late_submission_penalty, s.total_seconds_late)
                for s in gradebook.assignment_submissions(PART1)}


def exported(path):
    """``{student: (raw, penalty, final)}`` of a CSV written by nbgrader's exporter."""
    with path.open(newline="") as file:
        return {row["student_id"]: (float(row["raw_score"]), float(row["late_submission_penalty"]), float(row["score"]))
                for row in csv.DictReader(file) if row["assignment"] == PART1}


def plain_export(course, tmp_path):
    destination = tmp_path / "export.csv"
    nbgrader(course, "export", f"--to={destination}")
    return exported(destination)


def report_rows(course):
    """``{student: (raw, penalty, final)}`` from the report's deadline table of part 1."""
    text = (course / "reports" / "report.md").read_text()
    section = text.split(f"## {PART1}", 1)[1].split("### Deadline", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) >= 7 and re.fullmatch(r"[0-9.]+", cells[4] or "x"):
            rows[cells[0]] = (float(cells[4]), float(cells[5]), float(cells[6]))
    return rows, section


def feedback_penalty(course, student):
    page = (course / "feedback" / student / PART1 / f"{PART1}.html").read_text()
    found = re.search(r"Late submission penalty \(Score: -([0-9.]+)\)", page)
    return float(found.group(1)) if found else 0.0


def expected(cases):
    return rounded({case.student: (case.raw, case.penalty, case.final) for case in cases})


def rounded(scores):
    """``{student: (raw, penalty, final)}`` to the micro-point, so that float sums compare."""
    return {student: tuple(round(value, 6) for value in values) for student, values in scores.items()}


EVERY_CASE = CASES + [GRANTED_LATER, RESUBMITTED]


def test_each_student_gets_the_policys_penalty_in_the_gradebook(term):
    found = gradebook_scores(term)
    for case in EVERY_CASE:
        raw, penalty, late = found[case.student]
        assert (raw, penalty) == pytest.approx((case.raw, case.penalty)), case
        assert (late > 0) == (case.penalty > 0), case  # on time with an extension is not late at all


def test_nbgraders_export_grades_csv_the_report_and_the_feedback_agree(term, tmp_path):
    assert rounded(plain_export(term, tmp_path)) == expected(EVERY_CASE)
    assert rounded(exported(term / "grades.csv")) == expected(EVERY_CASE)
    rows, section = report_rows(term)
    late_or_extended = [case for case in EVERY_CASE if case.penalty or case.extension_days]
    assert rounded(rows) == expected(late_or_extended)
    assert "loses 10% of its score for each day or part of a day late, keeping at least 50%" in section
    assert "more than 7 day(s) late gets no points" in section
    assert "3 day(s): a documented illness" in section
    for case in EVERY_CASE:
        assert feedback_penalty(term, case.student) == pytest.approx(case.penalty), case


def test_the_course_total_counts_the_final_score(term):
    with (term / "grades.csv").open(newline="") as file:
        totals = {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)
                  if row["assignment"] == "course total"}
    for case in EVERY_CASE:
        assert totals[case.student] == pytest.approx(case.final)


def test_plain_nbgrader_autograde_counts_the_extension_too(term):
    regraded = subprocess.run(["nbgrader", "autograde", PART1, "--student", "extended-not-enough", "--force"],
                              cwd=term, capture_output=True, text=True)
    assert regraded.returncode == 0, regraded.stderr[-3000:]
    raw, penalty, late = gradebook_scores(term)["extended-not-enough"]
    assert (raw, penalty) == (20, 2) and late == pytest.approx(2 * 3600)


def test_an_extension_granted_after_grading_and_a_changed_score_settle_on_report(term, tmp_path):
    granted = extend(term, GRANTED_LATER.student, 3, reason="the exchange was down on the due day")
    assert granted.returncode == 0, granted.stderr
    assert "run python -m mnistkit report" in granted.stdout
    with open_gradebook(term) as gradebook:  # as Formgrader saves a teaching assistant's score
        grade = gradebook.find_grade("cross_entropy_values", PART1, PART1, "partial-an-hour-late")
        grade.manual_score = grade.max_score
        gradebook.db.commit()
    reported = run_kit(term, command="report")
    assert reported.returncode == 0, reported.stderr[-3000:]
    changed = {GRANTED_LATER.student: (20, 0, 20), "partial-an-hour-late": (17, 1.7, 15.3)}
    for scores in (plain_export(term, tmp_path), exported(term / "grades.csv"), report_rows(term)[0]):
        assert {student: values for student, values in rounded(scores).items() if student in changed} == changed
    assert feedback_penalty(term, GRANTED_LATER.student) == 0
    assert feedback_penalty(term, "partial-an-hour-late") == pytest.approx(1.7)


@pytest.mark.parametrize("arguments, words", [
    (["no_such_part", "early", "--days", "1", "--reason", "x"], "there is no assignment 'no_such_part'"),
    ([PART1, "../escape", "--days", "1", "--reason", "x"], "is not a valid student id"),
    ([PART1, "early", "--days", "-1", "--reason", "x"], "zero hours or more"),
    ([PART1, "early", "--days", "1"], "say why the extension is granted"),
    ([PART1, "early", "--until", "2026-11-19 12:00 UTC", "--reason", "x"], "is not after"),
    ([PART1, "early", "--until", "next week", "--reason", "x"], "not a date"),
])
def test_an_extension_that_cannot_be_granted_is_refused_in_words(term, arguments, words):
    refused = kit(term, "extend", *arguments)
    assert refused.returncode != 0 and words in refused.stderr and "Traceback" not in refused.stderr


def test_a_late_policy_that_makes_no_sense_is_refused_in_words(tmp_path):
    course = new_course(tmp_path / "course", extra_config="c.LatePolicy.penalty_per_day = 10")
    refused = run_kit(course)
    assert refused.returncode != 0 and "LatePolicy.penalty_per_day is a share between 0 and 1" in refused.stderr
    assert "Traceback" not in refused.stderr


# ---------------------------------------------------------------------------
# Grades for the LMS (after the changes above: these are the term's final scores)

FINAL = {**{case.student: case.final for case in EVERY_CASE}, GRANTED_LATER.student: 20, "partial-an-hour-late": 15.3}
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mnist_numpy (4711)", "Current Points",
                 "Final Points"]  # as Canvas's "Export Entire Gradebook" writes them
MOODLE_HEADER = ["First name", "Last name", "ID number", "Institution", "Department", "Email address",
                 "Assignment: mnist_numpy (Real)", "Course total (Real)", "Last downloaded from this course"]


def write_csv(path, header, rows):
    path.parent.mkdir(exist_ok=True)
    with path.open("w", newline="") as file:
        csv.writer(file).writerows([header, *rows])


def canvas_roster(course, students):
    rows = [["    Points Possible", "", "", "", "", "20", "(read only)", "(read only)"]]
    rows += [[f"Student, {s}", str(1000 + n), f"S{n:04d}", s, "MNIST 1", "", "", ""] for n, s in enumerate(students)]
    rows.append(["Auditor, Ann", "9999", "S9999", "ann.auditor", "MNIST 1", "", "", ""])  # in Canvas, not in nbgrader
    write_csv(course / "lms" / "canvas_roster.csv", CANVAS_HEADER, rows)


def read_csv(path):
    with path.open(newline="") as file:
        return list(csv.reader(file))


def test_canvas_gets_each_final_score_and_the_total_in_its_import_layout(term):
    canvas_roster(term, sorted(FINAL))
    written = kit(term, "lms", "canvas")
    assert written.returncode == 0, written.stderr
    assert "Left blank, not in nbgrader's gradebook: Auditor, Ann." in written.stdout
    header, points, *rows = read_csv(term / "lms" / "canvas_grades.csv")
    # Canvas's identity columns; the assignment Canvas has keeps its id; part 2 is new to Canvas; the total.
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mnist_mlp", "mnist_numpy (4711)",
                      "Final Points"]
    assert points == ["    Points Possible", "", "", "", "", "25", "20", "45"]
    by_login = {row[3]: row for row in rows}
    for student, final in FINAL.items():
        assert by_login[student][5:] == ["0", f"{final:g}", f"{final:g}"], student
    assert by_login["ann.auditor"][5:] == ["", "", ""]  # left alone in Canvas
    assert all(re.fullmatch(r"\d+(\.\d{1,2})?", cell) for row in rows for cell in row[5:] if cell)


def test_moodle_gets_each_final_score_and_the_total_in_its_import_layout(term):
    rows = [[s.split("-")[0], "Student", s, "Uni", "CS", f"{s}@example.org", "", "", ""] for s in sorted(FINAL)]
    write_csv(term / "lms" / "moodle_roster.csv", MOODLE_HEADER, rows)
    written = kit(term, "lms", "moodle")
    assert written.returncode == 0, written.stderr
    header, *rows = read_csv(term / "lms" / "moodle_grades.csv")
    assert header == ["First name", "Last name", "ID number", "Institution", "Department", "Email address",
                      "mnist_mlp", "mnist_numpy", "Course total"]
    assert {row[2]: row[6:] for row in rows} == {s: ["0", f"{f:g}", f"{f:g}"] for s, f in FINAL.items()}


def test_a_student_the_lms_roster_lacks_stops_the_export_and_is_named(term, tmp_path):
    roster = tmp_path / "canvas_roster.csv"
    write_csv(roster, CANVAS_HEADER, [[f"Student, {s}", "1", "S1", s, "MNIST 1", "", "", ""]
                                      for s in sorted(FINAL) if s != "early"])
    before = (term / "lms" / "canvas_grades.csv").read_bytes() if (term / "lms" / "canvas_grades.csv").exists() else b""
    refused = kit(term, "lms", "canvas", "--roster", roster)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "1 student(s) of nbgrader's gradebook have no row" in refused.stderr and ": early." in refused.stderr
    after = (term / "lms" / "canvas_grades.csv").read_bytes() if (term / "lms" / "canvas_grades.csv").exists() else b""
    assert after == before  # nothing written
