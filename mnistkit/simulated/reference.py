"""The master notebook's own code, run outside Jupyter (for benchmarks and checks)."""

import contextlib
import os
import sys

import nbformat

from mnistkit.course import COURSE_ROOT
from mnistkit.simulated.students import notebook_path, reference_answers

# The cells of each assignment that define the imports and functions a trained network needs.
DEFINING_CELLS = {
    "mnist_numpy": ("setup", "softmax", "neural_network_prediction", "cross_entropy_loss", "one_hot_encode", "learn"),
    "mnist_mlp": ("setup", "relu", "init_params", "forward", "backward", "learn"),
}


def master_namespace(assignment, course_dir=COURSE_ROOT):
    """A namespace holding the assignment's reference functions (``learn``, ...) and the helpers they use.

    The cells run as the notebook's kernel runs them: from the assignment folder, which is
    also where its modules are imported from. IPython magics (``%matplotlib``) are skipped.
    """
    master = nbformat.read(notebook_path(course_dir, "source", assignment), as_version=4)
    sources = {cell.id: cell.source for cell in master.cells}
    sources.update(reference_answers(course_dir, assignment))
    folder = notebook_path(course_dir, "source", assignment).parent
    namespace = {"__name__": f"{assignment}_reference"}
    with _working_in(folder):
        for cell_id in DEFINING_CELLS[assignment]:
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
