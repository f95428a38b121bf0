"""Kernels that share a machine's cores: part 1's reference training in several processes at once,
with NumPy's default BLAS threads (one per core, each spinning for the same cores) and with one
thread each, as every kernel on the course's hub and in grading gets.

Run from the course directory:  python -m benchmarks.shared_cores [--kernels 4]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

from mnistkit.sandbox.box import THREAD_VARIABLES

TRAIN = """
import contextlib, io, time
import numpy as np
from mnistkit.simulated.reference import master_namespace
reference = master_namespace("mnist_numpy")
X_train, y_train = reference["read_mnist"]("train")
X_val, y_val = reference["read_mnist"]("valid")
started = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    reference["learn"](np.zeros((784, 10)), np.zeros(10), X_train, y_train, X_val, y_val)
print(time.perf_counter() - started)
"""


def train_at_once(kernels, threads):
    """Seconds each of ``kernels`` processes took to train, all started together (``threads``: None for NumPy's
    default)."""
    environment = {name: value for name, value in os.environ.items() if name not in THREAD_VARIABLES}
    if threads:
        environment.update({name: str(threads) for name in THREAD_VARIABLES})
    processes = [subprocess.Popen([sys.executable, "-c", TRAIN], env=environment, stdout=subprocess.PIPE, text=True)
                 for _ in range(kernels)]
    return [float(process.communicate()[0].split()[-1]) for process in processes]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=4, help="processes training at once (default: 4)")
    kernels = parser.parse_args().kernels
    print(f"Part 1's reference learn (2,000 steps of 100 images) in {kernels} processes at once, "
          f"on {os.cpu_count()} cores:")
    print(f"{'BLAS threads per process':<28} {'median (s)':>10} {'slowest (s)':>12} {'all done (s)':>13}")
    for label, threads in (("NumPy's default (one a core)", None), ("1 (the hub's and grading's)", 1)):
        started = time.perf_counter()
        seconds = train_at_once(kernels, threads)
        wall = time.perf_counter() - started
        print(f"{label:<28} {statistics.median(seconds):>10.1f} {max(seconds):>12.1f} {wall:>13.1f}")


if __name__ == "__main__":
    main()
