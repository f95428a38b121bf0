"""Runs inside a student's kernel while it is autograded, so that tests can trust what they see.

`install` is called by a cell the grader puts first in the notebook (see
`mnistkit.nbgrader_plugins.GuardedExecute`) before any student code runs. It

- caps the memory the kernel may take, so one notebook cannot take the machine down;
- seeds Python's and NumPy's global random generators, so the same code gets the same grade;
- remembers NumPy, the course's modules and Python's builtins as they are, and before every
  graded test cell puts them back (undoing ``np.allclose = lambda *a, **k: True`` and the like);
- after every graded test cell, fails that cell if its run changed any of them (student code
  that patches NumPy while a test calls it earns nothing from the patch).

It is a guard against code that changes the tools the tests rely on, not a sandbox.
"""

import builtins
import hashlib
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


def source_digest(source):
    """How graded cells are recognised: the SHA-256 of their source text."""
    return hashlib.sha256(source.encode()).hexdigest()


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


def install(graded_digests, memory_limit_bytes, seed=0, course_modules=()):
    """Set the limits and start guarding the graded cells whose source digests are given.

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
    graded = frozenset(graded_digests)
    state = {"in_graded_cell": False}

    def before_cell(info):
        state["in_graded_cell"] = source_digest(info.raw_cell) in graded
        if state["in_graded_cell"]:
            snapshot.restore(shell.user_ns)

    def after_cell(result):
        if not state["in_graded_cell"]:
            return
        changed = snapshot.changes()
        snapshot.restore(shell.user_ns)
        if changed and result.error_in_exec is None:
            error = AssertionError(TAMPERING_MESSAGE.format(names=", ".join(sorted(changed)[:5])))
            result.error_in_exec = error
            shell.showtraceback((AssertionError, error, None))

    shell.events.register("pre_run_cell", before_cell)
    shell.events.register("post_run_cell", after_cell)
