"""loss.py: forward and gradient_computing against the reference fixtures and finite differences."""
import numpy as np
import pytest

from loss import SoftmaxCrossEntropyLoss
from reference_check import (
    NOT_FINITE_HINT,
    assert_matches,
    batch_size_mistakes,
    case,
    case_names,
    fail,
    one_hot_accuracy_mistake,
)


def float64_layer(W, b):
    layer = SoftmaxCrossEntropyLoss(W.shape[0], W.shape[1], dtype=np.float64, rng=0)
    layer.W, layer.b = W.copy(), b.copy()
    return layer


@pytest.mark.parametrize('name', case_names('loss'))
def test_forward_matches_reference(reference, name):
    ref = case(reference, 'loss', name)
    layer = float64_layer(ref['W'], ref['b'])
    loss, acc = layer.forward(ref['Input'], ref['labels'])
    batch_size, num_output = len(ref['labels']), ref['W'].shape[1]
    assert_matches('loss', loss, ref['loss'], mistakes=batch_size_mistakes(ref['loss'], batch_size),
                   if_not_finite=NOT_FINITE_HINT, function='forward')
    assert_matches('acc', acc, ref['acc'], function='forward',
                   mistakes=[one_hot_accuracy_mistake(ref['acc'], num_output)])


@pytest.mark.parametrize('name', case_names('loss'))
def test_gradients_match_reference(reference, name):
    ref = case(reference, 'loss', name)
    layer = float64_layer(ref['W'], ref['b'])
    layer.forward(ref['Input'], ref['labels'])
    layer.gradient_computing()
    batch_size = len(ref['labels'])
    for quantity in ('grad_W', 'grad_b'):
        assert_matches(quantity, getattr(layer, quantity, None), ref[quantity],
                       mistakes=batch_size_mistakes(ref[quantity], batch_size),
                       if_not_finite=NOT_FINITE_HINT, function='gradient_computing')


def mean_loss(W, b, Input, labels):
    """The mean cross-entropy, written independently of loss.py (float64, log-sum-exp)."""
    logits = Input @ W + b
    top = logits.max(axis=1, keepdims=True)
    log_sum_exp = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return np.mean(log_sum_exp - logits[np.arange(len(labels)), labels])


def exact_gradients(W, b, Input, labels):
    """(grad_W, grad_b) of mean_loss in closed form, written independently of loss.py."""
    logits = Input @ W + b
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    grad_logits = (probs - np.eye(W.shape[1])[labels]) / len(labels)
    return Input.T @ grad_logits, grad_logits.sum(axis=0, keepdims=True)


FINITE_DIFFERENCES_TEXT = 'the finite-difference gradient of the loss'


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    num_input, num_output, batch_size = 7, 4, 9
    Input = rng.standard_normal((batch_size, num_input))
    labels = rng.integers(0, num_output, size=batch_size)
    layer = SoftmaxCrossEntropyLoss(num_input, num_output, dtype=np.float64, rng=2)
    layer.b = rng.standard_normal((1, num_output))
    loss, _ = layer.forward(Input, labels)
    layer.gradient_computing()
    assert_matches('loss', loss, mean_loss(layer.W, layer.b, Input, labels), rtol=1e-12,
                   function='forward', mistakes=batch_size_mistakes(
                       mean_loss(layer.W, layer.b, Input, labels), batch_size))

    step = 1e-6
    for name in ('W', 'b'):
        param, analytic = getattr(layer, name), getattr(layer, 'grad_' + name, None)
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):  # a loop is fine here: this is the slow check
            saved = param[index]
            param[index] = saved + step
            plus = mean_loss(layer.W, layer.b, Input, labels)
            param[index] = saved - step
            minus = mean_loss(layer.W, layer.b, Input, labels)
            param[index] = saved
            numeric[index] = (plus - minus) / (2 * step)
        assert_matches('grad_' + name, analytic, numeric, rtol=1e-6, atol=1e-9,
                       function='gradient_computing', reference=FINITE_DIFFERENCES_TEXT,
                       mistakes=batch_size_mistakes(numeric, batch_size, FINITE_DIFFERENCES_TEXT),
                       if_not_finite=NOT_FINITE_HINT)


def right_at_ordinary_logits(dtype):
    """(forward's loss is right, gradient_computing's gradients are right) on a small batch with
    logits of order 1, where stability plays no part."""
    rng = np.random.default_rng(4)
    Input, labels = rng.standard_normal((6, 5)), rng.integers(0, 3, size=6)
    layer = SoftmaxCrossEntropyLoss(5, 3, dtype=dtype, rng=0)
    W, b = layer.W.astype(np.float64), layer.b.astype(np.float64)
    loss, _ = layer.forward(Input, labels)
    layer.gradient_computing()
    tolerance = {'rtol': 1e-4, 'atol': 1e-6}
    gradients = (getattr(layer, 'grad_W', None), getattr(layer, 'grad_b', None))
    return (np.allclose(loss, mean_loss(W, b, Input, labels), **tolerance),
            all(np.shape(got) == np.shape(want) and np.allclose(got, want, **tolerance)
                for got, want in zip(gradients, exact_gradients(W, b, Input, labels))))


NOT_STABILITY_HINT = ("{function} is wrong at ordinary logits too, so this is not a matter of "
                      "stability: {test} says what is wrong; fix that first")


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_stable_for_logits_of_magnitude_1e4(dtype):
    """Stability only: a loss or gradient that is wrong at ordinary logits as well is reported
    by the tests above; this one then says so."""
    layer = SoftmaxCrossEntropyLoss(2, 3, dtype=dtype, rng=0)
    layer.W = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    Input = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 5.0]], dtype=dtype)
    labels = np.array([0, 0, 2])
    loss, acc = layer.forward(Input, labels)
    layer.gradient_computing()
    forward_right, gradients_right = right_at_ordinary_logits(dtype)
    forward_hints = [NOT_FINITE_HINT] if forward_right else [NOT_STABILITY_HINT.format(
        function='forward', test='test_forward_matches_reference')]
    gradient_hints = [NOT_FINITE_HINT] if gradients_right else [NOT_STABILITY_HINT.format(
        function='gradient_computing', test='test_gradients_match_reference')]

    # Row 0 is right with certainty (loss 0); rows 1 and 2 miss by 2e4 and 1e4.
    expected_loss = (0 + 2e4 + 1e4) / 3
    if not (np.isfinite(loss) and loss == pytest.approx(expected_loss, rel=1e-6)):
        fail(f"forward: at logits of magnitude 1e4 the loss is {loss}, expected {expected_loss}",
             forward_hints)
    if acc != pytest.approx(1 / 3):
        fail(f"forward: at logits of magnitude 1e4 acc is {acc}, expected 1/3", forward_hints)
    # The probabilities are exactly one-hot here, so the gradient is (p - y) / 3 in closed form.
    expected_grad_logits = np.array([[0, 0, 0], [-1, 1, 0], [1, 0, -1]]) / 3
    for quantity, expected in (('grad_W', Input.T @ expected_grad_logits),
                               ('grad_b', expected_grad_logits.sum(axis=0, keepdims=True))):
        got = np.asarray(getattr(layer, quantity, None), dtype=float)
        if not np.all(np.isfinite(got)):
            fail(f"gradient_computing: at logits of magnitude 1e4, {quantity} has NaN or inf "
                 f"entries", gradient_hints)
        if not (got.shape == expected.shape and np.allclose(got, expected, atol=1e-5)):
            fail(f"gradient_computing: at logits of magnitude 1e4, {quantity} is "
                 f"{np.array2string(got, precision=4)}, expected "
                 f"{np.array2string(expected, precision=4)}", gradient_hints)


def test_float32_layer_agrees_with_float64():
    rng = np.random.default_rng(3)
    Input, labels = rng.standard_normal((5, 6)), rng.integers(0, 4, size=5)
    results = []
    for dtype in (np.float32, np.float64):
        layer = SoftmaxCrossEntropyLoss(6, 4, dtype=dtype, rng=0)
        loss, acc = layer.forward(Input.astype(dtype), labels)
        layer.gradient_computing()
        results.append((loss, acc, layer.grad_W, layer.grad_b))
    for quantity, single, double in zip(('loss', 'acc', 'grad_W', 'grad_b'), *results):
        function = 'gradient_computing' if quantity.startswith('grad') else 'forward'
        assert_matches(f'{quantity} of a float32 layer', single, double, rtol=1e-4, atol=1e-6,
                       function=function, reference='that of a float64 layer')


def test_predictions_follow_the_largest_logit():
    layer = SoftmaxCrossEntropyLoss(3, 3, dtype=np.float64, rng=0)
    layer.W = np.eye(3)
    Input = np.array([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [5.0, 0, 0]])
    _, acc = layer.forward(Input, np.array([0, 1, 0, 2]))
    assert_matches('acc', acc, 0.5, function='forward', reference='0.5 (rows 0 and 1 right)')
