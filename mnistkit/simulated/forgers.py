"""Forgers: students whose code tries to decide their own verdicts, and the points each must still get.

Each entry pairs a `SimulatedStudent` with the points its honest work earns: the untouched
stubs earn nothing, and a forger built on a catalogue mistake earns exactly what that mistake
earns. Every channel by which code in the tests' process could change how an error is raised,
caught, shown or recorded is tried from the student's process, where the student's code runs;
the tests run in another process (`mnistkit.kernel.tests_side`), so none of it reaches them.
tests/test_catalogue.py grades them in the same batch as the catalogue.
"""

from functools import partial

from mnistkit.simulated import mnist_mlp_students as part2
from mnistkit.simulated import mnist_numpy_students as part1
from mnistkit.simulated.students import PART1, PART2, SimulatedStudent, function, insert_after, set_source

NOTHING = {cell: 0 for cell in part1.ALL_POINTS}
NOTHING_IN_PART2 = {cell: 0 for cell in part2.ALL_POINTS}


def _stubs_and(student_id, description, code, assignment=PART1, after="softmax"):
    """The untouched release, with ``code`` in a cell of the student's own after the cell ``after``."""
    return SimulatedStudent(student_id, description, assignment=assignment, untouched=True,
                            edit=lambda notebook: insert_after(notebook, after, code))


Part1 = partial(SimulatedStudent, assignment=PART1)
Part2 = partial(SimulatedStudent, assignment=PART2)

SILENT_ERRORS = """
shell = get_ipython()
shell.showtraceback = lambda *args, **kwargs: None
shell._showtraceback = lambda *args, **kwargs: None

def _forget_the_error(result):
    result.error_in_exec = None
    result.error_before_exec = None

shell.events.register("post_run_cell", _forget_the_error)
"""

FRAME_WALKER = function(part1.SOFTMAX, """
import sys
frame = sys._getframe(1)
while frame is not None:
    for value in list(frame.f_locals.values()):
        if isinstance(value, np.ndarray) and value.shape == np.shape(z) and value.dtype.kind == "f" \\
                and np.all(value > 0) and np.allclose(value.sum(axis=-1), 1):
            return value
    frame = frame.f_back
raise NotImplementedError()
""")

EXCEPTHOOKS = """
import sys
import IPython.core.interactiveshell as interactiveshell
sys.excepthook = lambda *args: None
interactiveshell.InteractiveShell.showtraceback = lambda self, *args, **kwargs: None
interactiveshell.InteractiveShell.run_cell_magic = lambda self, *args, **kwargs: None
"""

SETTRACE = """
import sys, threading

def _tracer(frame, event, arg):
    if event == "exception":
        frame.f_locals.clear()
    return _tracer

sys.settrace(_tracer)
threading.settrace(_tracer)
"""

IMPORT_HOOK = """
import builtins, types
_real_import = builtins.__import__
_fake = types.ModuleType("mnist_checks")
_fake.check_close = _fake.check_shape = _fake.check_finite = lambda value, *args, **kwargs: value
_fake.relative_error = lambda a, b: 0.0

def _import(name, *args, **kwargs):
    return _fake if name == "mnist_checks" else _real_import(name, *args, **kwargs)

builtins.__import__ = _import
"""

THREAD = """
import threading, time
import mnist_checks

def _keep_patching():
    while True:
        np.allclose = lambda *args, **kwargs: True
        mnist_checks.check_close = lambda *args, **kwargs: None
        time.sleep(0.001)

threading.Thread(target=_keep_patching, daemon=True).start()
"""

LYING_VALUES = """
class _Lying:
    shape = property(lambda self: (7, 10))
    def __eq__(self, other): return True
    def __float__(self): return 0.0
    def __array__(self, dtype=None, copy=None): return np.full((7, 10), 0.1)
    def __len__(self): return 7
    def __getitem__(self, index): return self

class _LyingArray(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), bool)

def softmax(z):
    return _Lying()

def cross_entropy_loss(p, q):
    return np.full(1, 0.5).view(_LyingArray)

def one_hot_encode(label, num_classes=10):
    return np.array([_Lying()] * 10, dtype=object)
"""

# The student's side of the connection, replaced: what it sends is not an answer.
REPLIES = """
import json, os, pickle, struct
import mnistkit.kernel.student_side as student_side

class _Payload:
    def __reduce__(self):
        return (exec, ("import mnist_checks; mnist_checks.check_close = lambda *a, **k: None",))

def _forged(reply, namespace, snapshot, fields):
    connection = reply.channel.connection
    {how}

student_side._call = _forged
"""
PICKLE_REPLY = REPLIES.format(how="""header = json.dumps({"kind": "returned", "fields": {"cell": reply.cell, "call": reply.call,
        "value": {"pickle": pickle.dumps(_Payload()).hex()}}, "buffers": []}).encode()
    connection.sendall(struct.pack("!Q", len(header)) + header)""")
RAW_PICKLE = REPLIES.format(how="""payload = pickle.dumps(_Payload())
    connection.sendall(struct.pack("!Q", len(payload)) + payload)""")
GARBAGE = REPLIES.format(how="""connection.sendall(os.urandom(64) + struct.pack("!Q", 2**62))""")

NEVER_ANSWERS = """
import time
import mnistkit.kernel.student_side as student_side
student_side.serve = lambda cell: time.sleep(10**6)
"""

# Part 2: the summed-gradients mistake, with each of these on top (it earns 19 of 25 alone).
SUMMED = part2.SUMMED
CODE_OBJECTS = SUMMED + """


import mnist_checks, mlp_helpers
mnist_checks.check_close.__code__ = (lambda value, expected, what, rtol=0, atol=0, hint="": None).__code__
mnist_checks.relative_error.__code__ = (lambda a, b: 0.0).__code__
mlp_helpers.cross_entropy_loss.__code__ = (lambda p, q: 0.0).__code__
"""
REWRITES_CALLERS = SUMMED.replace("def backward(", "def _summed_backward(", 1) + """


def backward(y_true, probs, params, cache):
    import ctypes, sys
    grads = _summed_backward(y_true, probs, params, cache)
    frame = sys._getframe(1)
    while frame is not None:  # make every caller's expectation agree with this answer
        names = frame.f_locals
        for key in ("expected", "numerical", "error"):
            if key in names:
                names[key] = 0.0 if key == "error" else grads
        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
        frame = frame.f_back
    return grads
"""
DISABLES_GUARD = SUMMED + """


import mnistkit.kernel.guard as guard
guard._Snapshot.restore = lambda self, namespace: None
guard._Snapshot.changes = lambda self: []
np.allclose = lambda *args, **kwargs: True
"""

PART1_FORGERS = [
    (_stubs_and("forge-silent-errors", "stubs; hides every traceback and clears every cell's error", SILENT_ERRORS),
     NOTHING),
    (Part1("forge-fake-checks-package", "the seed's softmax, and a package mnist_checks/ beside the notebook whose "
           "checks check nothing", answers={"softmax": part1.seed_softmax_and()},
           files={"mnist_checks/__init__.py": "def check_close(*a, **k):\n    return a[0]\n"
                                              "check_shape = check_finite = check_close\n"}),
     part1.SEED_SOFTMAX_POINTS),
    (Part1("forge-frame-walker", "stubs; its softmax returns any probability-like array in its callers' frames",
           untouched=True, edit=lambda notebook: set_source(notebook, FRAME_WALKER, "softmax")), NOTHING),
    (_stubs_and("forge-excepthooks", "stubs; replaces sys.excepthook and IPython's traceback display", EXCEPTHOOKS),
     NOTHING),
    (_stubs_and("forge-settrace", "stubs; a trace function in every thread that clears frames on exceptions",
                SETTRACE), NOTHING),
    (_stubs_and("forge-import-hook", "stubs; builtins.__import__ returns a fake mnist_checks", IMPORT_HOOK), NOTHING),
    (_stubs_and("forge-thread", "stubs; a thread that keeps patching NumPy and the checks", THREAD), NOTHING),
    (_stubs_and("forge-lying-values", "returns objects that equal anything, a lying ndarray subclass and an object "
                "array", LYING_VALUES), NOTHING),
    (_stubs_and("forge-pickle-reply", "answers every call with a pickle that would patch the checks if loaded",
                PICKLE_REPLY), NOTHING),
    (_stubs_and("forge-raw-pickle", "answers every call with raw pickle bytes", RAW_PICKLE), NOTHING),
    (_stubs_and("forge-garbage-reply", "answers every call with random bytes", GARBAGE), NOTHING),
    (_stubs_and("forge-never-answers", "its kernel stops answering the tests' calls", NEVER_ANSWERS), NOTHING),
]

PART2_FORGERS = [
    (_stubs_and("mlp-forge-silent-errors", "stubs; hides every traceback and clears every cell's error",
                SILENT_ERRORS, assignment=PART2, after="relu"), NOTHING_IN_PART2),
    (Part2("mlp-forge-code-objects", "sums its gradients, and replaces the code of check_close, relative_error and "
           "the loss", answers={"backward": CODE_OBJECTS}), part2.losing(*part2.WRONG_GRADIENTS)),
    (Part2("mlp-forge-rewrites-callers", "sums its gradients, and rewrites its callers' local variables",
           answers={"backward": REWRITES_CALLERS}), part2.losing(*part2.WRONG_GRADIENTS)),
    (Part2("mlp-forge-disables-guard", "sums its gradients, switches the kernel guard off and patches NumPy",
           answers={"backward": DISABLES_GUARD}), part2.losing(*part2.WRONG_GRADIENTS)),
]

