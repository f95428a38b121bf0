"""Functions given to you for part 2: the softmax classifier's pieces, metrics and plots.

Shapes used below: ``n`` examples, ``d = 784`` pixels, ``h`` hidden units, ``k = 10`` classes.
`softmax`, `cross_entropy_loss` and `one_hot_encode` are the stable versions from part 1, so
that this part does not depend on yours. You do not need to change anything here (and changes
are not kept when the assignment is graded: the course's own copy of this file is used).
"""

import numpy as np

from mnist_helpers import IMAGE_SIDE, NUM_CLASSES, dloss_db, dloss_dw


def softmax(z):
    """Row-wise softmax, shifted by each row's maximum: ``(n, k) -> (n, k)`` (or ``(k,) -> (k,)``)."""
    z = np.asarray(z, dtype=np.float64)
    exp_z = np.exp(z - z.max(axis=-1, keepdims=True))
    return exp_z / exp_z.sum(axis=-1, keepdims=True)


def cross_entropy_loss(p, q):
    """Mean cross-entropy of predictions ``q`` against true distributions ``p``, both ``(n, k)``; a float.

    ``q`` is clipped to ``1e-12`` before the log, so an exact zero costs a large but finite loss.
    """
    return float(np.mean(-np.sum(p * np.log(np.clip(q, 1e-12, 1.0)), axis=-1)))


def one_hot_encode(labels, num_classes=NUM_CLASSES):
    """Integer labels ``(n,)`` -> one-hot rows ``(n, num_classes)`` (an int gives ``(num_classes,)``)."""
    return np.eye(num_classes)[np.asarray(labels, dtype=int)]


def error_rate(probabilities, labels):
    """Fraction of rows of ``probabilities`` ``(n, k)`` whose most likely class is not ``labels`` ``(n,)``."""
    return float(np.mean(np.argmax(probabilities, axis=1) != np.asarray(labels)))


def train_softmax_classifier(X_train, y_train, X_val, y_val, max_iters=2000, learning_rate=0.5, batch_size=100):
    """Part 1's model, trained as in part 1 from zeros: the baseline a hidden layer must beat.

    Returns ``W`` ``(784, 10)``, ``b`` ``(10,)`` and the validation error rate recorded ten times
    during training, as a list.
    """
    W, b = np.zeros((X_train.shape[1], NUM_CLASSES)), np.zeros(NUM_CLASSES)
    record_at = set(np.linspace(0, max_iters, 11).astype(int)[1:])  # ten records, the last at the end
    val_errors = []
    for done, first in enumerate((np.arange(max_iters) * batch_size) % len(X_train), start=1):
        images = X_train[first:first + batch_size]
        targets = one_hot_encode(y_train[first:first + batch_size])
        predicted = softmax(images @ W + b)
        W -= learning_rate * dloss_dw(targets, images, predicted)
        b -= learning_rate * dloss_db(targets, images, predicted)
        if done in record_at:
            val_errors.append(error_rate(softmax(X_val @ W + b), y_val))
    return W, b, val_errors


def compare_learning(curves, max_iters):
    """Plot validation error curves side by side: ``curves`` maps a label to errors recorded evenly over ``max_iters`` steps."""
    import matplotlib.pyplot as plt  # here, not at the top: only plots need it

    fig, ax = plt.subplots(figsize=(7, 4))
    for label, errors in curves.items():
        steps = np.linspace(max_iters / len(errors), max_iters, len(errors))
        ax.plot(steps, np.asarray(errors) * 100, "-o", label=f"{label} (last: {errors[-1]:.1%})")
    ax.set_xlabel("training step")
    ax.set_ylabel("validation error (%)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    plt.show()


def show_hidden_units(W1, count=40, columns=10):
    """Draw the incoming weights of the first ``count`` hidden units, columns of ``W1`` ``(784, h)``, as 28 x 28 images.

    Each image shows the pattern of pixels that switches that unit on (red) or off (blue).
    """
    import matplotlib.pyplot as plt  # here, not at the top: only plots need it

    W1 = np.asarray(W1, dtype=float)
    count = min(count, W1.shape[1])
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.2 * rows), squeeze=False)
    for unit, ax in enumerate(axes.flat):
        ax.axis("off")
        if unit < count:
            weights = W1[:, unit].reshape(IMAGE_SIDE, IMAGE_SIDE)
            limit = np.abs(weights).max() or 1.0  # each unit on its own scale: their sizes differ
            ax.imshow(weights, cmap="seismic", vmin=-limit, vmax=limit)
    fig.tight_layout()
    plt.show()
