"""The catalogue of simulated students of part 2 (`mnist_mlp`): the reference solution with one
thing changed, and the grade each deserves.

Each entry pairs a `SimulatedStudent` with the points it must get in every graded cell, as in
part 1's catalogue (`mnist_numpy_students`). The training loop's tests run the student's
``learn`` with the course's own forward and backward passes, so a mistake in ``forward`` or
``backward`` costs only the cells that check them.
"""

from functools import partial

from mnistkit.simulated.students import PART2, Catalogue, SimulatedStudent, function, set_source, without_cells

ASSIGNMENT = PART2
Student = partial(SimulatedStudent, assignment=ASSIGNMENT)  # a student of this assignment

ALL_POINTS = {
    "relu_values": 1, "relu_derivative_values": 2,
    "init_scale": 2, "init_reproducible": 1,
    "forward_shapes": 1, "forward_values": 2,
    "backward_shapes": 1, "backward_values": 2, "backward_gradient_check": 4, "backward_dead_relu": 1,
    "backward_does_not_mutate": 1,
    "learn_one_step": 2, "learn_does_not_mutate": 1, "learn_reaches_threshold": 4,
}
INIT_CELLS = ("init_scale", "init_reproducible")
BACKWARD_CELLS = ("backward_shapes", "backward_values", "backward_gradient_check", "backward_dead_relu",
                  "backward_does_not_mutate")
# What wrong gradient values lose: the values and their check against finite differences.
WRONG_GRADIENTS = ("backward_values", "backward_gradient_check")

CATALOGUE = Catalogue(ASSIGNMENT, ALL_POINTS)
REFERENCE, losing, changed, student = CATALOGUE.reference, CATALOGUE.losing, CATALOGUE.changed, CATALOGUE.student

RELU = 'def relu(z):\n    """max(z, 0) element by element: any shape -> the same shape. z is not modified."""'
RELU_DERIVATIVE = ('def relu_derivative(z):\n    """The ReLU\'s derivative element by element: 1.0 where z > 0, '
                   'else 0.0 (0.0 at exactly 0)."""')
INIT = REFERENCE["init_params"].split("    return {")[0].rstrip()  # the signature and docstring
BACKWARD = REFERENCE["backward"].split("    n = y_true")[0].rstrip()
FORWARD = REFERENCE["forward"].split("    Z1 =")[0].rstrip()
LEARN_STEP = "        params = {name: value - learning_rate * grads[name] for name, value in params.items()}\n"
COPIES = "    params = {name: np.array(value, dtype=np.float64) for name, value in params.items()}  # copies\n"


VALID = [
    student("mlp-valid-where", "np.where for both, an integer derivative",
            relu="\n\n".join([function(RELU, "return np.where(z > 0, z, 0.0)"),
                              function(RELU_DERIVATIVE, "return np.where(np.asarray(z) > 0, 1, 0)")])),
    student("mlp-valid-bool-mask", "a boolean derivative, and a mask instead of a product in backward",
            relu="\n\n".join([function(RELU, "return z * (z > 0)"), function(RELU_DERIVATIVE, "return np.asarray(z) > 0")]),
            backward=changed("backward", "dZ1 = dH * relu_derivative(cache[\"Z1\"])",
                             "dZ1 = dH.copy()\n    dZ1[cache[\"Z1\"] <= 0] = 0.0")),
    student("mlp-valid-tuple-cache", "a tuple as the cache",
            forward=changed("forward", 'return probs, {"X": X, "Z1": Z1, "H": H}', "return probs, (X, Z1, H)"),
            backward=changed("backward", 'relu_derivative(cache["Z1"])', "relu_derivative(cache[1])",
                             'cache["X"].T', "cache[0].T", 'cache["H"].T', "cache[2].T")),
    student("mlp-valid-means-einsum", "divides by n at the end, with einsum and mean",
            backward=function(BACKWARD, """
X, Z1, H = cache["X"], cache["Z1"], cache["H"]
dZ2 = probs - y_true
dZ1 = (dZ2 @ params["W2"].T) * relu_derivative(Z1)
return {"W1": np.einsum("ni,nj->ij", X, dZ1) / len(X), "b1": dZ1.mean(axis=0),
        "W2": np.einsum("ni,nj->ij", H, dZ2) / len(X), "b2": dZ2.mean(axis=0)}
""")),
    student("mlp-valid-uniform-he", "He's uniform variant, U(-sqrt(6/n), sqrt(6/n)), with a loop over layers",
            init_params=function(INIT, """
params = {}
for layer, (fan_in, fan_out) in enumerate([(n_in, n_hidden), (n_hidden, n_out)], start=1):
    limit = np.sqrt(6.0 / fan_in)
    params[f"W{layer}"] = rng.uniform(-limit, limit, size=(fan_in, fan_out))
    params[f"b{layer}"] = np.zeros(fan_out)
return params
""")),
    student("mlp-valid-standard-normal", "rng.standard_normal scaled by sqrt(2 / fan_in)",
            init_params=changed("init_params",
                                "rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_hidden))",
                                "rng.standard_normal((n_in, n_hidden)) * np.sqrt(2.0 / n_in)",
                                "rng.normal(0.0, np.sqrt(2.0 / n_hidden), size=(n_hidden, n_out))",
                                "rng.standard_normal((n_hidden, n_out)) * np.sqrt(2.0 / n_hidden)")),
    student("mlp-valid-draw-order", "draws W2 before W1 from the generator",
            init_params=function(INIT, """
W2 = rng.normal(0.0, np.sqrt(2.0 / n_hidden), size=(n_hidden, n_out))
W1 = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_hidden))
return {"W1": W1, "b1": np.zeros(n_hidden), "W2": W2, "b2": np.zeros(n_out)}
""")),
    student("mlp-valid-lists", "forward and learn return lists, not tuples",
            forward=changed("forward", 'return probs, {"X": X, "Z1": Z1, "H": H}', 'return [probs, {"X": X, "Z1": Z1, "H": H}]'),
            learn=changed("learn", "return params, losses, train_errors, val_errors",
                          "return [params, losses, train_errors, val_errors]")),
    student("mlp-valid-shuffled-in-place", "shuffles every epoch and updates its own copies in place",
            learn=changed("learn", COPIES, "    params = {name: value.copy() for name, value in params.items()}\n"
                                           "    order = np.random.permutation(len(X_train))\n",
                          "        X_batch = X_train[start:start + batch_size]\n"
                          "        y_true = one_hot_encode(y_train[start:start + batch_size])\n",
                          "        if start < batch_size and step > 1:\n"
                          "            order = np.random.permutation(n)\n"
                          "        rows = order[start:start + batch_size]\n"
                          "        X_batch, y_true = X_train[rows], one_hot_encode(y_train[rows])\n",
                          LEARN_STEP, "        for name in params:\n"
                                      "            params[name] -= learning_rate * grads[name]\n")),
    student("mlp-valid-warning", "a deep copy, and a warning on stderr from learn",
            learn=changed("learn", COPIES, "    import copy, warnings\n"
                                           "    warnings.warn('training on the CPU may take a second')\n"
                                           "    params = copy.deepcopy(params)\n")),
]

MISTAKES = [
    # The derivative at exactly 0 is taken as 1: its own check, and the unit whose Z1 is exactly 0.
    (student("mlp-relu-derivative-at-zero", "relu_derivative is 1 at exactly 0 (z >= 0)",
             relu=changed("relu", "np.asarray(z) > 0", "np.asarray(z) >= 0")),
     losing("relu_derivative_values", "backward_dead_relu")),
    # np.sign is -1 below 0: gradient flows backwards through units that are off.
    (student("mlp-relu-derivative-sign", "relu_derivative is np.sign(z), -1 below 0",
             relu=changed("relu", "(np.asarray(z) > 0).astype(np.float64)", "np.sign(z)")),
     losing("relu_derivative_values", *WRONG_GRADIENTS, "backward_dead_relu")),
    # relu changes its argument in place; forward's Z1 becomes H, whose sign is the same.
    (student("mlp-relu-in-place", "relu sets the negative entries of its input to 0 in place",
             relu=changed("relu", "return np.maximum(z, 0.0)", "z[z < 0] = 0.0\n    return z")),
     losing("relu_values")),
    (student("mlp-zero-init", "starts every parameter at zero, as part 1 did",
             init_params=changed("init_params", "rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_hidden))",
                                 "np.zeros((n_in, n_hidden))",
                                 "rng.normal(0.0, np.sqrt(2.0 / n_hidden), size=(n_hidden, n_out))",
                                 "np.zeros((n_hidden, n_out))")),
     losing(*INIT_CELLS)),
    (student("mlp-unseeded-init", "draws from np.random instead of the given generator",
             init_params=changed("init_params", "rng.normal(0.0, np.sqrt(2.0 / n_in)", "np.random.normal(0.0, np.sqrt(2.0 / n_in)",
                                 "rng.normal(0.0, np.sqrt(2.0 / n_hidden)", "np.random.normal(0.0, np.sqrt(2.0 / n_hidden)")),
     losing("init_reproducible")),
    # Glorot's scale sqrt(2 / (fan_in + fan_out)) is 6% below He's for W1 (784 -> 100): the standard deviation
    # of 78,400 weights tells them apart by more than 20 standard errors.
    (student("mlp-glorot-init", "Glorot's scale sqrt(2 / (fan_in + fan_out)) instead of He's",
             init_params=changed("init_params", "np.sqrt(2.0 / n_in)", "np.sqrt(2.0 / (n_in + n_hidden))",
                                 "np.sqrt(2.0 / n_hidden)", "np.sqrt(2.0 / (n_hidden + n_out))")),
     losing("init_scale")),
    (student("mlp-xavier-init", "Xavier's scale sqrt(1 / fan_in) instead of He's",
             init_params=changed("init_params", "np.sqrt(2.0 / n_in)", "np.sqrt(1.0 / n_in)",
                                 "np.sqrt(2.0 / n_hidden)", "np.sqrt(1.0 / n_hidden)")),
     losing("init_scale")),
    # Without the ReLU the forward pass is linear, while backward still masks by relu_derivative:
    # the values, the gradients and the units that should be off all differ.
    (student("mlp-forward-no-relu", "forgets the ReLU: H = Z1",
             forward=changed("forward", "H = relu(Z1)", "H = Z1")),
     losing("forward_values", *WRONG_GRADIENTS, "backward_dead_relu")),
    (student("mlp-missing-b1-gradient", "returns zeros as the hidden layer's bias gradient",
             backward=changed("backward", '"b1": dZ1.sum(axis=0),', '"b1": np.zeros_like(params["b1"]),')),
     losing(*WRONG_GRADIENTS)),
    (student("mlp-summed-gradients", "sums the gradients over the batch instead of averaging",
             backward=changed("backward", "(probs - y_true) / n", "probs - y_true")),
     losing(*WRONG_GRADIENTS)),
    # dZ2 @ W2 instead of dZ2 @ W2.T fails on every network whose hidden and output sizes differ;
    # the dead-unit check's network is square, and its dead units still get no gradient.
    (student("mlp-transposed-weight", "propagates through W2 instead of W2.T",
             backward=changed("backward", 'params["W2"].T', 'params["W2"]')),
     losing("backward_shapes", *WRONG_GRADIENTS, "backward_does_not_mutate")),
    # The sigmoid's derivative, H * (1 - H), is 0 where H is 0, so units that are off stay off.
    (student("mlp-wrong-activation-derivative", "backpropagates through the sigmoid's derivative H * (1 - H)",
             backward=changed("backward", 'relu_derivative(cache["Z1"])', '(cache["H"] * (1 - cache["H"]))')),
     losing(*WRONG_GRADIENTS)),
    (student("mlp-backward-mutates-probs", "computes dZ2 in place in the probs it was given",
             backward=changed("backward", "dZ2 = (probs - y_true) / n", "dZ2 = probs\n    dZ2 -= y_true\n    dZ2 /= n")),
     losing("backward_does_not_mutate")),
    (student("mlp-learn-mutates-params", "updates the caller's arrays in place",
             learn=changed("learn", COPIES, "", LEARN_STEP, "        for name in params:\n"
                                                           "            params[name] -= learning_rate * grads[name]\n")),
     losing("learn_does_not_mutate")),
    (student("mlp-learn-wrong-sign", "steps up the gradient",
             learn=changed("learn", "value - learning_rate * grads[name]", "value + learning_rate * grads[name]")),
     losing("learn_one_step", "learn_reaches_threshold")),
    (student("mlp-learn-first-batch-only", "trains on the first batch every step",
             learn=changed("learn", "        start = ((step - 1) * batch_size) % n\n", "        start = 0\n")),
     losing("learn_reaches_threshold")),
    # Batches of 100 rows whatever batch_size says: only the check with another batch size sees it.
    (student("mlp-learn-fixed-batch-size", "always takes batches of 100 rows, ignoring batch_size",
             learn=changed("learn", "        start = ((step - 1) * batch_size) % n\n", "        start = ((step - 1) * 100) % n\n",
                           "X_train[start:start + batch_size]", "X_train[start:start + 100]",
                           "y_train[start:start + batch_size])\n", "y_train[start:start + 100])\n",
                           "y_train[start:start + batch_size]))", "y_train[start:start + 100]))")),
     losing("learn_one_step")),
    (student("mlp-learn-weights-only", "updates W1 and W2 but never the biases",
             learn=changed("learn", LEARN_STEP, "        params = {name: value - learning_rate * grads[name] "
                                                "if name.startswith('W') else value\n"
                                                "                  for name, value in params.items()}\n")),
     losing("learn_one_step")),
]

# The kit's guarantees hold for this assignment too: tampering gains nothing, crashes cost only their cell.
SUMMED = MISTAKES[[s.student_id for s, _ in MISTAKES].index("mlp-summed-gradients")][0].answers["backward"]
TAMPERING = [
    (Student("mlp-tamper-patches-checks", "sums its gradients, and makes relative_error and the loss return 0",
             answers={"backward": SUMMED + "\n\n\nimport mlp_helpers, mnist_checks\n"
                      "mnist_checks.relative_error = lambda a, b: 0.0\n"
                      "mlp_helpers.cross_entropy_loss = lambda p, q: 0.0\n"}),
     losing(*WRONG_GRADIENTS)),
    (Student("mlp-tamper-deletes-tests", "sums its gradients, and deletes every graded cell",
             answers={"backward": SUMMED}, edit=lambda nb: without_cells(nb, *ALL_POINTS)),
     losing(*WRONG_GRADIENTS)),
]
CRASHES = [
    (Student("mlp-crash-baseline-cell", "the kernel dies in an ungraded cell (os._exit)",
             edit=lambda nb: set_source(nb, "import os\nos._exit(3)", "baseline")),
     ALL_POINTS),
]
