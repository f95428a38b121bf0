"""What may cross between the tests' process and the student's: plain data only, checked on arrival."""

import json
import pickle
import socket
import struct
import threading

import numpy as np
import pytest

from mnistkit.kernel import student_side, tests_side, wire


def _pair():
    a, b = socket.socketpair()
    return wire.Channel(a), wire.Channel(b)


def _raw(header, *buffers):
    text = json.dumps(header).encode()
    return struct.pack("!Q", len(text)) + text + b"".join(buffers)


@pytest.mark.parametrize("value", [
    None, True, 3, 2**70, -1.5, float("inf"), "text", [1, [2, 3]], (1, "a"), {"W1": np.eye(2), 3: [1.0]},
    np.arange(6, dtype=np.int64).reshape(2, 3), np.zeros((0, 4)), np.float32(1.25), np.array([True, False]),
    np.arange(4.0)[::2], np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.array([1 + 2j]),
])
def test_plain_data_crosses_unchanged(value):
    sender, receiver = _pair()
    sender.send("returned", value=value)
    kind, fields = receiver.receive()
    assert kind == "returned"
    got = fields["value"]
    if isinstance(value, dict):
        assert got.keys() == value.keys() and np.array_equal(got["W1"], value["W1"]) and got[3] == value[3]
    elif isinstance(value, (np.ndarray, np.generic)):
        assert type(got) is type(value) and got.dtype == value.dtype and np.array_equal(got, value)
    else:
        assert got == value and type(got) is type(value)


class _Subclass(np.ndarray):
    pass


@pytest.mark.parametrize("value, why", [
    (object(), "type object"), (np.array([1, "a"], dtype=object), "dtype object"),
    (np.zeros(3).view(_Subclass), "_Subclass"), (lambda: 1, "type function"), ({(1, 2): 3}, "dict key"),
    (np.zeros(2, dtype=[("a", "f8")]), "dtype"), (np.array(["text"]), "dtype <U4"),
])
def test_anything_else_is_refused_before_it_is_sent(value, why):
    sender, receiver = _pair()
    with pytest.raises(wire.WireError, match=why):
        sender.send("returned", value=value)
    sender.send("returned", value=1)  # nothing half-sent: the channel still works
    assert receiver.receive() == ("returned", {"value": 1})


@pytest.mark.parametrize("message", [
    _raw({"kind": "returned", "fields": {"value": {"pickle": pickle.dumps(object()).hex()}}, "buffers": []}),
    _raw({"kind": "returned", "fields": {"value": {"array": {"dtype": "|O", "shape": [1], "buffer": 0}}},
          "buffers": [8]}, b"\0" * 8),
    _raw({"kind": "returned", "fields": {"value": {"array": {"dtype": "<f8", "shape": [4], "buffer": 0}}},
          "buffers": [8]}, b"\0" * 8),
    _raw({"kind": "returned", "fields": {"value": {"mapped": {"file": "/etc/passwd", "offset": 0, "shape": [1],
                                                              "strides": [1], "dtype": "|u1"}}}, "buffers": []}),
    _raw({"kind": "returned", "fields": {"value": {"callback": 0}}, "buffers": []}),
    _raw({"kind": "returned", "fields": {"value": {"generator": {"bit_generator": "os.system"}}}, "buffers": []}),
    _raw({"kind": "returned", "fields": [], "buffers": []}),
    struct.pack("!Q", 5) + b"\x80\x04K\x01.",
])
def test_the_tests_side_refuses_what_is_not_plain_data(message):
    a, b = socket.socketpair()
    a.sendall(message)
    receiver = wire.Channel(b)
    with pytest.raises(wire.WireError):
        receiver.receive()
    assert receiver.torn


def test_a_header_longer_than_the_limit_is_refused_unread():
    a, b = socket.socketpair()
    a.sendall(struct.pack("!Q", 2**62))
    with pytest.raises(wire.WireError, match="header"):
        wire.Channel(b).receive()


class _Snapshot:
    def restore(self, namespace):
        pass

    def changes(self):
        return []


def test_a_proxy_calls_the_students_function_and_sees_what_it_did_to_its_arguments():
    """The two sides over a socket pair, without kernels: a call, a call back, an error, a changed argument."""

    notebook = {"rate": 0.5}
    exec(  # as a notebook defines them: their globals are the notebook's namespace
        "def forward(X, params):\n"
        "    raise NotImplementedError(\"the student's own forward\")\n"
        "def learn(params, X, steps):\n"
        "    for _ in range(steps):\n"
        "        probs = forward(X, params)\n"
        "    params['W'] += 1  # changes what it was given\n"
        "    return params['W'].sum(), probs\n", notebook)
    student_end, tests_end = socket.socketpair()
    student_side.start(student_end.fileno(), notebook, _Snapshot())
    tests_side._state.update(channel=wire.Channel(tests_end), cell=0, call=0, bound=set())
    server = threading.Thread(target=lambda: [student_side.serve(cell) for cell in (1, 2, 3)])
    server.start()
    try:
        namespace = {}
        tests_side._bind(namespace, "def hidden_test():\n    return learn(p, X, 1), rate, unknown\n")
        assert sorted(namespace) == ["learn", "rate"] and namespace["rate"] == 0.5
        params = {"W": np.zeros((2, 2))}
        with pytest.raises(NotImplementedError, match="the student's own forward"):
            namespace["learn"](params, np.ones((3, 2)), 1)
        total, probs = tests_side.StudentFunction("learn").with_names(forward=lambda X, p: X @ p["W"])(
            params, np.ones((3, 2)), 2)
        assert total == 4.0 and probs.shape == (3, 2) and np.array_equal(params["W"], np.ones((2, 2)))
        tests_side._finish()
        tests_side._bind(namespace, "learn")
        tests_side._finish()
        course_helper = namespace["forward"] = object()  # defined by an earlier test cell, in the tests' kernel
        tests_side._bind(namespace, "forward(1)")
        assert namespace["forward"] is course_helper, "the notebook's forward must not replace the tests' own"
        tests_side._finish()
    finally:
        server.join(timeout=10)
    assert not server.is_alive()
