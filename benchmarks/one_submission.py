"""Where one submission's grading time goes, in the class command's own worker code (`grade_one`).

A correct submission is graded once to set nbgrader up (as a worker has after its first student),
then a second one is graded and timed: the whole, the kit's execute step (both kernels started,
every cell run) and each cell within it, the slowest first.

Run from the course directory:
    python -m benchmarks.one_submission [--assignment mnist_mlp]
"""

import argparse
import tempfile
import time
from pathlib import Path

from mnistkit import grading, nbgrader_plugins
from mnistkit.course import Course, new_course
from mnistkit.simulated.students import SimulatedStudent, submit


STEP = "the execute step (kernels started, every cell run)"


def timed(method, label, times):
    """``method`` of `GuardedExecute`, recording ``(seconds, label or the cell's id)`` in ``times``."""
    def run(self, *arguments):
        started = time.perf_counter()
        result = method(self, *arguments)
        cell = arguments[0] if label is None else None
        times.append((time.perf_counter() - started, label or cell.get("id")))
        return result
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="mnist_numpy", choices=["mnist_numpy", "mnist_mlp"])
    assignment = parser.parse_args().assignment
    times = []
    execute = nbgrader_plugins.GuardedExecute
    execute.preprocess = timed(execute.preprocess, STEP, times)
    execute.preprocess_cell = timed(execute.preprocess_cell, None, times)
    with tempfile.TemporaryDirectory() as scratch:
        course = new_course(Path(scratch) / "course")
        for number in range(2):
            submit(course, SimulatedStudent(f"s{number}", "a correct submission", assignment=assignment))
        course = Course(course)
        grading.grade_one(course, assignment, "s0")
        times.clear()
        started = time.perf_counter()
        grading.grade_one(course, assignment, "s1")
        total = time.perf_counter() - started
    cells = [(seconds, cell) for seconds, cell in times if cell != STEP]
    step = next(seconds for seconds, cell in times if cell == STEP)
    print(f"{assignment}: one submission {total:.2f} s; {STEP} {step:.2f} s, of which its cells "
          f"{sum(s for s, _ in cells):.2f} s:")
    for seconds, cell in sorted(cells, reverse=True)[:8]:
        print(f"  {cell:<28} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
