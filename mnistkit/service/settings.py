"""What the grading service does, as the instructor sets it in ``nbgrader_config.py`` (``c.GradingService``)."""

from traitlets import Bool, Enum, Float, Integer
from traitlets.config import Configurable


class ServiceError(ValueError):
    """The service cannot run as configured (or is already running); the message says what to change."""


class GradingService(Configurable):
    """Feedback before the deadline: what it shows, how often a student may have it, which submission counts."""

    shows = Enum(["tests", "score"], default_value="tests", help=(
        "What a student's feedback from the service shows: 'tests', every visible test's result and each hidden "
        "test's verdict and points (never its code, message or values); 'score', the score only")).tag(config=True)
    attempts = Integer(3, help="Submissions graded per student and assignment in any period (0: no limit); a "
                               "submission beyond them is not graded and its page says when the next one "
                               "will be").tag(config=True)
    period_hours = Float(24.0, help="The period the attempts are counted in, in hours (a sliding window)").tag(config=True)
    final = Enum(["last", "best"], default_value="last", help=(
        "The submission that makes the final grade: 'last', the last one graded (a late one loses what the late "
        "policy says), as nbgrader counts it; 'best', the best one made by the student's due date (the last one if "
        "none was on time)")).tag(config=True)
    workers = Integer(0, help="Submissions graded at once (0: the machine's cores)").tag(config=True)
    poll_seconds = Float(2.0, help="How often the exchange and submitted/ are looked at, in seconds").tag(config=True)
    quiet_seconds = Float(2.0, help="A submission folder is taken once nothing in it changed for this long, in "
                                    "seconds (nbgrader's submit writes its files one by one)").tag(config=True)
    time_limit_minutes = Float(15.0, help="A grading still running after this long is stopped, and the submission "
                                          "gets no points; its page says so").tag(config=True)
    watch_submitted = Bool(True, help="Also grade a submission put in submitted/ by hand (or by zip_collect) that "
                                      "is not graded yet").tag(config=True)

    def check(self):
        """Raise `ServiceError` naming the setting that cannot be used."""
        if self.attempts < 0:
            raise ServiceError(f"c.GradingService.attempts is {self.attempts}: it is a count (0 for no limit)")
        for name in ("period_hours", "poll_seconds", "time_limit_minutes"):
            if not getattr(self, name) > 0:
                raise ServiceError(f"c.GradingService.{name} is {getattr(self, name)}: it must be more than 0")
        if self.quiet_seconds < 0:
            raise ServiceError(f"c.GradingService.quiet_seconds is {self.quiet_seconds}: it cannot be negative")
        if self.workers < 0:
            raise ServiceError(f"c.GradingService.workers is {self.workers}: it is a count (0 for the machine's cores)")
        return self

    def shown_in_words(self):
        if self.shows == "score":
            return "Before the deadline, this page shows your score only."
        return ("Before the deadline, this page shows every visible test's result, and each hidden test's verdict "
                "and points (not its code or its message).")

    def final_in_words(self):
        if self.final == "best":
            return ("Your final grade is your best graded submission made by your due date (your last one if none "
                    "was on time).")
        return "Your final grade is your last graded submission; a late one loses what the late policy says."

    def attempts_in_words(self):
        if not self.attempts:
            return "Every submission is graded."
        hours = f"{self.period_hours:g} hour" + ("" if self.period_hours == 1 else "s")
        return f"{self.attempts} submission(s) are graded in any {hours}."
