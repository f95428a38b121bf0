"""Code that runs inside the grading kernels, mounted read-only into every confined kernel.

Nothing else of ``mnistkit`` is visible to student code. A graded notebook runs in two kernels:

- the student's kernel: `guard` (limits, seeds, NumPy and the course's modules put back before
  each call) and `student_side` (answers the tests' calls). It trusts nothing it finds there;
- the tests' kernel, which never runs student code: `tests_side` (the proxies of the student's
  functions);

and `wire` is what may cross between them: plain data only, checked on arrival.
"""
