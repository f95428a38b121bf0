"""The master notebook's own code, run outside Jupyter (for benchmarks and checks)."""

import contextlib
import os
import sys

import nbformat

from mnistkit.course import COURSE_ROOT
from mnistkit.students import notebook_path, reference_answers

# The cells that define the imports and functions a trained network needs, in notebook order.
DEFINING_CELLS = ("setup", "softmax", "neural_network_prediction", "cross_entropy_loss", "one_hot_encode", "learn")


def master_namespace(course_dir=COURSE_ROOT):
    """A namespace holding the reference ``softmax``, ``learn``, ... and the helpers they use.

    The cells run as the notebook's kernel runs them: from the assignment folder, which is
    also where ``mnist_helpers`` is imported from. IPython magics (``%matplotlib``) are skipped.
    """
    master = nbformat.read(notebook_path(course_dir, "source"), as_version=4)
    sources = {cell.id: cell.source for cell in master.cells}
    sources.update(reference_answers(course_dir))
    folder = notebook_path(course_dir, "source").parent
    namespace = {"__name__": "mnist_numpy_reference"}
    with _working_in(folder):
        for cell_id in DEFINING_CELLS:
            code = "\n".join(line for line in sources[cell_id].splitlines() if not line.lstrip().startswith("%"))
            exec(compile(code, f"<{cell_id} cell>", "exec"), namespace)
    return namespace


@contextlib.contextmanager
def _working_in(folder):
    previous = os.getcwd()
    sys.path.insert(0, str(folder))
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)
        sys.path.remove(str(folder))
