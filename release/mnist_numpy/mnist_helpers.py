"""Functions given to you for the MNIST assignment: data, gradients, metrics and plots.

Shapes used below: ``n`` examples, ``d = 784`` pixels (28 x 28), ``k = 10`` classes.
You do not need to change anything here (and changes are not kept when the
assignment is graded: the course's own copy of this file is used).
"""

import numpy as np

from mnist_loader import SPLITS, load_split

NUM_CLASSES = 10
IMAGE_SIDE = 28
_SPLIT_NAMES = {"train": "train", "valid": "valid", "validation": "valid", "test": "test"}


def read_mnist(dataset="train", flatten=True):
    """Load one MNIST split.

    Args:
        dataset: ``"train"`` (50,000 images), ``"valid"`` (10,000) or ``"test"`` (10,000).
        flatten: return images as rows of 784 pixels; ``False`` gives 28 x 28 images.

    Returns:
        images: float32 array ``(n, 784)`` (or ``(n, 28, 28)``), values in ``[0, 1)``.
        labels: int64 array ``(n,)`` of digits 0-9.

    Each call returns fresh arrays, so changing them cannot affect a later call.
    """
    split = _SPLIT_NAMES.get(str(dataset).lower())
    if split is None:
        raise ValueError(f"dataset must be one of {', '.join(map(repr, SPLITS))}; got {dataset!r}")
    images, labels = load_split(split)
    if not flatten:
        images = images.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    return images, labels


# ---------------------------------------------------------------------------
# Gradients and metrics of the model  y_pred = softmax(x @ W + b)


def _as_batch(*arrays):
    """View 1-D arguments as batches of one row: ``(d,) -> (1, d)``."""
    return [np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in arrays]


def dloss_dw(y_true, x, y_pred):
    """Gradient of the mean cross-entropy loss with respect to ``W``.

    Args:
        y_true: one-hot labels ``(n, 10)`` (or one example ``(10,)``).
        x: inputs ``(n, 784)`` (or ``(784,)``).
        y_pred: predicted probabilities ``(n, 10)`` (or ``(10,)``).

    Returns:
        ``(784, 10)``: ``x.T @ (y_pred - y_true) / n``, the batch mean of each example's gradient.
    """
    y_true, x, y_pred = _as_batch(y_true, x, y_pred)
    return x.T @ (y_pred - y_true) / x.shape[0]


def dloss_db(y_true, x, y_pred):
    """Gradient of the mean cross-entropy loss with respect to ``b``.

    Takes the same arguments as `dloss_dw` and returns ``(10,)``: the batch mean of
    ``y_pred - y_true``.
    """
    y_true, y_pred = _as_batch(y_true, y_pred)  # x does not enter the bias gradient
    return (y_pred - y_true).mean(axis=0)


def error_rate_mnist(W, b, X, y):
    """Fraction of the examples ``X`` ``(n, 784)`` whose predicted digit differs from ``y`` ``(n,)``.

    The predicted digit is the class with the largest probability; softmax keeps the order
    of the scores ``X @ W + b``, so the scores' argmax is used directly.
    """
    X = np.asarray(X)
    # Score in the images' own precision: float32 MNIST times float64 W would first copy
    # the whole image array to float64, which costs ten times the product itself.
    precision = X.dtype if X.dtype.kind == "f" else np.float64
    scores = X @ np.asarray(W, dtype=precision) + np.asarray(b, dtype=precision).reshape(-1)
    return float(np.mean(np.argmax(scores, axis=1) != np.asarray(y)))


# ---------------------------------------------------------------------------
# Plots


def show(image, label=None):
    """Draw one digit: ``image`` of shape ``(784,)`` or ``(28, 28)``."""
    import matplotlib.pyplot as plt  # here, not at the top: only plots need it

    fig, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(np.reshape(image, (IMAGE_SIDE, IMAGE_SIDE)), cmap="gray", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if label is not None:  # label 0 is a label too
        ax.set_title(f"Label: {label}", size=14)
    plt.show()


def show_digits(images, labels, rows=4, columns=8):
    """Draw the first ``rows * columns`` digits of ``images`` ``(n, 784)``, each under its label ``(n,)``."""
    import matplotlib.pyplot as plt  # here, not at the top: only plots need it

    count = min(rows * columns, len(images))
    rows = -(-count // columns)
    tiles = np.zeros((rows * columns, IMAGE_SIDE, IMAGE_SIDE))
    tiles[:count] = np.reshape(images[:count], (count, IMAGE_SIDE, IMAGE_SIDE))
    # One image of all the digits side by side draws much faster than one plot per digit.
    mosaic = tiles.reshape(rows, columns, IMAGE_SIDE, IMAGE_SIDE).swapaxes(1, 2)
    mosaic = mosaic.reshape(rows * IMAGE_SIDE, columns * IMAGE_SIDE)
    fig, ax = plt.subplots(figsize=(1.2 * columns, 1.3 * rows))
    ax.imshow(mosaic, cmap="gray", interpolation="nearest")
    for index, label in enumerate(labels[:count]):
        row, column = divmod(index, columns)
        ax.text(column * IMAGE_SIDE + 1, row * IMAGE_SIDE + 1, str(label),
                color="gold", ha="left", va="top", fontsize=9)  # the corner: digits are centred
    ax.axis("off")
    fig.tight_layout()
    plt.show()


def plot_learning(losses, train_errors, val_errors):
    """Plot the training and validation error rates and the loss, as recorded by ``learn``."""
    import matplotlib.pyplot as plt  # here, not at the top: only plots need it

    fig, (errors_ax, loss_ax) = plt.subplots(ncols=2, figsize=(12, 4))
    errors_ax.plot(train_errors, "-o", label="Training error")
    errors_ax.plot(val_errors, "-o", label="Validation error")
    errors_ax.set_ylim(0, max(0.3, *train_errors, *val_errors) if len(val_errors) else 1)
    errors_ax.set_xlabel("Measurement")
    errors_ax.set_title("Error rate")
    errors_ax.legend(loc="upper right")
    loss_ax.plot(losses, "-o")
    loss_ax.set_xlabel("Measurement")
    loss_ax.set_title("Mean cross-entropy loss")
    fig.tight_layout()
    plt.show()


def show_weights(W):
    """Draw each column of ``W`` ``(784, 10)`` as a 28 x 28 image: what each digit's score looks for.

    Red pixels raise the digit's score, blue ones lower it.
    """
    import matplotlib.pyplot as plt  # here, not at the top: only plots need it

    W = np.asarray(W, dtype=float)
    limit = np.abs(W).max() or 1.0
    gap = np.full((IMAGE_SIDE, 4), np.nan)  # blank columns between the digits
    tiles = [np.hstack([W[:, digit].reshape(IMAGE_SIDE, IMAGE_SIDE), gap]) for digit in range(NUM_CLASSES)]
    fig, ax = plt.subplots(figsize=(1.5 * NUM_CLASSES, 1.9))
    ax.imshow(np.hstack(tiles)[:, :-4], cmap="seismic", vmin=-limit, vmax=limit)
    for digit in range(NUM_CLASSES):
        ax.text(digit * (IMAGE_SIDE + 4) + IMAGE_SIDE / 2, -2, str(digit), ha="center", va="bottom", fontsize=12)
    ax.axis("off")
    fig.tight_layout()
    plt.show()
