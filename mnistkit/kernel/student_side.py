"""Runs in the student's grading kernel: answers the tests' calls of the student's functions.

The tests run in another process (`mnistkit.kernel.tests_side`); while one test cell runs
there, the grader runs `serve` here, in the student's kernel's main thread, as a cell of its
own. `serve` reads one test cell's requests from the tests' process and answers them:

- ``describe``: which of the names a test uses the notebook defines (functions, or values);
- ``call``: call one of the notebook's functions on the data given; its result goes back as
  data, with any argument the call changed. Names may be replaced for the call (a test runs the
  student's ``learn`` with the course's ``forward``): each replacement is a function of the
  tests' process, called back there;
- ``done``: the test cell is over.

Every message carries the numbers of its test cell and call, so that an answer the tests'
process stopped waiting for is never taken for another. Before each call NumPy, the course's modules and the builtins are put back as they were when
the kernel started (`mnistkit.kernel.guard`); a call that changes them is answered with an
error. Nothing here decides a grade: the student's code may change all of this, and can then
only answer worse.
"""

import copy
import traceback

import numpy as np

from mnistkit.kernel import wire

_state = {"channel": None, "namespace": None, "snapshot": None}


def start(calls_fd, namespace, snapshot):
    """Keep the end of the connection to the tests' process (called by the grader's first cell)."""
    _state.update(channel=wire.Channel.from_fd(calls_fd), namespace=namespace, snapshot=snapshot)


def serve(cell):
    """Answer the calls of test cell number ``cell`` until the tests' process says it is done or goes away.

    Messages of other cells (left from a test cell that was interrupted) are skipped.
    """
    channel = _state["channel"]
    wire.forget_private_maps()
    while True:
        try:
            kind, fields = channel.receive(allow_from_tests=True)
        except (wire.Closed, wire.WireError, OSError):
            return
        if fields.get("cell") != cell:
            continue
        reply = _Reply(channel, cell, fields.get("call"))
        if kind == "done":
            return
        if kind == "describe":
            _describe(reply, _state["namespace"], fields.get("names", []))
        elif kind == "call":
            _call(reply, _state["namespace"], _state["snapshot"], fields)


class _Reply:
    """Answers one request, tagged with its cell and call numbers."""

    def __init__(self, channel, cell, call):
        self.channel, self.cell, self.call = channel, cell, call

    def __call__(self, kind, by_name=False, **fields):
        self.channel.send(kind, by_name=by_name, cell=self.cell, call=self.call, **fields)


def _describe(reply, namespace, names):
    functions, values = [], {}
    for name in names if isinstance(names, list) else []:
        if not isinstance(name, str) or name not in namespace:
            continue
        value = namespace[name]
        if callable(value):
            functions.append(name)
        else:
            try:
                wire.Encoder().encode(value)
                values[name] = value
            except wire.WireError:
                pass  # not data: the test finds no such name
    reply("described", functions=functions, values=values)


def _call(reply, namespace, snapshot, fields):
    name = fields.get("name")
    function = namespace.get(name) if isinstance(name, str) else None
    if not callable(function):
        reply("raised", type="NameError", message=f"name {name!r} is not defined")
        return
    args, kwargs = _with_callbacks(reply, fields.get("args", [])), _with_callbacks(reply, fields.get("kwargs", {}))
    replace = _with_callbacks(reply, fields.get("replace") or {})
    if type(args) is not list or type(kwargs) is not dict or type(replace) is not dict:
        reply("raised", type="TypeError", message="a call without a list of arguments")
        return
    given = _copied((args, kwargs))
    names = getattr(function, "__globals__", namespace)
    own = {key: names.get(key, _MISSING) for key in replace}
    snapshot.restore(namespace)
    try:
        names.update(replace)
        result = function(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001 (KeyboardInterrupt too: the grader's interrupt ends the call)
        reply("raised", type=type(error).__name__, message=str(error)[:20_000], where=_student_frames(error))
        return
    finally:
        for key, value in own.items():
            names.pop(key, None) if value is _MISSING else names.__setitem__(key, value)
    changed = snapshot.changes()
    snapshot.restore(namespace)
    if changed:
        from mnistkit.kernel.guard import TAMPERING_MESSAGE

        reply("raised", type="AssertionError", message=TAMPERING_MESSAGE.format(names=", ".join(sorted(changed)[:5])))
        return
    changes = {str(position): value for position, value in _changed(given, (args, kwargs))}
    try:
        reply("returned", by_name=True, value=result, changed=changes)
    except wire.WireError as error:
        reply("raised", type="TypeError", message=f"{name} returned {error}")


_MISSING = object()


def _with_callbacks(reply, value):
    """``value`` with each `wire.Callback` replaced by a function that calls back into the tests' process."""
    if isinstance(value, wire.Callback):
        return _callback(reply, value.number)
    if isinstance(value, list):
        return [_with_callbacks(reply, item) for item in value]
    if isinstance(value, tuple):
        return tuple(_with_callbacks(reply, item) for item in value)
    if isinstance(value, dict):
        return {key: _with_callbacks(reply, item) for key, item in value.items()}
    return value


def _callback(reply, number):
    """A function that runs the tests' process's function ``number`` there, on the data it is given."""

    def course_function(*args, **kwargs):
        reply("callback", by_name=True, number=number, args=list(args), kwargs=kwargs)
        while True:
            kind, fields = reply.channel.receive(allow_from_tests=True)
            if fields.get("cell") == reply.cell and fields.get("call") == reply.call:
                break
        if kind == "returned":
            return fields.get("value")
        raise RuntimeError(f"{fields.get('type', 'Error')}: {fields.get('message', '')}")

    return course_function


def _copied(value):
    """A copy of the call's arguments to compare with after it, without the course data passed by name."""
    if isinstance(value, np.ndarray):
        return _COURSE_DATA if wire.is_course_data(value) else value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_copied(item) for item in value)
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    return copy.copy(value)


_COURSE_DATA = object()  # the course data passed by name: what a call does to its private map is not sent back


def _changed(given, now):
    """``(position, value)`` of each argument the call changed: ``"0"``, ``"1"``, ... and ``"kwarg:name"``."""
    (args_before, kwargs_before), (args_after, kwargs_after) = given, now
    pairs = [(str(index), before, after) for index, (before, after) in enumerate(zip(args_before, args_after))]
    pairs += [(f"kwarg:{key}", kwargs_before[key], kwargs_after[key]) for key in kwargs_before]
    for position, before, after in pairs:
        if not _same(before, after):
            yield position, after


def _same(a, b):
    if a is _COURSE_DATA:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, (list, tuple)) and type(a) is type(b):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def _student_frames(error):
    """Where in the student's code the error was raised: its last frames, as text."""
    frames = traceback.extract_tb(error.__traceback__)[1:]
    return "".join(traceback.format_list(frames[-3:]))[:4000]
