"""The class report: what the class got right and wrong, and whose grading needs a look."""

import statistics
from datetime import datetime
from pathlib import Path

from mnistkit import ASSIGNMENT
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


def write_report(course_dir, outcomes, assignment=ASSIGNMENT):
    """Write ``reports/<assignment>/report.md`` and ``scores.png``; return the short text version."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    course_dir = Path(course_dir)
    folder = course_dir / REPORTS_DIR / assignment
    folder.mkdir(parents=True, exist_ok=True)
    table = read_grades(course_dir, assignment)
    graded = sorted(s for s, o in outcomes.items() if o.status == "graded" and s in table.scores)
    failed = sorted(s for s, o in outcomes.items() if o.status != "graded")
    totals = [table.total(s) for s in graded]
    late, missing = late_and_missing(course_dir, assignment, set(outcomes))

    figure, axes = plt.subplots(figsize=(7, 3.5))
    axes.hist(totals, bins=range(0, int(table.max_total) + 2), color="#4477aa", edgecolor="white", align="left")
    axes.set_xlabel(f"score (out of {table.max_total:g})")
    axes.set_ylabel("students")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"{assignment}: scores of {len(totals)} graded submissions")
    figure.tight_layout()
    figure.savefig(folder / "scores.png", dpi=100)
    plt.close(figure)

    passed = {name: sum(table.scores[s].get(name, 0) >= points for s in graded) for name, points in table.cells}
    lines = [
        f"# Class report: {assignment}",
        "",
        f"Written {datetime.now():%Y-%m-%d %H:%M}. {len(outcomes)} submissions: {len(graded)} graded, "
        f"{len(failed)} could not be graded (recorded with 0 points).",
    ]
    unconfined = sorted(s for s, o in outcomes.items() if any("graded unconfined" in p.lower() for p in o.problems))
    if unconfined:
        lines.append(f"**Graded unconfined:** {len(unconfined)} submission(s) were graded without the sandbox "
                     f"(--no-sandbox): their code ran with the grader's rights ({', '.join(unconfined)}).")
    if totals:
        lines.append(
            f"Scores out of {table.max_total:g}: mean {statistics.mean(totals):.1f}, median "
            f"{statistics.median(totals):g}, lowest {min(totals):g}, highest {max(totals):g}."
        )
    lines += ["", "## Which checks the class passed", "", "| graded cell | points | passed | share |", "|---|---|---|---|"]
    for name, points in table.cells:
        share = passed[name] / len(graded) if graded else 0
        lines.append(f"| `{name}` | {points:g} | {passed[name]} of {len(graded)} | {share:.0%} |")
    lines += ["", "## Score distribution", "", "![scores](scores.png)", ""]
    lines += ["## Submissions that need a look", ""]
    flagged = sorted((s, o) for s, o in outcomes.items() if o.status != "graded" or o.problems)
    if flagged:
        lines += ["| student | status | score | what happened |", "|---|---|---|---|"]
        for student, outcome in flagged:
            score = f"{table.total(student):g}" if student in table.scores else "-"
            reasons = " ".join(outcome.problems) or outcome.status
            lines.append(f"| {student} | {outcome.status} | {score} | {reasons.replace('|', '/')} |")
    else:
        lines.append("None: every submission was graded without incident.")
    lines += ["", "## Late and missing submissions", ""]
    lines += [f"- {student}: {hours:.1f} hours late" for student, hours in late] or ["- No late submissions."]
    if missing:
        lines.append(f"- No submission from: {', '.join(missing)}.")
    (folder / "report.md").write_text("\n".join(lines) + "\n")

    short = [lines[2]] + ([lines[3]] if totals else [])
    if graded:
        hardest = sorted(table.cells, key=lambda cell: passed[cell[0]])[:3]
        short.append("Least passed: " + ", ".join(f"{name} ({passed[name]}/{len(graded)})" for name, _ in hardest))
    for student, outcome in flagged:
        short.append(f"  {student} [{outcome.status}]: {' '.join(outcome.problems) or outcome.status}")
    short.append(f"Report: {folder / 'report.md'}")
    return "\n".join(short)
