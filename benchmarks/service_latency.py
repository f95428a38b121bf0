"""Time from a submission to its released feedback, with the grading service (python -m mnistkit serve).

A fresh course with an exchange of its own; the service runs as an instructor starts it, with the
course's own settings (confined kernels, c.GradingService.workers or the machine's cores). Each
submission goes through nbgrader's own submit, and its time ends when the page nbgrader's
fetch_feedback would find for it is the graded feedback (not the page saying it waits).
- alone: one submission at a time, each after the previous one's feedback;
- burst: N submissions in a few seconds (students with correct, partial and untouched work).

Run from the course directory:
    python -m benchmarks.service_latency [--alone 5] [--burst 50] [--assignment mnist_numpy]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnistkit.course import nbgrader, new_course
from mnistkit.simulated.exchange import ExchangeClass
from mnistkit.simulated.students import DEMO_CLASS

GRADED = "Feedback from the course"


def wait_for_feedback(klass, pending, assignment):
    """``{student: seconds}`` from each hand-in (``pending``: student -> (timestamp, handed-in time)) to its feedback."""
    done = {}
    while len(done) < len(pending):
        for student, (stamp, handed_in) in pending.items():
            if student not in done:
                page = klass.released_page(student, assignment, stamp)
                if page is not None and GRADED in page:
                    done[student] = time.monotonic() - handed_in
        time.sleep(0.2)
    return done


def hand_in(klass, student_id, work, assignment):
    klass.hand_in(student_id, work)
    stamp = klass.submissions(student_id, assignment)[-1][0]
    return stamp, time.monotonic()


def summary(name, seconds):
    values = sorted(seconds)
    return (f"{name}: {len(values)} submission(s), median {statistics.median(values):.1f} s, "
            f"worst {values[-1]:.1f} s, best {values[0]:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alone", type=int, default=5, help="submissions one at a time")
    parser.add_argument("--burst", type=int, default=50, help="submissions at once")
    parser.add_argument("--assignment", default="mnist_numpy")
    arguments = parser.parse_args()
    works = [work for work in DEMO_CLASS if work.assignment == arguments.assignment]
    with tempfile.TemporaryDirectory(prefix="service-latency-") as folder:
        folder = Path(folder)
        exchange = folder / "exchange"
        exchange.mkdir(mode=0o777)
        course = new_course(folder / "course", extra_config=f"c.Exchange.root = {str(exchange)!r}\n"
                                                            "c.GradingService.attempts = 0\n")
        nbgrader(course, "release_assignment", arguments.assignment)
        klass = ExchangeClass(course, exchange, folder / "homes")
        log = open(folder / "service.log", "w")
        service = subprocess.Popen([sys.executable, "-m", "mnistkit", "serve", "--course", str(course)],
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            while "Grading service of" not in (folder / "service.log").read_text():
                time.sleep(0.2)
            alone = []
            for number in range(arguments.alone):
                pending = {f"alone-{number}": hand_in(klass, f"alone-{number}", works[0], arguments.assignment)}
                alone += wait_for_feedback(klass, pending, arguments.assignment).values()
            print(summary("alone", alone), flush=True)
            started = time.monotonic()
            pending = {f"burst-{n:03d}": hand_in(klass, f"burst-{n:03d}", works[n % len(works)], arguments.assignment)
                       for n in range(arguments.burst)}
            print(f"burst handed in within {time.monotonic() - started:.1f} s", flush=True)
            burst = wait_for_feedback(klass, pending, arguments.assignment)
            print(summary("burst", burst.values()))
            print(f"burst: the last feedback {time.monotonic() - started:.1f} s after the first hand-in")
        finally:
            service.terminate()
            service.wait()
            log.close()


if __name__ == "__main__":
    main()
