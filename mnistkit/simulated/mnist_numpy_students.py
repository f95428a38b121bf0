"""The catalogue of simulated students of part 1 (`mnist_numpy`): the reference solution with one thing changed, and the
grade each deserves.

Each entry pairs a `SimulatedStudent` with the points it must get in every graded cell.
Valid alternatives get every point; each mistake loses exactly the cells that check what it
breaks (the comment says why); tampering gains nothing over the same mistake without it;
crashes cost only what they break. tests/test_catalogue.py grades the whole catalogue in one
batch; after changing a hidden test, that test says which students it now grades differently.
"""

from functools import partial

from mnistkit.simulated.students import (
    PART1, SEED_CROSS_ENTROPY, Catalogue, SimulatedStudent, function, insert_after, move_to_top, set_source,
    without_cells,
)

ASSIGNMENT = PART1
Student = partial(SimulatedStudent, assignment=ASSIGNMENT)  # a student of this assignment

ALL_POINTS = {
    "softmax_shape_and_sums": 1, "softmax_values": 2, "softmax_stability": 2,
    "cross_entropy_values": 2, "cross_entropy_stability": 1,
    "one_hot_shapes": 1, "one_hot_values": 2,
    "gradient_check": 2,
    "learn_one_step": 2, "learn_does_not_mutate": 1, "learn_reaches_threshold": 4,
}
SOFTMAX_CELLS = ("softmax_shape_and_sums", "softmax_values", "softmax_stability")
LOSS_CELLS = ("cross_entropy_values", "cross_entropy_stability")
ONE_HOT_CELLS = ("one_hot_shapes", "one_hot_values")
LEARN_CELLS = ("learn_one_step", "learn_does_not_mutate", "learn_reaches_threshold")
# What a learn that trains wrongly loses (it still leaves its inputs alone).
BAD_TRAINING = ("learn_one_step", "learn_reaches_threshold")

CATALOGUE = Catalogue(ASSIGNMENT, ALL_POINTS)
REFERENCE, losing, changed, student = CATALOGUE.reference, CATALOGUE.losing, CATALOGUE.changed, CATALOGUE.student


SOFTMAX = 'def softmax(z):\n    """Row-wise softmax: (k,) -> (k,) or (n, k) -> (n, k); each row sums to 1."""'
LOSS = ('def cross_entropy_loss(p, q):\n    """Cross-entropy of predictions q against true one-hot p: '
        '(k,) -> scalar, (n, k) -> mean over rows."""')
ONE_HOT = ('def one_hot_encode(label, num_classes=10):\n    """One-hot encoding: an int -> (num_classes,); '
           'integer labels (n,) -> (n, num_classes)."""')
LEARN_UPDATE = "        W = W - learning_rate * dloss_dw(y_true, X_batch, y_pred)\n"
BIAS_UPDATE = "        b = b - learning_rate * dloss_db(y_true, X_batch, y_pred)\n"
COPIES = ("    W = np.array(W, dtype=np.float64)  # copies: the caller's arrays stay as they were\n"
          "    b = np.array(b, dtype=np.float64).reshape(-1)\n")
NEXT_BATCH = "        start = ((step - 1) * batch_size) % n\n"


# ---------------------------------------------------------------------------
# Valid alternatives: every point.

VALID = [
    student("valid-softmax-row-loop", "softmax with a Python loop over rows", softmax=function(SOFTMAX, """
z = np.array(z, dtype=float)
if z.ndim == 1:
    e = np.exp(z - np.max(z))
    return e / np.sum(e)
out = np.empty_like(z)
for i in range(z.shape[0]):
    e = np.exp(z[i] - np.max(z[i]))
    out[i] = e / np.sum(e)
return out
""")),
    student("valid-softmax-logsumexp", "softmax as exp(z - logsumexp(z))", softmax=function(SOFTMAX, """
m = np.max(z, axis=-1, keepdims=True)
log_sum = m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))
return np.exp(z - log_sum)
""")),
    student("valid-softmax-atleast2d", "softmax through a 2-D view, reshaped back",
            softmax=function(SOFTMAX, """
batch = np.atleast_2d(z).astype(float)
batch = np.exp(batch - batch.max(axis=1)[:, None])
batch /= batch.sum(axis=1)[:, None]
return batch.reshape(np.shape(z))
""")),
    student("valid-loss-epsilon", "cross-entropy with an epsilon added instead of clipping",
            cross_entropy_loss=function(LOSS, """
losses = -np.sum(p * np.log(q + 1e-15), axis=-1)
return np.mean(losses)
""")),
    student("valid-loss-keras-epsilon", "clips q to [1e-7, 1 - 1e-7], as Keras does",
            cross_entropy_loss=function(LOSS, """
q = np.clip(q, 1e-7, 1 - 1e-7)
return float(np.mean(-np.sum(p * np.log(q), axis=-1)))
""")),
    student("valid-loss-warns", "a correct cross-entropy whose log(0) makes numpy warn on stderr",
            cross_entropy_loss=function(LOSS, """
log_q = np.log(q)  # RuntimeWarning: divide by zero, for exact zeros
log_q = np.maximum(log_q, np.log(1e-12))
return float(np.mean(-np.sum(p * log_q, axis=-1)))
""")),
    student("valid-one-hot-compare", "integer one-hots made by comparing with arange",
            one_hot_encode=function(ONE_HOT, """
return (np.asarray(label)[..., None] == np.arange(num_classes)).astype(int)
""")),
    student("valid-one-hot-loop", "float one-hots filled in by a loop", one_hot_encode=function(ONE_HOT, """
if np.ndim(label) == 0:
    vector = np.zeros(num_classes)
    vector[label] = 1.0
    return vector
matrix = np.zeros((len(label), num_classes))
for row, digit in enumerate(label):
    matrix[row, digit] = 1.0
return matrix
""")),
    student("valid-learn-shuffled", "minibatches from a fresh random order each epoch", learn=changed(
        "learn", NEXT_BATCH + "        X_batch = X_train[start:start + batch_size]\n"
        "        y_true = one_hot_encode(y_train[start:start + batch_size])\n",
        "        per_epoch = max(1, n // batch_size)\n"
        "        if (step - 1) % per_epoch == 0:\n"
        "            order = np.random.permutation(n)\n"
        "        rows = order[((step - 1) % per_epoch) * batch_size:][:batch_size]\n"
        "        X_batch = X_train[rows]\n"
        "        y_true = one_hot_encode(y_train[rows])\n")),
    student("valid-learn-in-place", "in-place updates of copies of W and b", learn=changed(
        "learn", LEARN_UPDATE + BIAS_UPDATE,
        "        W -= learning_rate * dloss_dw(y_true, X_batch, y_pred)\n"
        "        b -= learning_rate * dloss_db(y_true, X_batch, y_pred)\n",
    )),
    student("valid-learn-prints-every-step", "prints its progress at every step", learn=changed(
        "learn", BIAS_UPDATE, BIAS_UPDATE + "        print('step', step, 'loss', batch_losses[-1])\n")),
    student("valid-learn-inline-gradient", "writes the gradient itself instead of calling dloss_dw",
            learn=changed("learn", LEARN_UPDATE + BIAS_UPDATE,
                          "        error = (y_pred - y_true) / len(X_batch)\n"
                          "        W = W - learning_rate * (X_batch.T @ error)\n"
                          "        b = b - learning_rate * error.sum(axis=0)\n")),
    Student("valid-added-helper-cell", "puts a helper function in a cell of its own",
                     answers={"softmax": function(SOFTMAX, "return _normalise(np.exp(z - np.max(z, -1, keepdims=True)))")},
                     edit=lambda nb: insert_after(nb, "softmax_intro", "def _normalise(e):\n"
                                                   "    return e / e.sum(axis=-1, keepdims=True)")),
    Student("valid-deleted-test-cells", "deletes visible and hidden test cells by accident",
                     edit=lambda nb: without_cells(nb, "softmax_values", "learn_one_step", "one_hot_visible_tests")),
    Student("valid-shuffled-cell-order", "moves cells around (test cells first)",
                     edit=lambda nb: move_to_top(nb, "learn_reaches_threshold", "softmax_values", "learn")),
]

# ---------------------------------------------------------------------------
# Realistic mistakes: each loses exactly the cells that check what it breaks.

MISTAKES = [
    # The original notebook's softmax divides by the sum of the whole batch, unshifted: every softmax
    # check, the gradient check (the batch loss is not what the gradient describes) and the training
    # (predictions of a batch are not distributions) fail; the loss and one-hot cells are untouched.
    (student("seed-softmax", "the original notebook's softmax (whole-batch sum, no shift)", softmax=function(SOFTMAX, """
exp_z = np.exp(z)
return exp_z / exp_z.sum()
""")), losing(*SOFTMAX_CELLS, "gradient_check", *BAD_TRAINING)),
    # Normalising columns: a single row is still right, any batch is wrong.
    (student("softmax-wrong-axis", "softmax normalised over axis 0", softmax=function(SOFTMAX, """
e = np.exp(z - np.max(z, axis=0, keepdims=True))
return e / np.sum(e, axis=0, keepdims=True)
""")), losing(*SOFTMAX_CELLS, "gradient_check", *BAD_TRAINING)),
    # Without the shift the values are right but ±1e4 overflows to nan; MNIST's small scores train fine.
    (student("softmax-no-shift", "softmax without subtracting the maximum", softmax=function(SOFTMAX, """
e = np.exp(z)
return e / e.sum(axis=-1, keepdims=True)
""")), losing("softmax_stability")),
    # One shift for the whole batch underflows the rows far below the batch's maximum: 0 / 0.
    (student("softmax-global-shift", "softmax shifted by the batch's maximum, not each row's",
             softmax=function(SOFTMAX, """
e = np.exp(z - np.max(z))
return e / e.sum(axis=-1, keepdims=True)
""")), losing("softmax_stability")),
    # Unnormalised exponentials: no row sums to one and nothing downstream is a probability.
    (student("softmax-unnormalised", "returns exp(z - max) without dividing", softmax=function(SOFTMAX, """
return np.exp(z - np.max(z, axis=-1, keepdims=True))
""")), losing(*SOFTMAX_CELLS, "gradient_check", *BAD_TRAINING)),
    # The original notebook's loss sums over the batch and takes log(0).
    (student("seed-cross-entropy", "the original notebook's cross-entropy (sum, log(0))",
             cross_entropy_loss=SEED_CROSS_ENTROPY),
     losing(*LOSS_CELLS, "gradient_check")),
    (student("loss-swapped-arguments", "cross-entropy with p and q swapped",
             cross_entropy_loss=function(LOSS, "return float(np.mean(-np.sum(q * np.log(np.clip(p, 1e-12, 1)), axis=-1)))")),
     losing(*LOSS_CELLS, "gradient_check")),
    (student("loss-summed-over-batch", "clips, but sums the rows instead of averaging them",
             cross_entropy_loss=function(LOSS, "return float(-np.sum(p * np.log(np.clip(q, 1e-12, 1))))")),
     losing(*LOSS_CELLS, "gradient_check")),
    (student("loss-no-minus", "forgets the minus sign",
             cross_entropy_loss=function(LOSS, "return float(np.mean(np.sum(p * np.log(np.clip(q, 1e-12, 1)), axis=-1)))")),
     losing(*LOSS_CELLS, "gradient_check")),
    # np.mean over every element divides by n * 10 instead of n.
    (student("loss-mean-of-elements", "averages over every element instead of every row",
             cross_entropy_loss=function(LOSS, "return float(-np.mean(p * np.log(np.clip(q, 1e-12, 1))))")),
     losing(*LOSS_CELLS, "gradient_check")),
    (student("loss-log10", "uses log base 10",
             cross_entropy_loss=function(LOSS, "return float(np.mean(-np.sum(p * np.log10(np.clip(q, 1e-12, 1)), axis=-1)))")),
     losing(*LOSS_CELLS, "gradient_check")),
    # Returns each row's loss: right for one example, a vector for a batch (and no gradient check).
    (student("loss-per-row", "returns the per-row losses instead of their mean",
             cross_entropy_loss=function(LOSS, "return -np.sum(p * np.log(np.clip(q, 1e-12, 1)), axis=-1)")),
     losing(*LOSS_CELLS, "gradient_check")),
    # Off by one: every label lands one class to the left, so training learns the wrong digits.
    (student("one-hot-off-by-one", "puts the 1 at label - 1",
             one_hot_encode=function(ONE_HOT, "return np.eye(num_classes)[np.asarray(label) - 1]")),
     losing("one_hot_values", *BAD_TRAINING)),
    # (10, n) instead of (n, 10): right for one label and for a square batch, wrong otherwise; learn
    # then cannot subtract it from the predictions and raises in every learn cell.
    (student("one-hot-transposed", "one row per class instead of one row per label",
             one_hot_encode=function(ONE_HOT, "return np.eye(num_classes)[:, np.asarray(label)]")),
     losing(*ONE_HOT_CELLS, *LEARN_CELLS)),
    (student("one-hot-ignores-num-classes", "always makes 10 columns",
             one_hot_encode=function(ONE_HOT, "return np.eye(10)[np.asarray(label)]")),
     losing(*ONE_HOT_CELLS)),
    # The original notebook's one-hot handles a single label only: an array of labels gives one
    # vector with several ones, and training learns from those.
    (student("seed-one-hot", "the original notebook's one-hot (one label only)", one_hot_encode=function(ONE_HOT, """
ohe = np.zeros(10, dtype=int)
ohe[label] = 1
return ohe
""")), losing(*ONE_HOT_CELLS, *BAD_TRAINING)),
    # The original notebook's gradient keeps only the true-class term.
    (student("seed-gradient", "trains with the original -y_true * (1 - y_pred) gradient", learn=changed(
        "learn", LEARN_UPDATE + BIAS_UPDATE,
        "        delta = -y_true * (1 - y_pred)\n"
        "        W = W - learning_rate * X_batch.T @ delta / len(X_batch)\n"
        "        b = b - learning_rate * delta.mean(axis=0)\n")), losing(*BAD_TRAINING)),
    (student("gradient-ascent", "adds the gradient instead of subtracting it", learn=changed(
        "learn", LEARN_UPDATE + BIAS_UPDATE,
        LEARN_UPDATE.replace("W - learning_rate", "W + learning_rate")
        + BIAS_UPDATE.replace("b - learning_rate", "b + learning_rate"))), losing(*BAD_TRAINING)),
    # Without a bias the model still learns well: only the exact-step check sees it.
    (student("frozen-bias", "never updates b", learn=changed("learn", BIAS_UPDATE, "")), losing("learn_one_step")),
    (student("summed-gradient", "sums the batch's gradients instead of averaging them", learn=changed(
        "learn", LEARN_UPDATE + BIAS_UPDATE,
        "        W = W - learning_rate * len(X_batch) * dloss_dw(y_true, X_batch, y_pred)\n"
        "        b = b - learning_rate * len(X_batch) * dloss_db(y_true, X_batch, y_pred)\n")),
     losing(*BAD_TRAINING)),
    (student("mutates-caller-weights", "updates the caller's W and b in place", learn=changed(
        "learn", COPIES + "", "    b = b.reshape(-1)\n").replace(
        LEARN_UPDATE + BIAS_UPDATE,
        "        W -= learning_rate * dloss_dw(y_true, X_batch, y_pred)\n"
        "        b -= learning_rate * dloss_db(y_true, X_batch, y_pred)\n")), losing("learn_does_not_mutate")),
    (student("shuffles-caller-data", "shuffles the caller's training set in place", learn=changed(
        "learn", "    n = len(X_train)\n",
        "    n = len(X_train)\n    order = np.random.permutation(n)\n"
        "    X_train[:] = X_train[order]\n    y_train[:] = y_train[order]\n")), losing("learn_does_not_mutate")),
    (student("no-training", "returns the starting point without training", learn=changed(
        "learn", "    for step in range(1, max_iters + 1):", "    for step in range(0):")), losing(*BAD_TRAINING)),
    # Forgets to move on: every step uses the first batch, so only 100 images are ever learned from.
    (student("same-batch-every-step", "never advances to the next batch",
             learn=changed("learn", NEXT_BATCH, "        start = 0\n")), losing("learn_reaches_threshold")),
    # Batches of 100 rows whatever batch_size says: only the check with another batch size sees it.
    (student("learn-fixed-batch-size", "always takes batches of 100 rows, ignoring batch_size",
             learn=changed("learn", NEXT_BATCH + "        X_batch = X_train[start:start + batch_size]\n"
                           "        y_true = one_hot_encode(y_train[start:start + batch_size])\n",
                           "        start = ((step - 1) * 100) % n\n        X_batch = X_train[start:start + 100]\n"
                           "        y_true = one_hot_encode(y_train[start:start + 100])\n")),
     losing("learn_one_step")),
    (student("returns-b-before-w", "returns b, W instead of W, b", learn=changed(
        "learn", "    return W, b, losses", "    return b, W, losses")), losing(*BAD_TRAINING)),
    # The original loop counted samples: max_iters=2000 makes 20 updates, max_iters=1 makes none.
    (student("max-iters-counts-samples", "counts max_iters in samples, as the original loop did", learn=changed(
        "learn", "    for step in range(1, max_iters + 1):", "    for step in range(1, max_iters // batch_size + 1):")),
     losing(*BAD_TRAINING)),
]


# ---------------------------------------------------------------------------
# Tampering: each is the original notebook's softmax (7 points, see "seed-softmax") plus a trick.
# None may earn more than that softmax earns without the trick.

SEED_SOFTMAX_BODY = """
exp_z = np.exp(z)
return exp_z / exp_z.sum()
"""
SEED_SOFTMAX_POINTS = losing(*SOFTMAX_CELLS, "gradient_check", *BAD_TRAINING)
ALWAYS_EQUAL = """
class Anything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    def __le__(self, other): return True
    def __ge__(self, other): return True
    __hash__ = float.__hash__
"""


def seed_softmax_and(prelude="", body_prelude=""):
    """The original softmax, after ``prelude`` in its cell and with ``body_prelude`` first in its body."""
    return prelude + function(SOFTMAX, body_prelude + SEED_SOFTMAX_BODY)


TAMPERING = [
    (Student("tamper-patches-numpy", "replaces np.allclose, np.isclose, np.all, np.mean, np.argmax "
                      "and np.testing.assert_allclose before the tests run", answers={"softmax": seed_softmax_and(
                          "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, *x, **k: np.ones_like(a, bool)\n"
                          "np.all = lambda *a, **k: True\nnp.mean = lambda *a, **k: 0.0\n"
                          "np.argmax = lambda a, axis=None, **k: 0\n"
                          "np.testing.assert_allclose = lambda *a, **k: None\n")}), SEED_SOFTMAX_POINTS),
    # Patching while a test calls it fails that test even where the plain mistake would pass:
    # learn_does_not_mutate calls softmax through learn.
    (Student("tamper-patches-during-tests", "its softmax patches np.allclose and the check helpers "
                      "every time it is called", answers={"softmax": seed_softmax_and(body_prelude="""
import mnist_checks
np.allclose = lambda *a, **k: True
mnist_checks.check_close = lambda *a, **k: None
mnist_checks.check_shape = lambda value, *a, **k: np.zeros(a[0])
""")}), losing(*SOFTMAX_CELLS, "gradient_check", *LEARN_CELLS)),
    (Student("tamper-fake-modules", "swaps sys.modules entries and builtins for fakes", answers={
        "softmax": seed_softmax_and(
            "import sys, types, builtins\nfake = types.ModuleType('mnist_checks')\n"
            "fake.check_close = fake.check_shape = fake.check_finite = lambda value, *a, **k: value\n"
            "sys.modules['mnist_checks'] = fake\nbuiltins.abs = lambda x: 0\nbuiltins.round = lambda *a, **k: 0\n")}),
     SEED_SOFTMAX_POINTS),
    (Student("tamper-redefines-helpers", "redefines error_rate_mnist, read_mnist and the gradients, "
                      "in the notebook and in mnist_helpers", answers={"softmax": seed_softmax_and(
                          "import mnist_helpers\n"
                          "def error_rate_mnist(W, b, X, y): return 0.0\n"
                          "def dloss_dw(y_true, x, y_pred): return np.zeros((x.shape[-1], 10))\n"
                          "mnist_helpers.error_rate_mnist = error_rate_mnist\n"
                          "mnist_helpers.dloss_dw = dloss_dw\n"
                          "mnist_helpers.dloss_db = lambda *a: np.zeros(10)\n"
                          "mnist_helpers.read_mnist = lambda *a, **k: (np.zeros((10, 784)), np.zeros(10, int))\n")}),
     SEED_SOFTMAX_POINTS),
    # Objects equal to everything: no check compares with ==, so they earn nothing, and learn cannot
    # train with them.
    (Student("tamper-always-equal", "returns objects equal to anything from every function", answers={
        "softmax": ALWAYS_EQUAL + "\n" + function(SOFTMAX, "return Anything(0.5)"),
        "cross_entropy_loss": function(LOSS, "return Anything(0.0)"),
        "one_hot_encode": function(ONE_HOT, "return Anything(1.0)"),
    }), {cell: 0 for cell in ALL_POINTS}),
    (Student("tamper-edits-tests", "replaces the softmax test cells with 'pass'",
                      answers={"softmax": seed_softmax_and()},
                      edit=lambda nb: set_source(nb, "pass", *SOFTMAX_CELLS, "softmax_visible_tests")),
     SEED_SOFTMAX_POINTS),
    (Student("tamper-deletes-tests", "deletes every graded cell",
                      answers={"softmax": seed_softmax_and()}, edit=lambda nb: without_cells(nb, *ALL_POINTS)),
     SEED_SOFTMAX_POINTS),
    (Student("tamper-reorders-cells", "moves the graded cells above the code they test",
                      answers={"softmax": seed_softmax_and()}, edit=lambda nb: move_to_top(nb, *ALL_POINTS)),
     SEED_SOFTMAX_POINTS),
]

# ---------------------------------------------------------------------------
# Crashes and broken files: each costs only what it breaks; every one is in the gradebook.

EXIT = "    import os\n    os._exit(1)\n"
CRASHES = [
    (Student("crash-endless-plot-cell", "an endless loop in an ungraded cell",
                      edit=lambda nb: set_source(nb, "while True:\n    pass", "look_at_digits")), ALL_POINTS),
    # Only the one-step check asks for one step: the other cells that train still earn their points.
    (student("crash-endless-learn", "learn loops forever when asked for a single step", learn=changed(
        "learn", "    n = len(X_train)\n", "    n = len(X_train)\n    while max_iters == 1:\n        pass\n")),
     losing("learn_one_step")),
    (student("crash-exit-in-learn", "learn calls os._exit: the kernel dies in every cell that trains",
             learn=changed("learn", COPIES, EXIT + COPIES)), losing(*LEARN_CELLS)),
    # A segfault while defining softmax: softmax never exists, so everything that uses it fails.
    (student("crash-segfault", "the softmax cell segfaults before defining softmax", softmax="import ctypes\n"
             "ctypes.string_at(0)\n" + REFERENCE["softmax"]), losing(*SOFTMAX_CELLS, "gradient_check", *LEARN_CELLS)),
    # Memory beyond the kernel's 4 GiB cap, after one_hot_encode is defined: the cap stops it with a
    # MemoryError in this ungraded cell, and nothing else is lost. Neither writes to the memory it
    # asks for, so the cap is reached at once however fast the machine is: one 8 GiB array, and
    # 1 GiB arrays kept one after another (the cap counts everything the kernel holds).
    (student("crash-memory-hog", "asks for 8 GiB at once after defining one_hot_encode",
             one_hot_encode=REFERENCE["one_hot_encode"] + "\n\n\nhog = np.empty(2**30)"), ALL_POINTS),
    (student("crash-memory-grows", "keeps asking for 1 GiB more, six times, after defining one_hot_encode",
             one_hot_encode=REFERENCE["one_hot_encode"] + "\n\n\nhog = [np.empty(2**27) for _ in range(6)]"),
     ALL_POINTS),
]
NOTHING = {cell: 0 for cell in ALL_POINTS}
BROKEN_FILES = [
    (Student("file-not-json", "a notebook file cut off in the middle", raw=b'{"cells": [{"cell_type": '),
     NOTHING, "cannot be read as a notebook"),
    (Student("file-empty", "an empty notebook file", raw=b""), NOTHING, "the file is empty"),
    (Student("file-missing", "a submission folder without any notebook", filename=""), NOTHING,
     "holds no notebook"),
    (Student("file-wrong-name", "the right work under the name 'mnist_numpy (1).ipynb'",
                      filename="mnist_numpy (1).ipynb"), ALL_POINTS, "handed in as 'mnist_numpy (1).ipynb'"),
]

# Same code, same grade: two identical submissions whose learn shuffles with NumPy's global generator.
SHUFFLED = next(s for s in VALID if s.student_id == "valid-learn-shuffled")
TWINS = [Student(f"twin-{n}", "identical submissions that shuffle", answers=SHUFFLED.answers) for n in "ab"]
