"""Simulated students, used only by the tests, the demo and the benchmarks (never by grading).

- `students`: a student as the reference solution with chosen changes, and how they hand in;
- `mnist_numpy_students`, `mnist_mlp_students`: each assignment's catalogue of valid, mistaken,
  tampering and crashing students, with the points each deserves per graded cell;
- `attackers`: students who attack the grader itself (graded in the sandbox's tests);
- `shown`: what a feedback page shows; `reference`: the master notebooks' code, run outside Jupyter.
"""
