"""What crosses between the tests' process and the student's process: data only, checked.

A message is a JSON header and raw buffers over a Unix socket:

    [8-byte length of the header][header JSON][buffer 0][buffer 1]...

The header says each buffer's length. Values are encoded as a tree of JSON objects:

- ``None``, booleans, integers, floats (NaN and infinities too) and strings, as JSON has them;
- ``{"list": [...]}``, ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}`` (keys: strings or integers);
- ``{"array": {"dtype", "shape", "buffer"}}``: a NumPy array of a boolean, integer, float or
  complex dtype (no objects, no records, no subclasses), its bytes in buffer ``buffer``;
  ``{"scalar": ...}`` likewise for a NumPy scalar;
- ``{"generator": state}``: a NumPy random ``Generator``, by its bit generator's state;
- ``{"mapped": ...}``: an array of a course data file passed by name (both processes map the
  same read-only file, at the same path), so that the training data is never copied;
- from the tests' side only: ``{"callback": n}``, a function of the tests' process the
  student's code may call (it runs there, on data it is given).

Nothing is unpickled or evaluated: decoding builds only the types above, within size limits,
and anything else is a `WireError` whose message says what was wrong.
"""

import json
import math
import os
import socket
import struct

import numpy as np

MAX_DEPTH = 32
MAX_HEADER_BYTES = 64 * 2**20
MAX_BUFFER_BYTES = 2 * 2**30  # all buffers of one message together
ARRAY_KINDS = "biufc"  # boolean, signed, unsigned, float, complex
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
DATA_FOLDER = "/opt/mnist-data"  # where a box mounts the course data (see mnistkit.sandbox.box)
SOCKET_BUFFER_BYTES = 4 * 2**20  # a training step's arrays in few system calls (Linux's default ceiling)


class WireError(ValueError):
    """A message, or a value in it, that is not plain data; the message says what."""


class Closed(ConnectionError):
    """The other process closed the connection (or died) before a whole message came."""


# ---------------------------------------------------------------------------
# Encoding


class Encoder:
    """Turns one value into a JSON tree and its buffers. ``callbacks`` (tests' side only) collects functions."""

    def __init__(self, callbacks=None, by_name=False):
        self.buffers = []
        self.callbacks = callbacks
        self.by_name = by_name

    def encode(self, value, depth=0):
        if depth > MAX_DEPTH:
            raise WireError(f"a value nested more than {MAX_DEPTH} levels deep")
        if value is None or isinstance(value, (bool, str)) or type(value) in (int, float):
            return value
        if isinstance(value, np.generic):
            return {"scalar": self._array(np.asarray(value))}
        if type(value) is np.ndarray:
            mapped = self._mapped(value) if self.by_name else None
            return {"mapped": mapped} if mapped else {"array": self._array(value)}
        if type(value) in (list, tuple):
            return {type(value).__name__: [self.encode(item, depth + 1) for item in value]}
        if type(value) is dict:
            for key in value:
                if type(key) not in (str, int):
                    raise WireError(f"a dict key of type {type(key).__name__} (only str and int keys pass)")
            return {"dict": [[key, self.encode(item, depth + 1)] for key, item in value.items()]}
        if isinstance(value, np.random.Generator):
            return {"generator": value.bit_generator.state}
        if self.callbacks is not None and callable(value):
            self.callbacks.append(value)
            return {"callback": len(self.callbacks) - 1}
        raise WireError(f"a value of type {type(value).__name__} cannot be passed (only numbers, strings, "
                        "lists, tuples, dicts and numeric NumPy arrays can)")

    def _array(self, array):
        if array.dtype.kind not in ARRAY_KINDS or array.dtype.hasobject or array.dtype.fields:
            raise WireError(f"a NumPy array of dtype {array.dtype} (only boolean and numeric arrays pass)")
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("="), copy=False)
        self.buffers.append(memoryview(data).cast("B") if data.size else b"")
        return {"dtype": data.dtype.str, "shape": list(array.shape), "buffer": len(self.buffers) - 1}

    def _mapped(self, array):
        """How the other process maps the same bytes of a course data file, or None to send ``array`` by value.

        Only while ``array`` still holds the file's bytes: maps of the data are copy-on-write, so
        the code that holds one may have changed it.
        """
        base = _course_file_map(array)
        if base is None:
            return None
        start = np.asarray(base).__array_interface__["data"][0] - base.offset
        body = {"file": str(base.filename), "offset": int(array.__array_interface__["data"][0] - start),
                "shape": list(array.shape), "strides": list(array.strides), "dtype": array.dtype.str}
        if not np.array_equal(array, _mapped(body, writable=False)):
            return None
        return body


def encode_message(kind, callbacks=None, by_name=False, **fields):
    """The parts of one message (bytes and buffers): ``kind`` and ``fields`` (each a value to encode)."""
    encoder = Encoder(callbacks, by_name)
    header = {"kind": kind, "fields": {name: encoder.encode(value) for name, value in fields.items()}}
    header["buffers"] = [len(buffer) if isinstance(buffer, bytes) else buffer.nbytes for buffer in encoder.buffers]
    text = json.dumps(header, allow_nan=True).encode()
    return [struct.pack("!Q", len(text)), text, *encoder.buffers]


class Channel:
    """One end of the connection between the two processes: whole messages, sent and received.

    A receive interrupted partway through a message (the grader's interrupt at a time limit), or
    a message that is not plain data, leaves the channel ``torn``: what comes next cannot be told
    apart, so it is closed (the other side then sees it end) and never read again.
    """

    def __init__(self, connection):
        self.connection = connection
        self.torn = False

    def tear(self):
        self.torn = True
        try:
            self.connection.shutdown(2)  # SHUT_RDWR: the other side's next read ends at once
        except OSError:
            pass

    @classmethod
    def from_fd(cls, fd):
        return cls(socket.socket(fileno=fd))

    def send(self, kind, callbacks=None, by_name=False, **fields):
        if self.torn:
            raise Closed("the connection was torn by an interrupt")
        parts = encode_message(kind, callbacks, by_name, **fields)  # a WireError here: nothing was sent
        try:
            _send_all(self.connection, parts)
        except BaseException:
            self.tear()
            raise

    def receive(self, allow_from_tests=False):
        """``(kind, {name: value})`` of the next message (see `receive`)."""
        if self.torn:
            raise Closed("the connection was torn by an interrupt")
        try:
            return receive(self.connection, allow_from_tests)
        except BaseException as error:
            if getattr(error, "partway", False) or isinstance(error, (WireError, Closed)):
                self.tear()
            raise


# ---------------------------------------------------------------------------
# Decoding


def _receive_exactly(connection, size, first=False):
    buffer = np.empty(size, dtype=np.uint8)  # not zero-filled first: a training step receives megabytes
    view, received = memoryview(buffer), 0
    try:
        while received < size:
            count = connection.recv_into(view[received:], size - received)
            if count == 0:
                raise Closed("the other process closed the connection")
            received += count
    except BaseException as error:
        if received or not first:
            try:
                error.partway = True  # the message was begun: the channel is torn
            except AttributeError:
                pass
        raise
    return buffer


def receive(connection, allow_from_tests=False):
    """``(kind, {name: value})`` of the next message on the socket ``connection``; `WireError` for anything
    that is not plain data.

    ``allow_from_tests`` (the student's side) also accepts mapped data files and callbacks; the
    tests' side never does.
    """
    (size,) = struct.unpack("!Q", bytes(_receive_exactly(connection, 8, first=True)))
    if size > MAX_HEADER_BYTES:
        raise WireError(f"a message header of {size:,} bytes")
    try:
        header = json.loads(bytes(_receive_exactly(connection, size)))
    except ValueError:
        raise WireError("a message header that is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("kind"), str) \
            or not isinstance(header.get("fields"), dict) or not isinstance(header.get("buffers"), list):
        raise WireError("a message without a kind, fields and buffers")
    sizes = header["buffers"]
    if not all(type(n) is int and n >= 0 for n in sizes) or sum(sizes) > MAX_BUFFER_BYTES:
        raise WireError("a message whose buffers are not a list of sizes within the limit")
    data = memoryview(_receive_exactly(connection, sum(sizes)))  # all buffers at once: few system calls
    ends = [sum(sizes[:index + 1]) for index in range(len(sizes))]
    buffers = [data[end - size:end] for size, end in zip(sizes, ends)]
    decoder = _Decoder(buffers, allow_from_tests)
    return header["kind"], {str(name): decoder.decode(value) for name, value in header["fields"].items()}


def _send_all(connection, parts):
    """Send ``parts`` (bytes and buffers) in as few system calls as the socket takes them."""
    pending = [memoryview(part).cast("B") for part in parts if len(part)]
    while pending:
        sent = connection.sendmsg(pending[:512])
        while sent and pending:
            if sent >= pending[0].nbytes:
                sent -= pending.pop(0).nbytes
            else:
                pending[0], sent = pending[0][sent:], 0


class _Decoder:
    def __init__(self, buffers, allow_from_tests):
        self.buffers = buffers
        self.allow_from_tests = allow_from_tests
        self.callbacks = []  # callback numbers found, in order (the student's side makes them callable)

    def decode(self, tree, depth=0):
        if depth > MAX_DEPTH:
            raise WireError(f"a value nested more than {MAX_DEPTH} levels deep")
        if tree is None or type(tree) in (bool, int, float, str):
            return tree
        if type(tree) is not dict or len(tree) != 1:
            raise WireError("a value that is not one of the plain kinds")
        ((kind, body),) = tree.items()
        if kind in ("list", "tuple") and type(body) is list:
            items = [self.decode(item, depth + 1) for item in body]
            return items if kind == "list" else tuple(items)
        if kind == "dict" and type(body) is list:
            result = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2 or type(pair[0]) not in (str, int):
                    raise WireError("a dict entry that is not a [str or int key, value] pair")
                result[pair[0]] = self.decode(pair[1], depth + 1)
            return result
        if kind == "array":
            return self._array(body)
        if kind == "scalar":
            return self._array(body)[()]
        if kind == "generator":
            return _generator(body)
        if kind == "mapped":
            return _mapped(body, writable=self.allow_from_tests)
        if kind == "callback" and self.allow_from_tests and type(body) is int:
            return Callback(body)
        raise WireError(f"a value of kind {kind!r} cannot be passed here")

    def _array(self, body):
        if type(body) is not dict or not isinstance(body.get("dtype"), str) or type(body.get("shape")) is not list \
                or type(body.get("buffer")) is not int or not 0 <= body["buffer"] < len(self.buffers):
            raise WireError("an array without a dtype, a shape and a buffer")
        try:
            dtype = np.dtype(body["dtype"])
        except TypeError:
            raise WireError(f"an array of an unknown dtype {body['dtype']!r}") from None
        if dtype.kind not in ARRAY_KINDS or dtype.fields or dtype.subdtype:
            raise WireError(f"an array of dtype {dtype} (only boolean and numeric arrays pass)")
        shape = body["shape"]
        if not all(type(n) is int and n >= 0 for n in shape) or len(shape) > 32:
            raise WireError("an array whose shape is not a list of sizes")
        buffer = self.buffers[body["buffer"]]
        if math.prod(shape) * dtype.itemsize != len(buffer):
            raise WireError("an array whose bytes do not match its shape and dtype")
        return np.frombuffer(buffer, dtype=dtype).reshape(shape)  # writable, and owned by this message alone


def _generator(state):
    if type(state) is not dict or state.get("bit_generator") not in BIT_GENERATORS:
        raise WireError("a random generator of an unknown kind")
    bit_generator = getattr(np.random, state["bit_generator"])()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError) as error:
        raise WireError(f"a random generator whose state is not valid ({error})") from None
    return np.random.Generator(bit_generator)


_maps = {}  # (path, writable) -> this process's map of a course data file


def _file_map(path, writable):
    """One map per file and kind in this process: mapping 150 MB afresh for every batch cost more than the batch."""
    if (path, writable) not in _maps:
        _maps[(path, writable)] = np.memmap(path, dtype=np.uint8, mode="c" if writable else "r")
    return _maps[(path, writable)]


def forget_private_maps():
    """Drop the copy-on-write maps, so that what code changed in them is not seen by the next test cell's data."""
    for key in [key for key in _maps if key[1]]:
        del _maps[key]


def _mapped(body, writable):
    """The course data array ``body`` names: copy-on-write on the student's side, read-only on the tests'."""
    if type(body) is not dict or not isinstance(body.get("file"), str) or not isinstance(body.get("dtype"), str):
        raise WireError("a mapped array without a file and a dtype")
    path = os.path.realpath(body["file"])
    if not path.startswith(DATA_FOLDER + "/"):
        raise WireError("a mapped array outside the course data")
    try:
        dtype = np.dtype(body["dtype"])
        if dtype.kind not in ARRAY_KINDS or dtype.fields or dtype.subdtype:
            raise TypeError(dtype)
        whole = _file_map(path, writable)
        array = np.ndarray(tuple(body["shape"]), dtype=dtype, buffer=whole, offset=int(body["offset"]),
                           strides=tuple(body["strides"]))
    except (TypeError, ValueError, OSError) as error:
        raise WireError(f"a mapped array that does not fit its file ({error})") from None
    low, high = np.lib.array_utils.byte_bounds(array) if hasattr(np.lib, "array_utils") else np.byte_bounds(array)
    start = np.asarray(whole).__array_interface__["data"][0]
    if low < start or high > start + whole.size:
        raise WireError("a mapped array that reaches outside its file")
    return array.view(np.ndarray)


def _course_file_map(array):
    """The map of a course data file that ``array`` is a view of, or None."""
    base = array
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    return base if str(getattr(base, "filename", "") or "").startswith(DATA_FOLDER + "/") else None


def is_course_data(array):
    """Whether ``array`` maps a course data file (the student's side of a ``mapped`` value)."""
    return _course_file_map(array) is not None


class Callback:
    """A function of the tests' process, by number (the student's side turns it into a callable)."""

    def __init__(self, number):
        self.number = number

