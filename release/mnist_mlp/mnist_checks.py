"""Small checking tools used by the assignment's tests.

Every check raises ``AssertionError`` with a message that says what was expected and
what was got, so that a failing test tells you what to fix.
"""

import numpy as np


def as_float_array(value, what):
    """``value`` as a float64 array, or a failure saying it is not numeric."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be a numeric array, got {type(value).__name__}: {value!r:.80}") from None
    return array


def check_shape(value, expected_shape, what):
    """Fail unless ``value`` is a numeric array of shape ``expected_shape``; return it as float64."""
    array = as_float_array(value, what)
    if array.shape != tuple(expected_shape):
        raise AssertionError(f"{what} should have shape {tuple(expected_shape)}, got {array.shape}")
    return array


def check_finite(value, what):
    """Fail when ``value`` holds a NaN or an infinity."""
    array = as_float_array(value, what)
    if not np.all(np.isfinite(array)):
        raise AssertionError(f"{what} should be finite, got {_summary(array)}")
    return array


def check_close(value, expected, what, rtol=1e-6, atol=1e-9, hint=""):
    """Fail unless ``value`` has ``expected``'s shape and values (within the tolerances)."""
    expected = np.asarray(expected, dtype=np.float64)
    array = check_shape(value, expected.shape, what)
    if not np.allclose(array, expected, rtol=rtol, atol=atol, equal_nan=False):
        worst = np.unravel_index(np.argmax(np.abs(array - expected)), array.shape) if array.ndim else ()
        message = f"{what} is wrong: expected {_summary(expected)}, got {_summary(array)}"
        if worst:
            message += f" (largest difference at index {tuple(int(i) for i in worst)})"
        raise AssertionError(message + (f". {hint}" if hint else ""))
    return array


def relative_error(a, b):
    """``max |a - b| / max(|a|, |b|)``: 0 for equal arrays, about 1 for unrelated ones."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-12)
    return float(np.max(np.abs(a - b)) / scale)


def numerical_gradient(f, x, eps=1e-5):
    """Central finite differences of the scalar function ``f`` at ``x`` (any shape); same shape out."""
    x = np.array(x, dtype=np.float64)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        above = float(f(x.copy()))
        x[index] = original - eps
        below = float(f(x.copy()))
        x[index] = original
        gradient[index] = (above - below) / (2 * eps)
    return gradient


def with_names(function, **replacements):
    """``function``, run with ``replacements`` in place of the functions of those names its notebook defines.

    A test runs the student's ``learn`` with the course's ``forward`` and ``backward`` this way,
    so that it grades the training loop alone. When graded, the student's code runs in a process of
    its own: ``function`` is the grader's stand-in for it, which makes the swap there and runs the
    replacements here. In an ordinary notebook, the notebook's own names are swapped for the call.
    """
    if hasattr(function, "with_names"):  # the grader's stand-in for a function of the notebook
        return function.with_names(**replacements)

    def swapped(*args, **kwargs):
        names = function.__globals__
        own = {name: names[name] for name in replacements if name in names}
        names.update(replacements)
        try:
            return function(*args, **kwargs)
        finally:
            for name in replacements:
                names.pop(name, None)
            names.update(own)

    return swapped


def _summary(array):
    """A short printable form of an array."""
    array = np.asarray(array)
    if array.size <= 12:
        return np.array2string(array, precision=4, separator=", ")
    return f"an array of shape {array.shape} from {np.nanmin(array):.4g} to {np.nanmax(array):.4g}"
