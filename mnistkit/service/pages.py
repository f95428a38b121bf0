"""What a student reads from the service: the notice on their feedback, and the page of a submission not graded yet.

Every word on them is the kit's own: times, counts and the instructor's settings. Nothing a
student handed in (their id, their file names, their notebook) is written into them, except
through nbgrader's feedback page, which shows the graded notebook as data (`mnistkit.inert`).
"""

import datetime
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def moment(seconds):
    """A time (seconds since 1970) as pages show it: ``2026-12-02 17:03:05 UTC``."""
    return f"{datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def duration(seconds):
    """``"41 s"``, ``"3 min 5 s"``, ``"2 h 10 min"``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@dataclass
class Attempts:
    """Where one submission stands among the student's counted attempts of the period."""

    number: int  # which one this is (0: not counted, as a submission put in submitted/ by hand)
    allowed: int  # per period (0: no limit)
    period_hours: float
    next_from: float = None  # when the next one can be graded, if none is left now (seconds since 1970)
    used: int = None  # the counted attempts of the period so far (default: ``number``)

    @property
    def left(self):
        return max(0, self.allowed - (self.number if self.used is None else self.used))

    def in_words(self):
        if not self.number:
            return ""
        if not self.allowed:
            return f"This was your submission {self.number}; every submission is graded."
        hours = f"{self.period_hours:g} hour" + ("" if self.period_hours == 1 else "s")
        words = f"This was attempt {self.number} of the {self.allowed} graded in any {hours}: {self.left} left now."
        if not self.left and self.next_from:
            words += f" The next one can be graded from {moment(self.next_from)}."
        return words


def feedback_notice(settings, arrived, waited, graded_in, attempts, due):
    """The Markdown put at the top of a student's feedback from the service."""
    lines = [f"**Feedback from the course's grading service.** Your submission of {moment(arrived)} waited "
             f"{duration(waited)} in the queue and was graded in {duration(graded_in)}.", ""]
    if attempts.in_words():
        lines += [f"**Attempts.** {attempts.in_words()}", ""]
    lines += [f"**Shown.** {settings.shown_in_words()}", ""]
    due_words = f" Due for you: {moment(due)}." if due else ""
    lines += [f"**Final grade.** {settings.final_in_words()}{due_words}"]
    return "\n".join(lines)


class ServiceNotice(NbGraderPreprocessor):
    """Put the service's notice (``text``, Markdown) at the top of the feedback."""

    text = Unicode("").tag(config=True)

    def preprocess(self, nb, resources):
        if self.text:
            nb.cells.insert(0, new_markdown_cell(self.text, metadata={"mnistkit": "service notice"}))
        return nb, resources


class ScoreOnly(NbGraderPreprocessor):
    """Leave only the service's notice: the feedback page then shows the score and nothing of the notebook."""

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if cell.get("metadata", {}).get("mnistkit") == "service notice"]
        return nb, resources


def status_page(title, paragraphs):
    """A whole page (HTML, no script, every word escaped) for a submission that has no feedback yet."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    return environment.get_template("service_page.html.j2").render(title=title, paragraphs=paragraphs)


def queued_page(arrived, position, expected_seconds, attempts):
    ahead = "nobody is" if position == 1 else f"{position - 1} submission(s) are"
    return status_page("Your submission is waiting to be graded", [
        f"Your submission of {moment(arrived)} is number {position} in the grading queue ({ahead} ahead of it).",
        f"Its feedback is expected in about {duration(expected_seconds)}. Fetch the feedback again then.",
        attempts.in_words()])


def over_limit_page(arrived, attempts):
    return status_page("Your submission was not graded", [
        f"Your submission of {moment(arrived)} was not graded: you had used the {attempts.allowed} attempts graded in "
        f"any {attempts.period_hours:g} hours.",
        f"The next submission can be graded from {moment(attempts.next_from)}. This one does not count for your grade."])


def failed_page(arrived, reason):
    return status_page("Your submission could not be graded", [
        f"Your submission of {moment(arrived)} could not be graded: {reason}",
        "It gets no points; your instructor sees this too. Check that your notebook runs from the top "
        "(Kernel, Restart and Run All), then submit again."])
