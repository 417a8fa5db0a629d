"""Compare a student's numbers with the reference fixtures, and say clearly what differs.

A failure names the function at fault and the quantity, and says how far it is from the
reference. When the numbers are exactly those that a usual mistake gives (the reference
transposed, negated, without its leading axis, one row per sample, or a value the test names,
such as the loss times the batch size), the message adds a hint; a hint is never a guess.
"""
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent / 'fixtures' / 'reference.npz'

NOT_FINITE_HINT = ("np.exp overflows for large logits: subtract each row's maximum before "
                   "np.exp. And a probability can round to 0: take the loss from the "
                   "log-sum-exp of the logits, not from np.log of the softmax.")

# Where a test of training points when training goes wrong.
TRAINING_HINT = ("training runs your forward, gradient_computing (loss.py) and SGD.step "
                 "(optimizer.py): if tests/test_loss.py or tests/test_optimizer.py fail, fix "
                 "those first")


def load_reference():
    """{'loss/<case>/<name>' or 'sgd/<case>/<name>': array}, as tools/make_fixtures.py wrote."""
    with np.load(FIXTURES) as npz:
        return {key: npz[key] for key in npz.files}


def case_names(prefix):
    """The fixture cases under prefix ('loss' or 'sgd'), e.g. ['batch_of_one', 'small', ...]."""
    return sorted({key.split('/')[1] for key in load_reference() if key.startswith(prefix + '/')})


def case(reference, prefix, name):
    """{quantity: array} of one fixture case."""
    start = f'{prefix}/{name}/'
    return {key[len(start):]: value for key, value in reference.items() if key.startswith(start)}


def batch_size_mistakes(expected, batch_size, reference='the reference'):
    """(value, hint) pairs: what a mean over the batch gives when it is taken wrongly."""
    if batch_size == 1:
        return []
    return [(expected * batch_size, f"it is exactly batch_size={batch_size} times {reference}: "
                                    f"did you divide by the batch size?"),
            (expected / batch_size, f"it is exactly {reference} divided by batch_size="
                                    f"{batch_size}: did you divide by the batch size twice?")]


def assert_matches(quantity, got, expected, rtol=1e-7, atol=1e-10, mistakes=(),
                   if_not_finite=None, function=None, reference='the reference'):
    """Fail with a message naming the function, the quantity and how far it is from reference.

    mistakes: (value, hint) pairs; the hint is shown when got equals that value, the one a
    known mistake gives. if_not_finite: the hint for a NaN or inf where the reference is finite.
    function: the function at fault, e.g. 'forward', which starts the message.
    reference: what expected is, in words ('the finite-difference gradient', say).
    """
    __tracebackhide__ = True
    start = f"{function}: " if function else ''
    expected = np.asarray(expected)
    if got is None:
        pytest.fail(f"{start}{quantity} was not set", pytrace=False)
    got = np.asarray(got)

    def close(a, b):
        return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=rtol, atol=atol)

    if got.shape != expected.shape:
        hints = []
        if got.ndim == 2 and close(got.T, expected):
            hints.append(f"it is exactly {reference}, transposed")
        if expected.ndim == 2 and len(expected) == 1:
            if close(got, expected[0]):
                hints.append(f"it is {reference} without its leading axis of size 1: keep it "
                             f"(keepdims=True), {quantity} must have shape {expected.shape}")
            elif got.ndim == 2 and got.shape[1:] == expected.shape[1:] and \
                    close(got.sum(axis=0, keepdims=True), expected):
                hints.append(f"its rows add up to {reference}: it holds one row per sample; "
                             f"sum over the batch (axis 0) instead")
        fail(f"{start}{quantity} has shape {got.shape}, expected {expected.shape}", hints)
    if not np.all(np.isfinite(got)):
        bad = np.size(got) - np.count_nonzero(np.isfinite(got))
        hints = [if_not_finite] if if_not_finite and np.all(np.isfinite(expected)) else []
        fail(f"{start}{quantity} is {got.item()}" if got.ndim == 0 else
             f"{start}{quantity} has {bad} NaN or inf entries (of {got.size})", hints)
    if not close(got, expected):
        candidates = list(mistakes) + [(-expected, f"it is exactly the negative of {reference}: "
                                                   f"a sign error?")]
        hints = [hint for value, hint in candidates
                 if close(got, value) and not close(value, expected)]
        fail(f"{start}{quantity} differs from {reference}: {where_it_differs(got, expected)} "
             f"(tolerance rtol={rtol}, atol={atol})", hints)


def where_it_differs(got, expected):
    """'got 1.5, expected 1.2' for a scalar; the largest difference and where for an array."""
    if expected.ndim == 0:
        return f"got {got.item():.6g}, expected {expected.item():.6g}"
    index = np.unravel_index(np.argmax(np.abs(got - expected)), expected.shape)
    return (f"the largest difference is at index {tuple(int(i) for i in index)}: got "
            f"{got[index]:.6g}, expected {expected[index]:.6g} (largest expected entry "
            f"{np.max(np.abs(expected)):.3g})")


def assert_child_succeeded(result):
    """Fail unless the child process (a subprocess.CompletedProcess with text output) exited 0;
    a child that stopped on a NotImplementedError (a TODO not written yet) raises it here."""
    __tracebackhide__ = True
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or [''])[-1]
        if last.startswith('NotImplementedError: '):
            raise NotImplementedError(last[len('NotImplementedError: '):])
        pytest.fail(f"{' '.join(map(str, result.args))} exited with status {result.returncode}:\n"
                    f"{result.stderr}", pytrace=False)


def fail(message, hints=()):
    """Fail the test with message and a line 'Hint: ...' for each hint; no traceback."""
    __tracebackhide__ = True
    pytest.fail(message + ''.join(f"\nHint: {hint}" for hint in hints), pytrace=False)


def one_hot_accuracy_mistake(expected_acc, num_output):
    """(value, hint): the accuracy of comparing one-hot rows entry by entry, not by class."""
    return (1 - 2 * (1 - expected_acc) / num_output,
            "it is the fraction of equal entries of one-hot rows; compare the predicted class of "
            "each row (the argmax of its logits) with its label instead")


# The usual wrong velocity rules of SGD with momentum, each with its hint; the right rule is
# velocity = momentum * velocity - learning_rate * gradient. test_optimizer.py looks for them step
# by step in diff_W and diff_b, and momentum_mistakes (the grader) in what they make of W and b.
VELOCITY_MISTAKES = [
    (lambda momentum, learning_rate, velocity, grad: momentum * velocity - grad,
     "the new velocity lacks the learning rate: multiply the gradient by it"),
    (lambda momentum, learning_rate, velocity, grad: -momentum * velocity - learning_rate * grad,
     "the old velocity enters with a minus sign: the new velocity is "
     "momentum * old velocity - learning_rate * gradient"),
    (lambda momentum, learning_rate, velocity, grad: momentum * velocity + learning_rate * grad,
     "the gradient is added: the velocity must go against the gradient "
     "(- learning_rate * gradient)"),
]


def momentum_mistakes(param, initial, grads, learning_rate, momentum):
    """(values of param after each step, hint) pairs: what the usual mistakes of SGD with
    momentum make of param ('W' or 'b'), from initial, over the gradients grads (steps, ...).
    The right rule: velocity = momentum * velocity - learning_rate * grad; param += velocity."""
    m, lr = momentum, learning_rate

    def steps(update):
        value, velocity, after = initial.astype(np.float64), np.zeros(initial.shape), []
        for grad in grads.astype(np.float64):
            value, velocity = update(value, velocity, grad)
            after.append(value)
        return np.stack(after)

    def moved_by(new_velocity):
        return lambda value, velocity, grad: (value + new_velocity(velocity, grad),
                                              new_velocity(velocity, grad))

    mistakes = [
        (lambda value, velocity, grad: (value + velocity, m * velocity - lr * grad),
         f"{param} moved by the old velocity (in step 1, not at all): compute the new velocity "
         f"first, then add it"),
        *[(moved_by(lambda velocity, grad, rule=rule: rule(m, lr, velocity, grad)), hint)
          for rule, hint in VELOCITY_MISTAKES],
        (lambda value, velocity, grad: (value - lr * (m * velocity + (1 - m) * grad),
                                        m * velocity + (1 - m) * grad),
         "it is a moving average of the gradients, not the assignment's rule: the new velocity "
         "is momentum times the old one minus learning_rate times the gradient"),
        (lambda value, velocity, grad: (value, velocity),
         f"{param} never changes: update it too ({param} += the new velocity)"),
    ]
    if m:
        mistakes.append((moved_by(lambda velocity, grad: -lr * grad),
                         "it is what plain SGD gives: the velocity must keep momentum times the "
                         f"previous one (store the new velocity in layer.diff_{param})"))
    return [(steps(update), hint) for update, hint in mistakes]
