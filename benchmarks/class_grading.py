"""Grading cost per submission: plain sequential nbgrader against the kit's parallel class command.

Both grade the same class (copies of a correct submission) in fresh course directories with the
course's own nbgrader_config.py, and both end with feedback and grades.csv written:
- plain:  nbgrader autograde, then nbgrader generate_feedback, then nbgrader export;
- kit:    python -m mnistkit grade (autograde and feedback per student in parallel workers, export).
Then one submission is executed cell by cell to show where a notebook's time goes.

Run from the course directory:  python -m benchmarks.class_grading [--students 24] [--workers N]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from mnistkit import ASSIGNMENT
from mnistkit.course import nbgrader, new_course
from mnistkit.students import SimulatedStudent, build_submission, notebook_path, submit


def make_class(folder, count):
    course = new_course(folder)
    for number in range(count):
        submit(course, SimulatedStudent(f"student-{number:03d}", "a correct submission"))
    return course


def time_plain(course):
    started = time.perf_counter()
    nbgrader(course, "autograde", ASSIGNMENT)
    autograded = time.perf_counter()
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    nbgrader(course, "export", "--to", course / "grades.csv")
    return autograded - started, time.perf_counter() - started


def time_kit(course, workers):
    command = [sys.executable, "-m", "mnistkit", "grade", "--course", str(course), "--no-progress"]
    if workers:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def cell_times(course):
    """Seconds to start a kernel and to run each code cell of one submission, as grading runs it."""
    notebook = build_submission(course, SimulatedStudent("profiled", "a correct submission"))
    folder = notebook_path(course, "release").parent  # the shipped modules are there
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    started = time.perf_counter()
    times = []
    with client.setup_kernel():
        times.append(("(kernel start)", time.perf_counter() - started))
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                began = time.perf_counter()
                client.execute_cell(cell, index)
                times.append((cell.id, time.perf_counter() - began))
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=24)
    parser.add_argument("--workers", type=int, default=None, help="kit workers (default: the machine's cores)")
    arguments = parser.parse_args()
    count = arguments.students
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        print(f"Grading {count} copies of a correct submission on {os.cpu_count()} cores ...")
        plain_autograde, plain_total = time_plain(make_class(scratch / "plain", count))
        kit_total = time_kit(make_class(scratch / "kit", count), arguments.workers)
        print(f"\n{'':<44}{'seconds':>9}{'per submission':>16}")
        print(f"{'plain nbgrader: autograde only':<44}{plain_autograde:>9.1f}{plain_autograde / count:>16.2f}")
        print(f"{'plain nbgrader: autograde, feedback, export':<44}{plain_total:>9.1f}{plain_total / count:>16.2f}")
        print(f"{'kit: python -m mnistkit grade (all of that)':<44}{kit_total:>9.1f}{kit_total / count:>16.2f}")
        print(f"speedup, same work: {plain_total / kit_total:.2f}x")

        times = cell_times(scratch / "kit")
        executed = sum(seconds for _, seconds in times)
        print(f"\nOne notebook executed cell by cell: {executed:.2f} s")
        for cell_id, seconds in sorted(times, key=lambda item: -item[1])[:8]:
            print(f"  {cell_id:<28}{seconds:>6.2f} s")
        print(f"  {'(all other cells)':<28}{executed - sum(s for _, s in sorted(times, key=lambda i: -i[1])[:8]):>6.2f} s")
        print(f"nbgrader's own work per submission (plain autograde minus execution): "
              f"{plain_autograde / count - executed:.2f} s")


if __name__ == "__main__":
    main()
