"""The class report: what the class got right and wrong, and whose grading needs a look.

One report for the whole course, in two forms made from the same facts (`ReportFacts`):

- ``reports/report.md``: the course totals, then a section per assignment, with its score
  histogram beside it (``reports/<assignment>/scores.png``);
- ``reports/report.html``: the same as one self-contained web page (the charts are embedded,
  so the file can be mailed or archived alone), with a link to each student's feedback page and
  the matching code of similar submissions side by side. It prints cleanly.
"""

import base64
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mnistkit import deadlines
from mnistkit.course import Course
from mnistkit.gradebook import open_gradebook, read_grades

REPORTS_DIR = "reports"
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class AssignmentFacts:
    """Everything the report says about one assignment."""

    name: str
    table: object  # the assignment's GradeTable
    outcomes: dict  # student -> Outcome
    graded: list
    failed: list
    waiting: list
    unconfined: list
    passed: dict  # graded cell -> how many graded students got all its points
    flagged: list  # (student, Outcome) of submissions that need a look
    missing: list  # students in the gradebook without a submission
    histogram: Path
    feedback: dict  # student -> path of their feedback page, relative to reports/
    similar: list = field(default_factory=list)  # similarity.SimilarPair s above the threshold
    refused: list = field(default_factory=list)  # (shown folder name, why) of folders of submitted/ not graded
    similarity_notes: list = field(default_factory=list)
    lateness: dict = field(default_factory=dict)  # student -> deadlines.Lateness
    due: object = None  # the due date (UTC), or None
    policy: str = ""  # the late policy, in words

    @property
    def totals(self):
        return [self.table.total(student) for student in self.graded]

    def share_passed(self, cell):
        return self.passed[cell] / len(self.graded) if self.graded else 0.0

    def score(self, student):
        return f"{self.table.total(student):g}" if student in self.table.scores else "-"

    def final(self, student):
        """``student``'s score after the late penalty (0 without a submission)."""
        lateness = self.lateness.get(student)
        return lateness.final if lateness else 0.0

    @property
    def deadline_rows(self):
        """The `Lateness` of every submission that was late or had an extension, by student."""
        return [self.lateness[s] for s in sorted(self.lateness) if self.lateness[s].seconds_late > 0
                or self.lateness[s].extension]

    @property
    def deadline_line(self):
        if self.due is None:
            return (f"No due date is set, so nothing is late (nbgrader db assignment add {self.name} "
                    "--duedate=...).")
        return (f"Due {self.due:%Y-%m-%d %H:%M} UTC. {self.policy} The last submission counts: one handed in "
                "after the due date is late, even after an earlier one on time.")

    @property
    def counts(self):
        return (f"{self.name}: {len(self.outcomes)} submissions: {len(self.graded)} graded, "
                f"{len(self.failed)} could not be graded (recorded with 0 points)"
                + (f", {len(self.waiting)} not graded yet." if self.waiting else "."))

    @property
    def scores_line(self):
        totals = self.totals
        if not totals:
            return ""
        return (f"Scores out of {self.table.max_total:g}: mean {statistics.mean(totals):.1f}, median "
                f"{statistics.median(totals):g}, lowest {min(totals):g}, highest {max(totals):g}.")


def missing_students(course, submitted):
    """The gradebook's students with no submission among ``submitted``."""
    with open_gradebook(course) as gradebook:
        return sorted(student.id for student in gradebook.students if student.id not in submitted)


def moment(when):
    return f"{when:%Y-%m-%d %H:%M} UTC" if when is not None else "-"


def late_words(lateness):
    """How late, as a person says it: ``on time``, ``2.0 hours``, ``3 days``, ``2 days 1.0 hours``."""
    if lateness.seconds_late <= 0:
        return "on time"
    days, hours = divmod(lateness.seconds_late / 3600, 24)
    if not days:
        return f"{hours:.1f} hours"
    return f"{days:.0f} days" + (f" {hours:.1f} hours" if round(hours, 1) else "")


def _histogram(totals, max_total, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(7, 3.5))
    axes.hist(totals, bins=range(0, int(max_total) + 2), color="#4477aa", edgecolor="white", align="left")
    axes.set_xlabel(f"score (out of {max_total:g})")
    axes.set_ylabel("students")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def assignment_facts(course, assignment, outcomes, similarity=True):
    """Gather the report's facts about ``assignment`` of ``course`` (a `Course`), and draw its histogram."""
    from mnistkit.records import refused_folders

    table = read_grades(course, assignment)
    graded = sorted(s for s, o in outcomes.items() if o.status == "graded" and s in table.scores)
    facts = AssignmentFacts(
        name=assignment, table=table, outcomes=outcomes, graded=graded,
        failed=sorted(s for s, o in outcomes.items() if o.status == "failed"),
        waiting=sorted(s for s, o in outcomes.items() if o.status not in ("graded", "failed")),
        unconfined=sorted(s for s, o in outcomes.items() if any("graded unconfined" in p.lower() for p in o.problems)),
        passed={name: sum(table.scores[s].get(name, 0) >= points for s in graded) for name, points in table.cells},
        flagged=sorted((s, o) for s, o in outcomes.items() if o.status != "graded" or o.problems),
        missing=missing_students(course, set(outcomes)), histogram=course.root / REPORTS_DIR / assignment / "scores.png",
        feedback={}, lateness=deadlines.settle(course, assignment, write=False),
        due=deadlines.due_date(course, assignment), policy=deadlines.policy_words(deadlines.course_policy(course)),
    )
    facts.refused = refused_folders(course, assignment)
    _histogram(facts.totals, table.max_total, f"{assignment}: scores of {len(graded)} graded submissions",
               facts.histogram)
    for student in outcomes:
        pages = [course.folder("feedback", assignment, student) / f"{name}.html" for name in course.notebooks(assignment)]
        if pages and pages[0].exists():
            facts.feedback[student] = str(pages[0].relative_to(course.root).as_posix())
    if similarity and len(outcomes) > 1:
        from mnistkit.similarity import similar_pairs

        facts.similar, facts.similarity_notes = similar_pairs(course, assignment)
    return facts


# ---------------------------------------------------------------------------
# Markdown


def _markdown_text(text):
    """Text from a student (a folder's name) shown as text in Markdown: no markup, no table cell break."""
    import html

    return html.escape(text, quote=False).replace("|", "&#124;").replace("`", "&#96;").replace("*", "&#42;").replace("_", "&#95;")


def _markdown_section(facts):
    lines = [f"## {facts.name}", "", facts.counts]
    if facts.unconfined:
        lines.append(f"**Graded unconfined:** {len(facts.unconfined)} submission(s) were graded without the sandbox "
                     f"(--no-sandbox): their code ran with the grader's rights ({', '.join(facts.unconfined)}).")
    if facts.scores_line:
        lines.append(facts.scores_line)
    lines += ["", "### Which checks the class passed", "", "| graded cell | points | passed | share |", "|---|---|---|---|"]
    for name, points in facts.table.cells:
        lines.append(f"| `{name}` | {points:g} | {facts.passed[name]} of {len(facts.graded)} | "
                     f"{facts.share_passed(name):.0%} |")
    lines += ["", "### Score distribution", "", f"![scores of {facts.name}]({facts.name}/scores.png)", ""]
    lines += ["### Submissions that need a look", ""]
    if facts.flagged or facts.refused:
        lines += ["| student | status | score | what happened |", "|---|---|---|---|"]
        for student, outcome in facts.flagged:
            reasons = " ".join(outcome.problems) or outcome.status
            lines.append(f"| {student} | {outcome.status} | {facts.score(student)} | {reasons.replace('|', '/')} |")
        for folder, why in facts.refused:
            lines.append(f"| {_markdown_text(folder)} | not graded | - | The folder in submitted/ is not a student's: "
                         f"{_markdown_text(why)}. |")
    else:
        lines.append("None: every submission was graded without incident.")
    lines += ["", "### Deadline, late and missing submissions", "", facts.deadline_line, ""]
    if facts.deadline_rows:
        lines += ["| student | submitted | due for them | late by | raw score | penalty | final score | extension |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in facts.deadline_rows:
            extension = _markdown_text(row.extension.in_words) if row.extension else ""
            lines.append(f"| {row.student_id} | {moment(row.submitted)} | {moment(row.due)} | {late_words(row)} | "
                         f"{row.raw:g} | {row.penalty:g} | {row.final:g} | {extension} |")
    else:
        lines.append("- No late submissions and no extensions.")
    if facts.missing:
        lines.append(f"\n- No submission from: {', '.join(facts.missing)}.")
    lines += ["", "### Similar code", ""]
    if facts.similar:
        lines += ["Pairs whose own code (the solution cells, the template left out) is this similar are rarely "
                  "independent work; the web page (`report.html`) shows the matching code side by side.", "",
                  "| students | share of the first's code | share of the second's code |", "|---|---|---|"]
        lines += [f"| {pair.student_a} and {pair.student_b} | {pair.similarity_a:.0%} | {pair.similarity_b:.0%} |"
                  for pair in facts.similar]
    else:
        lines.append("No pair of submissions is similar enough to need a look.")
    lines += [f"- {note}" for note in facts.similarity_notes]
    lines.append("")
    return lines


def _short_summary(facts):
    short = [facts.counts] + ([facts.scores_line] if facts.scores_line else [])
    if facts.graded:
        hardest = sorted(facts.table.cells, key=lambda cell: facts.passed[cell[0]])[:3]
        short.append("Least passed: " + ", ".join(f"{name} ({facts.passed[name]}/{len(facts.graded)})"
                                                  for name, _ in hardest))
    for student, outcome in facts.flagged:
        short.append(f"  {student} [{outcome.status}]: {' '.join(outcome.problems) or outcome.status}")
    for pair in facts.similar:
        short.append(f"  similar code: {pair.student_a} and {pair.student_b} "
                     f"({pair.similarity_a:.0%} / {pair.similarity_b:.0%})")
    return short


def course_totals(sections):
    """``(students, rows)``: each student's final score per assignment (None: no submission) and their total."""
    students = sorted({student for facts in sections for student in facts.table.scores})
    rows = []
    for student in students:
        scores = [facts.final(student) if student in facts.table.scores else None for facts in sections]
        rows.append((student, scores, sum(score or 0 for score in scores)))
    return rows


def _markdown_totals(sections):
    maximum = sum(facts.table.max_total for facts in sections)
    lines = ["| student | " + " | ".join(f"{facts.name} (of {facts.table.max_total:g})" for facts in sections)
             + f" | total (of {maximum:g}) |", "|---" * (len(sections) + 2) + "|"]
    for student, scores, total in course_totals(sections):
        shown = ["-" if score is None else f"{score:g}" for score in scores]
        lines.append(f"| {student} | " + " | ".join(shown) + f" | {total:g} |")
    return lines


# ---------------------------------------------------------------------------
# The web page


def _embedded_png(path):
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _html(sections, written):
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    environment.filters["embedded_png"] = _embedded_png
    return environment.get_template("report.html.j2").render(
        sections=sections, written=written, totals=course_totals(sections), moment=moment, late_words=late_words,
        maximum=sum(facts.table.max_total for facts in sections))


def write_report(course, outcomes, similarity=True):
    """Write ``reports/report.md``, ``reports/report.html`` and each assignment's ``scores.png``; return a short text version.

    ``outcomes`` maps each assignment to report to ``{student: Outcome}`` (a `ClassResult`'s
    outcomes). ``course`` is a `Course` or its folder. ``similarity`` False leaves out the check for similar code.
    """
    course = Course.of(course)
    folder = course.root / REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = f"{datetime.now():%Y-%m-%d %H:%M}"
    sections = [assignment_facts(course, name, students, similarity) for name, students in outcomes.items()]
    lines = ["# Class report", "", f"Written {written}. Assignments: "
             + ", ".join(f"{facts.name} ({len(facts.outcomes)} submissions)" for facts in sections) + ".", ""]
    if len(sections) > 1:
        lines += ["## Course total", "", "Each student's score per assignment (`-`: no submission, counted as 0) "
                  "and over the course; `grades.csv` holds the same, with a `course total` row per student.", ""]
        lines += _markdown_totals(sections) + [""]
    short = []
    for facts in sections:
        lines += _markdown_section(facts)
        short += _short_summary(facts)
    (folder / "report.md").write_text("\n".join(lines))
    (folder / "report.html").write_text(_html(sections, written))
    short.append(f"Report: {folder / 'report.html'} (and report.md)")
    return "\n".join(short)
