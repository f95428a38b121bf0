"""Instructor tooling for the MNIST-in-NumPy nbgrader course.

The course itself is the folder this package lives in (nbgrader's layout: ``source/``,
``release/``, ``nbgrader_config.py``); this package drives nbgrader's command line over it,
for any assignment in ``source/``.
"""
