"""Runs inside a student's kernel while it is autograded, so that the student's functions answer alike.

`install` is called by a cell the grader puts first in the notebook (see
`mnistkit.nbgrader_plugins.GuardedExecute`) before any student code runs. It

- caps the memory the kernel may take, so one notebook cannot take the machine down;
- seeds Python's and NumPy's global random generators, so the same code gets the same grade;
- remembers NumPy, the course's modules and Python's builtins as they are, so that before every
  call the tests make of the student's code they are put back (undoing ``np.exp = ...`` in a
  cell that ran before), and a call that changes them is answered with an error;
- keeps its end of the connection to the tests' kernel (`mnistkit.kernel.student_side`).

The tests themselves run in another process (`mnistkit.kernel.tests_side`): nothing here can
change a verdict, and student code that undoes all of this only answers worse.
"""

import builtins
import random
import resource
import sys
import warnings

import numpy as np

# Modules whose attributes tests rely on, besides the course's own modules (the ``.py`` files
# shipped with the assignment); submodules (numpy.testing, ...) are included.
PROTECTED_MODULES = ("numpy", "builtins", "math", "time")
# Names IPython itself swaps in and out of builtins around every cell.
IPYTHON_BUILTINS = {"exit", "quit", "get_ipython", "display", "_", "__", "___"}
TAMPERING_MESSAGE = (
    "This test's result cannot be trusted: while it ran, the notebook's code replaced {names}. "
    "Tests only count with NumPy and the course's modules as they are; remove the code that changes them."
)


def _protected(name, roots):
    return any(name == root or name.startswith(root + ".") for root in roots)


class _Snapshot:
    """The attributes of every protected module, and the state NumPy and warnings keep."""

    def __init__(self, roots):
        self.modules = {name: module for name, module in sys.modules.items() if _protected(name, roots) and module}
        self.attributes = {name: dict(vars(module)) for name, module in self.modules.items()}
        self.numpy_errors = np.geterr()
        self.warning_filters = list(warnings.filters)

    def _differences(self):
        """``(module name, attribute, saved value)`` for every attribute rebound or deleted since."""
        for name, saved in self.attributes.items():
            current = vars(self.modules[name])
            for key, value in saved.items():
                if key.startswith("__") or (name == "builtins" and key in IPYTHON_BUILTINS):
                    continue
                if current.get(key, _MISSING) is not value:
                    yield name, key, value

    def changes(self):
        """Names (``numpy.allclose``) rebound or deleted since the snapshot."""
        changed = [name for name, module in self.modules.items() if sys.modules.get(name) is not module]
        return changed + [f"{name}.{key}" for name, key, _ in self._differences()]

    def restore(self, user_namespace):
        for name, module in self.modules.items():
            sys.modules[name] = module
        for name, key, value in list(self._differences()):
            setattr(self.modules[name], key, value)
        np.seterr(**self.numpy_errors)
        warnings.filters[:] = self.warning_filters
        user_namespace["__builtins__"] = builtins


_MISSING = object()


def install(memory_limit_bytes, seed=0, course_modules=(), calls_fd=None):
    """Set the limits, take the snapshot, and keep the connection to the tests' kernel (file descriptor ``calls_fd``).

    ``course_modules`` names the assignment's own modules (``mnist_helpers``, ...), guarded like NumPy.
    """
    if memory_limit_bytes:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_limit_bytes if hard == resource.RLIM_INFINITY else min(memory_limit_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    random.seed(seed)
    np.random.seed(seed)
    for name in course_modules:
        __import__(name)  # so that their pristine state is part of the snapshot
    shell = get_ipython()  # noqa: F821 (defined in every IPython kernel)
    snapshot = _Snapshot(PROTECTED_MODULES + tuple(course_modules))
    if calls_fd is not None:
        from mnistkit.kernel import student_side

        student_side.start(calls_fd, shell.user_ns, snapshot)
