"""Grading cost per submission: plain sequential nbgrader against the kit's parallel class command.

Both grade the same class (copies of a correct submission) in fresh course directories with the
course's own nbgrader_config.py, and both end with feedback and grades.csv written:
- plain:  nbgrader autograde, then nbgrader generate_feedback, then nbgrader export;
- kit:    python -m mnistkit grade (autograde and feedback per student in parallel workers, export);
- kit unconfined: the same with --no-sandbox, for the cost of confining every kernel.
Then a kernel is started and stopped, confined and not, to show what confinement adds to each,
and one submission is executed cell by cell to show where a notebook's time goes.

Run from the course directory:
    python -m benchmarks.class_grading [--assignment mnist_numpy] [--students 24] [--workers N]
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

from mnistkit.course import COURSE_ROOT, Course, nbgrader, new_course
from mnistkit.simulated.students import SimulatedStudent, build_submission, notebook_path, submit


def make_class(folder, count, assignment):
    course = new_course(folder)
    for number in range(count):
        submit(course, SimulatedStudent(f"student-{number:03d}", "a correct submission", assignment=assignment))
    return course


def time_plain(course, assignment):
    started = time.perf_counter()
    nbgrader(course, "autograde", assignment)
    autograded = time.perf_counter()
    nbgrader(course, "generate_feedback", assignment)
    nbgrader(course, "export", "--to", course / "grades.csv")
    return autograded - started, time.perf_counter() - started


def time_kit(course, workers, confined=True):
    command = [sys.executable, "-m", "mnistkit", "grade", "--course", str(course), "--no-progress"]
    if not confined:
        command.append("--no-sandbox")
    if workers:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def kernel_start_times(course, assignment, repeats=10):
    """Median seconds to start a kernel, run one cell and stop it: unconfined, then confined."""
    import statistics

    from mnistkit.sandbox import ConfinedKernelManager

    folder = str(notebook_path(course, "release", assignment).parent)
    results = {}
    for name, manager in (("unconfined", None), ("confined", ConfinedKernelManager)):
        times = []
        for _ in range(repeats):
            notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
            options = {"kernel_manager_class": manager} if manager else {}
            client = NotebookClient(notebook, kernel_name="python3", resources={"metadata": {"path": folder}},
                                    extra_arguments=["--IPKernelApp.log_level=ERROR"], **options)
            started = time.perf_counter()
            client.execute()
            times.append(time.perf_counter() - started)
        results[name] = statistics.median(times)
    return results


def cell_times(course, assignment):
    """Seconds to start a kernel and to run each code cell of one submission, as grading runs it: up to
    its last graded cell (the course's ``c.GuardedExecute.run_after_last_test`` is False)."""
    notebook = build_submission(course, SimulatedStudent("profiled", "a correct submission", assignment=assignment))
    master = {cell.id: cell.source
              for cell in nbformat.read(notebook_path(course, "source", assignment), as_version=4).cells}
    graded = [index for index, cell in enumerate(notebook.cells) if cell.get("metadata", {}).get("nbgrader", {}).get("grade")]
    for index in graded:  # with the hidden tests back in, as nbgrader puts them at grading
        notebook.cells[index].source = master[notebook.cells[index].id]
    folder = notebook_path(course, "release", assignment).parent  # the shipped modules are there
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    started = time.perf_counter()
    times = []
    with client.setup_kernel():
        times.append(("(kernel start)", time.perf_counter() - started))
        for index, cell in enumerate(notebook.cells[:graded[-1] + 1]):
            if cell.cell_type == "code":
                began = time.perf_counter()
                client.execute_cell(cell, index)
                times.append((cell.id, time.perf_counter() - began))
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", choices=Course(COURSE_ROOT).assignments(), default="mnist_numpy")
    parser.add_argument("--students", type=int, default=24)
    parser.add_argument("--workers", type=int, default=None, help="kit workers (default: the machine's cores)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each, interleaved; the best counts")
    arguments = parser.parse_args()
    count, assignment = arguments.students, arguments.assignment
    plain_runs, kit_runs, unconfined_runs = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        print(f"Grading {count} copies of a correct submission of {assignment} on {os.cpu_count()} cores, "
              f"best of {arguments.repeats} interleaved runs ...")
        for run in range(arguments.repeats):
            plain_runs.append(time_plain(make_class(scratch / f"plain-{run}", count, assignment), assignment))
            kit_runs.append(time_kit(make_class(scratch / f"kit-{run}", count, assignment), arguments.workers))
            unconfined_runs.append(time_kit(make_class(scratch / f"free-{run}", count, assignment), arguments.workers,
                                            False))
        plain_autograde, plain_total = min(plain_runs, key=lambda times: times[1])
        kit_total, unconfined_total = min(kit_runs), min(unconfined_runs)
        print(f"\n{'':<44}{'seconds':>9}{'per submission':>16}")
        print(f"{'plain nbgrader: autograde only':<44}{plain_autograde:>9.1f}{plain_autograde / count:>16.2f}")
        print(f"{'plain nbgrader: autograde, feedback, export':<44}{plain_total:>9.1f}{plain_total / count:>16.2f}")
        print(f"{'kit: python -m mnistkit grade (all of that)':<44}{kit_total:>9.1f}{kit_total / count:>16.2f}")
        print(f"{'kit, unconfined (--no-sandbox)':<44}{unconfined_total:>9.1f}{unconfined_total / count:>16.2f}")
        print(f"speedup, same work: {plain_total / kit_total:.2f}x   (all runs: plain "
              f"{', '.join(f'{total:.1f}' for _, total in plain_runs)} s; kit {', '.join(f'{t:.1f}' for t in kit_runs)} s"
              f"; unconfined {', '.join(f'{t:.1f}' for t in unconfined_runs)} s)")
        workers = arguments.workers or os.cpu_count()
        print(f"confinement costs {(kit_total - unconfined_total) / count:+.3f} s per submission in the class run "
              f"({(kit_total - unconfined_total) * workers / count:+.3f} s of one worker's time)")
        starts = kernel_start_times(scratch / "kit-0", assignment)
        print(f"a kernel started, run and stopped (median of 10): unconfined {starts['unconfined']:.3f} s, "
              f"confined {starts['confined']:.3f} s ({starts['confined'] - starts['unconfined']:+.3f} s)")

        times = cell_times(scratch / "kit-0", assignment)
        executed = sum(seconds for _, seconds in times)
        slowest = sorted(times, key=lambda item: -item[1])[:7]
        print(f"\nOne submission's notebook, executed cell by cell: {executed:.2f} s")
        for cell_id, seconds in slowest:
            print(f"  {cell_id:<28}{seconds:>6.2f} s")
        print(f"  {'(the other cells)':<28}{executed - sum(seconds for _, seconds in slowest):>6.2f} s")
        print(f"Plain nbgrader's work around it: {plain_autograde / count - executed:.2f} s per submission "
              f"to autograde, {(plain_total - plain_autograde) / count:.2f} s for feedback and export")


if __name__ == "__main__":
    main()
