"""The functions given to students in mnist_helpers.py and mnist_checks.py."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import mnist_checks
import mnist_helpers


@pytest.fixture(autouse=True)
def close_figures(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda: None)
    yield
    plt.close("all")


@pytest.mark.parametrize("dataset, size", [("train", 50_000), ("valid", 10_000), ("test", 10_000), ("Validation", 10_000)])
def test_read_mnist_shapes_types_and_range(dataset, size):
    images, labels = mnist_helpers.read_mnist(dataset)
    assert images.shape == (size, 784) and images.dtype == np.float32
    assert labels.shape == (size,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() < 1.0
    assert np.all(images * 256 == np.round(images * 256)), "pixels are exactly k / 256, as in the original file"
    assert set(np.unique(labels)) == set(range(10))


def test_read_mnist_unflattened_and_fresh_arrays():
    images, labels = mnist_helpers.read_mnist("test", flatten=False)
    assert images.shape == (10_000, 28, 28)
    images[:] = 0
    labels[:] = 0
    again, labels_again = mnist_helpers.read_mnist("test")
    assert again.max() > 0 and labels_again.max() == 9, "changing one result must not change the next"


def test_read_mnist_rejects_unknown_split():
    with pytest.raises(ValueError, match="dataset must be one of 'train', 'valid', 'test'"):
        mnist_helpers.read_mnist("training-set")


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_gradients_match_finite_differences_of_the_mean_loss():
    rng = np.random.default_rng(0)
    x = rng.random((6, 5))
    y_true = np.eye(4)[rng.integers(0, 4, size=6)]
    W, b = rng.normal(size=(5, 4)), rng.normal(size=4)

    def loss(W_try, b_try):
        return -np.mean(np.sum(y_true * np.log(_softmax(x @ W_try + b_try)), axis=1))

    y_pred = _softmax(x @ W + b)
    grad_w = mnist_helpers.dloss_dw(y_true, x, y_pred)
    grad_b = mnist_helpers.dloss_db(y_true, x, y_pred)
    assert grad_w.shape == (5, 4) and grad_b.shape == (4,)
    assert mnist_checks.relative_error(grad_w, mnist_checks.numerical_gradient(lambda w: loss(w, b), W)) < 1e-7
    assert mnist_checks.relative_error(grad_b, mnist_checks.numerical_gradient(lambda v: loss(W, v), b)) < 1e-7


def test_gradients_of_one_example_equal_a_batch_of_one():
    rng = np.random.default_rng(1)
    x, y_true, y_pred = rng.random(784), np.eye(10)[3], _softmax(rng.normal(size=10))
    assert np.allclose(mnist_helpers.dloss_dw(y_true, x, y_pred), np.outer(x, y_pred - y_true))
    assert np.allclose(mnist_helpers.dloss_db(y_true, x, y_pred), y_pred - y_true)


def test_error_rate():
    X = np.eye(4, 784)
    W = np.zeros((784, 10))
    W[0, 1] = W[1, 2] = W[2, 3] = W[3, 4] = 1.0
    assert mnist_helpers.error_rate_mnist(W, np.zeros(10), X, np.array([1, 2, 3, 4])) == 0.0
    assert mnist_helpers.error_rate_mnist(W, np.zeros((1, 10)), X, np.array([1, 2, 0, 0])) == 0.5


def test_plots_draw_what_they_promise():
    images, labels = mnist_helpers.read_mnist("valid")
    mnist_helpers.show_digits(images, labels, rows=2, columns=3)
    (mosaic,) = plt.gcf().axes[0].get_images()
    assert mosaic.get_array().shape == (56, 84)
    assert [text.get_text() for text in plt.gcf().axes[0].texts] == [str(label) for label in labels[:6]]
    mnist_helpers.show(images[0], 0)
    assert plt.gcf().axes[0].get_title() == "Label: 0"
    mnist_helpers.plot_learning([2.0, 1.0], [0.5, 0.2], [0.6, 0.3])
    assert [len(line.get_xdata()) for line in plt.gcf().axes[0].lines] == [2, 2]
    mnist_helpers.show_weights(np.random.default_rng(0).normal(size=(784, 10)))
    (weights,) = plt.gcf().axes[0].get_images()
    assert weights.get_array().shape == (28, 10 * 28 + 9 * 4)
    assert [text.get_text() for text in plt.gcf().axes[0].texts] == [str(d) for d in range(10)]


def test_checks_fail_with_a_message_that_says_what_is_wrong():
    with pytest.raises(AssertionError, match=r"should have shape \(10,\), got \(1, 10\)"):
        mnist_checks.check_shape(np.zeros((1, 10)), (10,), "softmax output")
    with pytest.raises(AssertionError, match=r"row sums is wrong: expected \[1\., 1\.\], got \[2\., 1\.\].*hint"):
        mnist_checks.check_close([2.0, 1.0], [1.0, 1.0], "row sums", hint="hint")
    with pytest.raises(AssertionError, match="should be finite"):
        mnist_checks.check_finite([np.nan], "loss")

    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(AssertionError, match="should be a numeric array, got AlwaysEqual"):
        mnist_checks.check_close(AlwaysEqual(), [1.0], "result")
    assert mnist_checks.check_close([1.0, 2.0], [1.0, 2.0], "equal values").tolist() == [1.0, 2.0]
