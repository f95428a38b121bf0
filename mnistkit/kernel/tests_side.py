"""Runs in the tests' kernel: the process where every graded test cell runs and its verdict is decided.

No student code ever runs in this process. Before a test cell runs, the names it uses that the
notebook defines are bound here: the student's functions as `StudentFunction` proxies, which
call into the student's process and get back data (`mnistkit.kernel.wire`), and the student's
plain values as copies. Whatever the student's process does, it can only answer calls: how an
error is raised, caught, shown or recorded is this process's own.

The course data the tests load here is passed to the student's process by name (both map the
same read-only file).
"""

import builtins
import symtable

import numpy as np

from mnistkit.kernel import wire

_state = {"channel": None, "bound": set(), "cell": 0, "call": 0}
DESCRIBE_SECONDS = 10  # the student's process answers which names it has at once, or not at all
_BUILTIN_ERRORS = {name: getattr(builtins, name) for name in (
    "ArithmeticError", "AssertionError", "AttributeError", "FloatingPointError", "IndexError", "KeyError",
    "LookupError", "MemoryError", "NameError", "NotImplementedError", "OverflowError", "RecursionError",
    "RuntimeError", "TypeError", "UnboundLocalError", "ValueError", "ZeroDivisionError")}


class StudentCodeError(Exception):
    """An error the student's code raised that is not one of Python's own; its name is the student's."""


class NoAnswer(RuntimeError):
    """The student's process gave no usable answer: it died, went away, or sent what is not plain data."""


def install(calls_fd):
    """Start binding the student's names before each cell (run by the grader when this kernel starts)."""
    _state["channel"] = wire.Channel.from_fd(calls_fd)
    shell = get_ipython()  # noqa: F821 (defined in every IPython kernel)
    shell.events.register("pre_run_cell", lambda info: _bind(shell.user_ns, info.raw_cell))
    shell.events.register("post_run_cell", lambda result: _finish())


def names_used(source):
    """The global names ``source`` reads but does not define: what it needs from the notebook."""
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        return set()
    defined = {symbol.get_name() for symbol in table.get_symbols()
               if symbol.is_assigned() or symbol.is_imported() or symbol.is_namespace()}
    used = set()
    pending = [table]
    while pending:
        scope = pending.pop()
        for symbol in scope.get_symbols():
            if symbol.is_referenced() and (scope.get_type() == "module" or symbol.is_global()):
                used.add(symbol.get_name())
        pending += scope.get_children()
    return used - defined - set(dir(builtins))


def _request(kind, **fields):
    """Send a request of the current test cell; its call number."""
    _state["call"] += 1
    _state["channel"].send(kind, cell=_state["cell"], call=_state["call"], **fields)
    return _state["call"]


def _answer(call, callbacks=()):
    """The student's process's answer to request ``call``, running the callbacks it asks for meanwhile."""
    channel = _state["channel"]
    while True:
        kind, fields = channel.receive()
        if fields.get("cell") != _state["cell"] or fields.get("call") != call:
            continue  # the answer to a request the tests stopped waiting for
        if kind != "callback":
            return kind, fields
        _run_callback(channel, callbacks, fields)


def _bind(namespace, source):
    """Bind the names of the notebook that the test cell ``source`` uses (its first step)."""
    _state["cell"] += 1
    for name in _state["bound"]:
        namespace.pop(name, None)
    _state["bound"] = set()
    # What the tests defined here themselves (an earlier test cell's helper, an import) is never replaced.
    wanted = sorted(name for name in names_used(source) if name not in namespace)
    channel = _state["channel"]
    try:
        channel.connection.settimeout(DESCRIBE_SECONDS)
        kind, fields = _answer(_request("describe", names=wanted))
    except (OSError, wire.WireError, wire.Closed):
        kind = None
        channel.tear()  # it did not answer in time, or not in words: it is not asked again
    finally:
        channel.connection.settimeout(None)
    if kind != "described":  # every name the test uses says, when called, that nobody answers
        fields = {"functions": wanted, "values": {}}
    functions = fields.get("functions") if isinstance(fields.get("functions"), list) else []
    values = fields.get("values") if isinstance(fields.get("values"), dict) else {}
    for name in wanted:
        if name in functions:
            namespace[name] = StudentFunction(name)
        elif name in values:
            namespace[name] = values[name]
        else:
            continue
        _state["bound"].add(name)


def _finish():
    try:
        _request("done")
    except (OSError, wire.Closed):
        pass


def _run_callback(channel, callbacks, fields):
    """Run the tests' function the student's code called back, on the data it gave; send its result."""
    number, args, kwargs = fields.get("number"), fields.get("args"), fields.get("kwargs")
    if type(number) is not int or not 0 <= number < len(callbacks) or type(args) is not list \
            or type(kwargs) is not dict or not all(isinstance(key, str) for key in kwargs):
        raise wire.WireError("a call back of the tests' process that is not well formed")
    tag = {"cell": fields["cell"], "call": fields["call"]}
    try:
        value = callbacks[number](*args, **kwargs)
    except Exception as error:  # noqa: BLE001 (the course's function failed on what the student gave it)
        channel.send("raised", type=type(error).__name__, message=str(error)[:20_000], **tag)
        return
    channel.send("returned", by_name=True, value=value, **tag)


class StudentFunction:
    """A function of the student's notebook, called in the student's process on data sent from here."""

    def __init__(self, name, replacements=None):
        self.__name__ = self.name = name
        self.replacements = dict(replacements or {})

    def __repr__(self):
        return f"<the notebook's function {self.name}>"

    def with_names(self, **replacements):
        """This function, called with ``replacements`` (functions of this process) in place of the notebook's
        functions of those names: the student's ``learn`` with the course's ``forward``."""
        return StudentFunction(self.name, {**self.replacements, **replacements})

    def __call__(self, *args, **kwargs):
        callbacks = []
        _state["call"] += 1
        call = _state["call"]
        try:
            _state["channel"].send("call", callbacks=callbacks, by_name=True, cell=_state["cell"], call=call,
                                   name=self.name, args=list(args), kwargs=kwargs, replace=self.replacements)
        except wire.WireError as error:
            raise TypeError(f"{self.name} cannot be given these arguments across to the notebook: {error}") from None
        except wire.Closed:
            raise NoAnswer(f"{self.name} cannot be called: the student's kernel is not answering "
                           "(did it crash, or stop answering earlier?)") from None
        try:
            kind, fields = _answer(call, callbacks)
        except wire.Closed:
            raise NoAnswer(f"{self.name} cannot be called: the student's kernel is not answering "
                           "(did it crash, or stop answering earlier?)") from None
        except wire.WireError as error:
            raise NoAnswer(f"{self.name} answered with something that is not plain data: {error}") from None
        if kind == "returned":
            _write_back(args, kwargs, fields.get("changed"))
            return fields.get("value")
        if kind == "raised":
            raise _rebuilt(fields)
        raise NoAnswer(f"{self.name} gave an answer of an unknown kind")


def _rebuilt(fields):
    """The exception the student's code raised, as an exception of this process."""
    name, message = fields.get("type"), fields.get("message")
    name = name if isinstance(name, str) and name.isidentifier() and len(name) <= 100 else "Error"
    message = message if isinstance(message, str) else ""
    where = fields.get("where")
    if isinstance(where, str) and where:
        message = f"{message}\n(raised in the notebook's code:\n{where[:4000]})"
    kind = _BUILTIN_ERRORS.get(name) or type(name, (StudentCodeError,), {})
    return kind(message)


def _write_back(args, kwargs, changed):
    """Make the arguments here what the call left them in the student's process (a test may check them)."""
    if not isinstance(changed, dict):
        return
    for position, value in changed.items():
        if position.startswith("kwarg:") and position[6:] in kwargs:
            _update(kwargs[position[6:]], value)
        elif position.isdigit() and int(position) < len(args):
            _update(args[int(position)], value)


def _update(original, value):
    """Change ``original`` (an array, dict or list of the test's) in place to equal ``value``, where it can."""
    if isinstance(original, np.ndarray):
        if isinstance(value, np.ndarray) and original.flags.writeable and original.shape == value.shape:
            np.copyto(original, value, casting="unsafe")
    elif isinstance(original, dict) and isinstance(value, dict):
        for key in [key for key in original if key not in value]:
            del original[key]
        for key, item in value.items():
            original[key] = _updated(original.get(key), item)
    elif isinstance(original, list) and isinstance(value, (list, tuple)):
        if len(original) == len(value):
            original[:] = [_updated(old, item) for old, item in zip(original, value)]
        else:
            original[:] = list(value)


def _updated(old, new):
    """``old`` changed in place to ``new`` where it is the same kind of container (so references to it see
    the change), else ``new``."""
    same_array = isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and old.shape == new.shape \
        and old.flags.writeable
    if same_array or (isinstance(old, dict) and isinstance(new, dict)) or (isinstance(old, list) and isinstance(new, list)):
        _update(old, new)
        return old
    return new
