"""What a Dask cluster and a PostgreSQL gradebook cost per submission, against one machine with SQLite.

The same class (copies of a correct part-1 submission) is graded with `python -m mnistkit grade`
three ways, in fresh course directories, in one run:
- this machine's worker processes, SQLite gradebook (the default);
- this machine's worker processes, PostgreSQL gradebook (a throwaway server on localhost);
- a 2-worker Dask LocalCluster (scheduler and workers as separate processes over TCP), PostgreSQL.

Run from the course directory:  python -m benchmarks.cluster_grading [--students 24]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnistkit.course import new_course
from mnistkit.local_servers import PostgresServer, local_dask_cluster
from mnistkit.simulated.mnist_numpy_students import Student
from mnistkit.simulated.students import submit


def make_class(folder, count, db_url=None):
    course = new_course(folder, extra_config=f"c.CourseDirectory.db_url = {db_url!r}" if db_url else "")
    for number in range(count):
        submit(course, Student(f"student-{number:03d}", "a correct submission"))
    return course


def time_grading(course, *arguments):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mnistkit", "grade", "--course", str(course), "--no-progress", *arguments],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=24)
    count = parser.parse_args().students
    cores = os.cpu_count()
    print(f"Grading {count} copies of a correct submission on {cores} cores ...")
    with tempfile.TemporaryDirectory() as scratch, PostgresServer() as postgres, local_dask_cluster(2) as scheduler:
        scratch = Path(scratch)
        runs = [
            ("local processes, SQLite", time_grading(make_class(scratch / "pool-sqlite", count))),
            ("local processes, PostgreSQL",
             time_grading(make_class(scratch / "pool-postgres", count, postgres.new_database("pool")))),
            ("2-worker Dask LocalCluster, PostgreSQL",
             time_grading(make_class(scratch / "dask-postgres", count, postgres.new_database("dask")),
                          "--scheduler", scheduler)),
        ]
    baseline = runs[0][1]
    print(f"\n{'':<42}{'seconds':>9}{'per submission':>16}{'vs. first':>11}")
    for name, seconds in runs:
        print(f"{name:<42}{seconds:>9.1f}{seconds / count:>16.2f}{(seconds - baseline) / count:>+11.3f}")
    per_core_hour = 3600 / (runs[2][1] * 2 / count)  # two worker processes, one core each
    print(f"on the cluster: {per_core_hour:.0f} submissions per hour per worker core")


if __name__ == "__main__":
    main()
