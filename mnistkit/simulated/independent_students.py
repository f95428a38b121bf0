"""A class of part 1 whose students wrote their code independently, and two who copied.

The similarity check (`mnistkit.similarity`) is measured on these: the catalogues' students are
the reference solution with one thing changed, so they are all "copies" of one another. Here
each of six authors wrote every function their own way, as students do: loops or vectorised,
the short obvious version or a roundabout one. Several authors wrote the same short obvious
`softmax` or `one_hot_encode` (``np.eye(num_classes)[label]``); that alone must not flag them.

The two copiers took a classmate's notebook and disguised it the way students do: every
variable renamed, the comments and docstrings changed, functions reordered and statements
moved. They must be flagged with their source, and nobody else.

Every student here is correct: all of them get full marks (checked when the tests grade them).
"""

from functools import partial

import nbformat

from mnistkit.course import COURSE_ROOT
from mnistkit.simulated.students import PART1, SimulatedStudent, function, notebook_path

Student = partial(SimulatedStudent, assignment=PART1)


def _released_headers(course_dir=COURSE_ROOT):
    """Each exercise cell's signature and docstring as released: ``{cell id: header}``."""
    released = nbformat.read(notebook_path(course_dir, "release", PART1), as_version=4)
    return {cell.id: cell.source.split("\n    # YOUR CODE HERE")[0] for cell in released.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}


HEADERS = _released_headers()


def _answers(softmax, loss, one_hot, learn, before_learn="", after_learn=""):
    """The four exercise cells from their bodies (``before_learn``, ``after_learn``: helper code around ``learn``)."""
    return {
        "softmax": function(HEADERS["softmax"], softmax),
        "cross_entropy_loss": function(HEADERS["cross_entropy_loss"], loss),
        "one_hot_encode": function(HEADERS["one_hot_encode"], one_hot),
        "learn": (before_learn.strip() + "\n\n\n" if before_learn else "") + function(HEADERS["learn"], learn)
        + ("\n\n\n" + after_learn.strip() if after_learn else ""),
    }


# ---------------------------------------------------------------------------
# Six authors, each function written independently.

AUTHOR_A = _answers(
    softmax="""
z = np.asarray(z, dtype=float)
if z.ndim == 1:
    m = np.max(z)
    e = np.exp(z - m)
    return e / np.sum(e)
out = np.empty_like(z)
for i in range(z.shape[0]):
    row = z[i] - np.max(z[i])   # subtract the max so exp cannot overflow
    out[i] = np.exp(row) / np.exp(row).sum()
return out
""",
    loss="""
p = np.atleast_2d(p)
q = np.atleast_2d(q)
total = 0.0
for i in range(len(p)):
    for j in range(p.shape[1]):
        if p[i, j] != 0:
            total -= p[i, j] * np.log(max(q[i, j], 1e-15))
return total / len(p)
""",
    one_hot="""
labels = np.asarray(label)
if labels.ndim == 0:
    vec = np.zeros(num_classes)
    vec[int(labels)] = 1
    return vec
out = np.zeros((len(labels), num_classes))
for row, lab in enumerate(labels):
    out[row, lab] = 1.0
return out
""",
    learn="""
W = W.copy()
b = b.copy()
losses, train_errors, val_errors = [], [], []
order = np.random.permutation(len(X_train))
pos = 0
running = []
for it in range(max_iters):
    if pos + batch_size > len(order):   # new epoch: reshuffle
        order = np.random.permutation(len(X_train))
        pos = 0
    idx = order[pos:pos + batch_size]
    pos += batch_size
    xb, yb = X_train[idx], one_hot_encode(y_train[idx])
    pred = neural_network_prediction(xb, W, b)
    running.append(cross_entropy_loss(yb, pred))
    W -= learning_rate * dloss_dw(yb, xb, pred)
    b -= learning_rate * dloss_db(yb, xb, pred)
    if (it + 1) % 100 == 0 or it + 1 == max_iters:
        losses.append(np.mean(running))
        running = []
        train_errors.append(error_rate_mnist(W, b, X_train[:10000], y_train[:10000]))
        val_errors.append(error_rate_mnist(W, b, X_val, y_val))
return W, b, losses, train_errors, val_errors
""")

AUTHOR_B = _answers(
    softmax="""
x = np.array(z, dtype=np.float64)
log_norm = x.max(axis=-1, keepdims=True)
log_norm = log_norm + np.log(np.exp(x - log_norm).sum(axis=-1, keepdims=True))  # log-sum-exp
return np.exp(x - log_norm)
""",
    loss="""
eps = np.finfo(np.float64).tiny
losses = -(np.asarray(p) * np.log(np.asarray(q, dtype=np.float64) + eps)).sum(axis=-1)
return float(losses.mean())
""",
    one_hot="""
return (np.arange(num_classes) == np.asarray(label)[..., None]).astype(int)
""",
    learn="""
weights = np.copy(W)
bias = np.copy(b)
n_train = X_train.shape[0]
history = {"loss": [], "train": [], "val": []}
step = 0
loss_sum, count = 0.0, 0
while step < max_iters:
    rows = np.arange(step * batch_size, (step + 1) * batch_size) % n_train
    xs = X_train[rows]
    targets = one_hot_encode(y_train[rows])
    probs = neural_network_prediction(xs, weights, bias)
    loss_sum += cross_entropy_loss(targets, probs)
    count += 1
    grad_w = dloss_dw(targets, xs, probs)
    grad_b = dloss_db(targets, xs, probs)
    weights = weights - learning_rate * grad_w
    bias = bias - learning_rate * grad_b
    step += 1
    if step % 50 == 0 or step == max_iters:
        history["loss"].append(loss_sum / count)
        loss_sum, count = 0.0, 0
        history["train"].append(error_rate_mnist(weights, bias, X_train[:5000], y_train[:5000]))
        history["val"].append(error_rate_mnist(weights, bias, X_val, y_val))
return weights, bias, history["loss"], history["train"], history["val"]
""")

AUTHOR_C = _answers(
    softmax="""
arr = np.atleast_2d(np.asarray(z, np.float64))
stable = arr - np.amax(arr, axis=1)[:, None]
num = np.exp(stable)
result = num / num.sum(axis=1)[:, None]
return result.reshape(np.shape(z))
""",
    loss="""
q_safe = np.maximum(q, 1e-12)
if np.ndim(p) == 1:
    return -np.dot(p, np.log(q_safe))
return -np.einsum("ij,ij->", p, np.log(q_safe)) / p.shape[0]
""",
    one_hot="""
idx = np.array(label, dtype=int)
result = np.zeros(idx.shape + (num_classes,), dtype=np.float32)
np.put_along_axis(result, idx[..., np.newaxis], 1, axis=-1)
return result
""",
    learn="""
rng = np.random.default_rng(0)
params_w = W.astype(float, copy=True)
params_b = b.astype(float, copy=True)
loss_log, train_log, val_log = [], [], []
updates = 0
while True:
    perm = rng.permutation(len(X_train))
    for first in range(0, len(perm), batch_size):
        chosen = perm[first:first + batch_size]
        x_chunk = X_train[chosen]
        t_chunk = one_hot_encode(y_train[chosen])
        out = neural_network_prediction(x_chunk, params_w, params_b)
        params_w = params_w - learning_rate * dloss_dw(t_chunk, x_chunk, out)
        params_b = params_b - learning_rate * dloss_db(t_chunk, x_chunk, out)
        updates += 1
        if updates % 200 == 0 or updates == max_iters:
            loss_log.append(cross_entropy_loss(t_chunk, out))
            train_log.append(error_rate_mnist(params_w, params_b, X_train, y_train))
            val_log.append(error_rate_mnist(params_w, params_b, X_val, y_val))
        if updates == max_iters:
            return params_w, params_b, loss_log, train_log, val_log
""")

# D and E wrote the short obvious versions, much like the reference and like each other.
AUTHOR_D = _answers(
    softmax="""
z = np.asarray(z, dtype=float)
e = np.exp(z - np.max(z, axis=-1, keepdims=True))
return e / np.sum(e, axis=-1, keepdims=True)
""",
    loss="""
q = np.clip(q, 1e-15, 1)
return np.mean(-np.sum(p * np.log(q), axis=-1))
""",
    one_hot="""
return np.eye(num_classes)[label]
""",
    learn="""
W, b = W.copy(), b.copy()
losses, train_errors, val_errors = [], [], []
for i in range(max_iters):
    start = (i * batch_size) % len(X_train)
    xb = X_train[start:start + batch_size]
    yb = one_hot_encode(y_train[start:start + batch_size])
    pred = neural_network_prediction(xb, W, b)
    loss = cross_entropy_loss(yb, pred)
    W = W - learning_rate * dloss_dw(yb, xb, pred)
    b = b - learning_rate * dloss_db(yb, xb, pred)
    if i % 100 == 0:
        losses.append(loss)
        train_errors.append(error_rate_mnist(W, b, X_train, y_train))
        val_errors.append(error_rate_mnist(W, b, X_val, y_val))
return W, b, losses, train_errors, val_errors
""")

AUTHOR_E = _answers(
    softmax="""
scores = np.asarray(z, dtype=np.float64)
scores = scores - scores.max(axis=-1, keepdims=True)
exps = np.exp(scores)
return exps / exps.sum(axis=-1, keepdims=True)
""",
    loss="""
p2 = np.reshape(p, (-1, np.shape(p)[-1]))
q2 = np.reshape(q, p2.shape)
logs = np.log(np.where(q2 > 0, q2, 1e-300))
return -np.sum(p2 * logs) / p2.shape[0]
""",
    one_hot="""
table = np.identity(num_classes, dtype=np.int64)
return table[np.asarray(label).astype(np.int64)]
""",
    learn="""
w = np.array(W, dtype=float)
bb = np.array(b, dtype=float)
n = X_train.shape[0]
losses, train_errors, val_errors = [], [], []
every = max(max_iters // 25, 1)
for t in range(max_iters):
    lo = (t * batch_size) % n
    hi = min(lo + batch_size, n)
    X_b = X_train[lo:hi]
    onehot = one_hot_encode(y_train[lo:hi])
    probs = softmax(X_b @ w + bb)
    diff = (probs - onehot) / len(X_b)   # gradient of the mean loss w.r.t. the scores
    w -= learning_rate * (X_b.T @ diff)
    bb -= learning_rate * diff.sum(axis=0)
    if (t + 1) % every == 0:
        losses.append(cross_entropy_loss(onehot, probs))
        train_errors.append(np.mean(np.argmax(X_train @ w + bb, axis=1) != y_train))
        val_errors.append(np.mean(np.argmax(X_val @ w + bb, axis=1) != y_val))
return w, bb, losses, train_errors, val_errors
""")

AUTHOR_F = _answers(
    softmax="""
a = np.asarray(z, dtype=np.float64)
t = a.T
t = np.exp(t - t.max(axis=0))
return (t / t.sum(axis=0)).T
""",
    loss="""
picked = np.log(np.clip(np.asarray(q, float), 1e-10, None))
per_example = -(picked * p).sum(-1)
return per_example.mean() if np.ndim(per_example) else float(per_example)
""",
    one_hot="""
y = np.asarray(label).astype(int)
flat = y.reshape(-1)
out = np.zeros((flat.size, num_classes))
out[np.arange(flat.size), flat] = 1.0
return out.reshape(y.shape + (num_classes,))
""",
    before_learn='''
def _batches(n, size):
    """Endless start indices of consecutive batches."""
    start = 0
    while True:
        yield start
        start = (start + size) % n
''',
    learn="""
W_cur = W + 0.0
b_cur = b + 0.0
losses, train_errors, val_errors = [], [], []
window = []
starts = _batches(len(X_train), batch_size)
for k in range(1, max_iters + 1):
    s = next(starts)
    Xk, Yk = X_train[s:s + batch_size], one_hot_encode(y_train[s:s + batch_size])
    Pk = neural_network_prediction(Xk, W_cur, b_cur)
    window.append(cross_entropy_loss(Yk, Pk))
    W_cur, b_cur = W_cur - learning_rate * dloss_dw(Yk, Xk, Pk), b_cur - learning_rate * dloss_db(Yk, Xk, Pk)
    if k % 250 == 0 or k == max_iters:
        losses.append(sum(window) / len(window))
        window.clear()
        train_errors.append(error_rate_mnist(W_cur, b_cur, X_train[:10000], y_train[:10000]))
        val_errors.append(error_rate_mnist(W_cur, b_cur, X_val, y_val))
return W_cur, b_cur, losses, train_errors, val_errors
""")

INDEPENDENT = [
    Student("indep-loops", "loops everywhere; reshuffles every epoch with np.random", answers=AUTHOR_A),
    Student("indep-logsumexp", "log-sum-exp softmax, comparison one-hots, a while loop", answers=AUTHOR_B),
    Student("indep-2d", "works on 2-D copies, einsum, put_along_axis, a seeded generator", answers=AUTHOR_C),
    Student("indep-obvious", "the short obvious version of everything", answers=AUTHOR_D),
    Student("indep-obvious-too", "short obvious softmax and loss, its own gradient step", answers=AUTHOR_E),
    Student("indep-transposed", "transposed softmax, a batch generator", answers=AUTHOR_F),
]


# ---------------------------------------------------------------------------
# Two copiers, with the classmate each copied from.

COPY_OF_F = _answers(
    softmax="""
arr = np.asarray(z, dtype=np.float64)
tr = arr.T   # work column-wise, then transpose back
tr = np.exp(tr - tr.max(axis=0))
return (tr / tr.sum(axis=0)).T
""",
    loss="""
log_q = np.log(np.clip(np.asarray(q, float), 1e-10, None))
each = -(log_q * p).sum(-1)
return each.mean() if np.ndim(each) else float(each)
""",
    one_hot="""
lab = np.asarray(label).astype(int)
lab_flat = lab.reshape(-1)
encoded = np.zeros((lab_flat.size, num_classes))
encoded[np.arange(lab_flat.size), lab_flat] = 1.0
return encoded.reshape(lab.shape + (num_classes,))
""",
    learn="""
# copies of the starting parameters
weights = W + 0.0
biases = b + 0.0
loss_hist, tr_hist, va_hist = [], [], []
recent = []
positions = _start_positions(len(X_train), batch_size)
for it in range(1, max_iters + 1):
    p0 = next(positions)
    Xb, Yb = X_train[p0:p0 + batch_size], one_hot_encode(y_train[p0:p0 + batch_size])
    Pb = neural_network_prediction(Xb, weights, biases)
    recent.append(cross_entropy_loss(Yb, Pb))
    weights, biases = weights - learning_rate * dloss_dw(Yb, Xb, Pb), biases - learning_rate * dloss_db(Yb, Xb, Pb)
    if it % 250 == 0 or it == max_iters:
        # log progress
        loss_hist.append(sum(recent) / len(recent))
        recent.clear()
        va_hist.append(error_rate_mnist(weights, biases, X_val, y_val))
        tr_hist.append(error_rate_mnist(weights, biases, X_train[:10000], y_train[:10000]))
return weights, biases, loss_hist, tr_hist, va_hist
""",
    after_learn='''
def _start_positions(count, step):
    """Where each minibatch begins, forever."""
    first = 0
    while True:
        yield first
        first = (first + step) % count
''')

COPY_OF_A = _answers(
    softmax="""
scores = np.asarray(z, dtype=float)
if scores.ndim == 1:
    top = np.max(scores)
    ex = np.exp(scores - top)
    return ex / np.sum(ex)
res = np.empty_like(scores)
for r in range(scores.shape[0]):
    shifted_row = scores[r] - np.max(scores[r])
    res[r] = np.exp(shifted_row) / np.exp(shifted_row).sum()
return res
""",
    loss="""
true = np.atleast_2d(p)
pred = np.atleast_2d(q)
acc = 0.0
for a in range(len(true)):
    for c in range(true.shape[1]):
        if true[a, c] != 0:
            acc -= true[a, c] * np.log(max(pred[a, c], 1e-15))  # avoid log(0)
return acc / len(true)
""",
    one_hot="""
ys = np.asarray(label)
if ys.ndim == 0:
    single = np.zeros(num_classes)
    single[int(ys)] = 1
    return single
encoded = np.zeros((len(ys), num_classes))
for r, y in enumerate(ys):
    encoded[r, y] = 1.0
return encoded
""",
    learn="""
Wc = W.copy()
bc = b.copy()
loss_list, tr_list, va_list = [], [], []
perm = np.random.permutation(len(X_train))
cursor = 0
batch_losses = []
for step in range(max_iters):
    if cursor + batch_size > len(perm):
        perm = np.random.permutation(len(X_train))
        cursor = 0
    sel = perm[cursor:cursor + batch_size]
    cursor += batch_size
    Xs, Ys = X_train[sel], one_hot_encode(y_train[sel])
    P = neural_network_prediction(Xs, Wc, bc)
    batch_losses.append(cross_entropy_loss(Ys, P))
    Wc -= learning_rate * dloss_dw(Ys, Xs, P)
    bc -= learning_rate * dloss_db(Ys, Xs, P)
    if (step + 1) % 100 == 0 or step + 1 == max_iters:
        loss_list.append(np.mean(batch_losses))
        batch_losses = []
        tr_list.append(error_rate_mnist(Wc, bc, X_train[:10000], y_train[:10000]))
        va_list.append(error_rate_mnist(Wc, bc, X_val, y_val))
return Wc, bc, loss_list, tr_list, va_list
""")

COPIERS = [
    (Student("copies-transposed", "indep-transposed's notebook: renamed, re-commented, its helper moved below learn",
             answers=COPY_OF_F), "indep-transposed"),
    (Student("copies-loops", "indep-loops' notebook: every name changed, comments reworded", answers=COPY_OF_A),
     "indep-loops"),
]

SIMILARITY_CLASS = INDEPENDENT + [copier for copier, _ in COPIERS]
COPIED_PAIRS = {frozenset((copier.student_id, source)) for copier, source in COPIERS}


def mixed_authors_class(size, seed=0):
    """``size`` students, each with every function of part 1 written by one of the six authors (drawn at random,
    no two students alike): a large class for timing the similarity check."""
    import itertools
    import random

    authors = [student.answers for student in INDEPENDENT]
    cells = list(authors[0])
    choices = random.Random(seed).sample(list(itertools.product(range(len(authors)), repeat=len(cells))), size)
    return [Student(f"student{number:04d}", "mixed authors",
                    answers={cell: authors[author][cell] for cell, author in zip(cells, choice)})
            for number, choice in enumerate(choices)]
