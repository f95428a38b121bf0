"""Instructor tooling for the MNIST-in-NumPy nbgrader course.

The course itself is the folder this package lives in (nbgrader's layout: ``source/``,
``release/``, ``nbgrader_config.py``); this package drives nbgrader's command line over it.
"""

ASSIGNMENT = "mnist_numpy"
NOTEBOOK = "mnist_numpy"  # the notebook's file name without ``.ipynb``
