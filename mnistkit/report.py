"""The class report: what the class got right and wrong, and whose grading needs a look.

One report for the whole course, ``reports/report.md``: the course totals, then a section per
assignment (with its score histogram, ``reports/<assignment>/scores.png``).
"""

import statistics
from datetime import datetime
from pathlib import Path

from mnistkit.gradebook import open_gradebook, read_grades

REPORTS_DIR = "reports"


def late_and_missing(course_dir, assignment, submitted):
    """``(late, missing)``: ``[(student, hours late)]`` and the gradebook's students with no submission."""
    late, missing = [], []
    with open_gradebook(course_dir) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            if submission.total_seconds_late > 0:
                late.append((submission.student.id, submission.total_seconds_late / 3600))
        missing = sorted(student.id for student in gradebook.students if student.id not in submitted)
    return sorted(late), missing


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


def _assignment_section(course_dir, assignment, outcomes, table):
    """The report's lines for one assignment, and its short summary lines."""
    graded = sorted(s for s, o in outcomes.items() if o.status == "graded" and s in table.scores)
    failed = sorted(s for s, o in outcomes.items() if o.status == "failed")
    waiting = sorted(s for s, o in outcomes.items() if o.status not in ("graded", "failed"))
    totals = [table.total(s) for s in graded]
    late, missing = late_and_missing(course_dir, assignment, set(outcomes))
    _histogram(totals, table.max_total, f"{assignment}: scores of {len(totals)} graded submissions",
               Path(course_dir) / REPORTS_DIR / assignment / "scores.png")

    passed = {name: sum(table.scores[s].get(name, 0) >= points for s in graded) for name, points in table.cells}
    counts = (f"{assignment}: {len(outcomes)} submissions: {len(graded)} graded, "
              f"{len(failed)} could not be graded (recorded with 0 points)"
              + (f", {len(waiting)} not graded yet." if waiting else "."))
    lines = [f"## {assignment}", "", counts]
    unconfined = sorted(s for s, o in outcomes.items() if any("graded unconfined" in p.lower() for p in o.problems))
    if unconfined:
        lines.append(f"**Graded unconfined:** {len(unconfined)} submission(s) were graded without the sandbox "
                     f"(--no-sandbox): their code ran with the grader's rights ({', '.join(unconfined)}).")
    scores_line = ""
    if totals:
        scores_line = (f"Scores out of {table.max_total:g}: mean {statistics.mean(totals):.1f}, median "
                       f"{statistics.median(totals):g}, lowest {min(totals):g}, highest {max(totals):g}.")
        lines.append(scores_line)
    lines += ["", "### Which checks the class passed", "", "| graded cell | points | passed | share |",
              "|---|---|---|---|"]
    for name, points in table.cells:
        share = passed[name] / len(graded) if graded else 0
        lines.append(f"| `{name}` | {points:g} | {passed[name]} of {len(graded)} | {share:.0%} |")
    lines += ["", "### Score distribution", "", f"![scores of {assignment}]({assignment}/scores.png)", ""]
    lines += ["### Submissions that need a look", ""]
    flagged = sorted((s, o) for s, o in outcomes.items() if o.status != "graded" or o.problems)
    if flagged:
        lines += ["| student | status | score | what happened |", "|---|---|---|---|"]
        for student, outcome in flagged:
            score = f"{table.total(student):g}" if student in table.scores else "-"
            reasons = " ".join(outcome.problems) or outcome.status
            lines.append(f"| {student} | {outcome.status} | {score} | {reasons.replace('|', '/')} |")
    else:
        lines.append("None: every submission was graded without incident.")
    lines += ["", "### Late and missing submissions", ""]
    lines += [f"- {student}: {hours:.1f} hours late" for student, hours in late] or ["- No late submissions."]
    if missing:
        lines.append(f"- No submission from: {', '.join(missing)}.")
    lines.append("")

    short = [counts] + ([scores_line] if scores_line else [])
    if graded:
        hardest = sorted(table.cells, key=lambda cell: passed[cell[0]])[:3]
        short.append("Least passed: " + ", ".join(f"{name} ({passed[name]}/{len(graded)})" for name, _ in hardest))
    for student, outcome in flagged:
        short.append(f"  {student} [{outcome.status}]: {' '.join(outcome.problems) or outcome.status}")
    return lines, short


def _course_totals(tables):
    """Lines of a table: each student's score per assignment and course total (no submission: 0)."""
    students = sorted({student for table in tables.values() for student in table.scores})
    maximum = sum(table.max_total for table in tables.values())
    names = list(tables)
    lines = ["| student | " + " | ".join(f"{name} (of {tables[name].max_total:g})" for name in names)
             + f" | total (of {maximum:g}) |", "|---" * (len(names) + 2) + "|"]
    for student in students:
        scores = [tables[name].total(student) if student in tables[name].scores else 0 for name in names]
        shown = [f"{score:g}" if student in tables[name].scores else "-" for name, score in zip(names, scores)]
        lines.append(f"| {student} | " + " | ".join(shown) + f" | {sum(scores):g} |")
    return lines


def write_report(course_dir, outcomes):
    """Write ``reports/report.md`` (and each assignment's ``scores.png``); return the short text version.

    ``outcomes`` maps each assignment to report to ``{student: Outcome}`` (a `ClassResult`'s outcomes).
    """
    course_dir = Path(course_dir)
    folder = course_dir / REPORTS_DIR
    tables = {assignment: read_grades(course_dir, assignment) for assignment in outcomes}
    lines = ["# Class report", "", f"Written {datetime.now():%Y-%m-%d %H:%M}. Assignments: "
             + ", ".join(f"{name} ({len(students)} submissions)" for name, students in outcomes.items()) + ".", ""]
    if len(tables) > 1:
        lines += ["## Course total", "", "Each student's score per assignment (`-`: no submission, counted as 0) "
                  "and over the course; `grades.csv` holds the same, with a `course total` row per student.", ""]
        lines += _course_totals(tables) + [""]
    short = []
    for assignment, students in outcomes.items():
        section, summary = _assignment_section(course_dir, assignment, students, tables[assignment])
        lines += section
        short += summary
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.md").write_text("\n".join(lines))
    short.append(f"Report: {folder / 'report.md'}")
    return "\n".join(short)
