"""loss.py: forward and gradient_computing against the reference fixtures and finite differences."""
import numpy as np
import pytest

from loss import SoftmaxCrossEntropyLoss
from reference_check import (NOT_FINITE_HINT, assert_matches, batch_size_mistakes, case,
                             case_names, one_hot_accuracy_mistake)


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
                   if_not_finite=NOT_FINITE_HINT)
    assert_matches('acc', acc, ref['acc'],
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
                       if_not_finite=NOT_FINITE_HINT)


def mean_loss(W, b, Input, labels):
    """The mean cross-entropy, written independently of loss.py (float64, log-sum-exp)."""
    logits = Input @ W + b
    top = logits.max(axis=1, keepdims=True)
    log_sum_exp = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return np.mean(log_sum_exp - logits[np.arange(len(labels)), labels])


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    num_input, num_output, batch_size = 7, 4, 9
    Input = rng.standard_normal((batch_size, num_input))
    labels = rng.integers(0, num_output, size=batch_size)
    layer = SoftmaxCrossEntropyLoss(num_input, num_output, dtype=np.float64, rng=2)
    layer.b = rng.standard_normal((1, num_output))
    loss, _ = layer.forward(Input, labels)
    layer.gradient_computing()
    assert loss == pytest.approx(mean_loss(layer.W, layer.b, Input, labels), rel=1e-12)

    step = 1e-6
    for param, analytic in ((layer.W, layer.grad_W), (layer.b, layer.grad_b)):
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):  # a loop is fine here: this is the slow check
            saved = param[index]
            param[index] = saved + step
            plus = mean_loss(layer.W, layer.b, Input, labels)
            param[index] = saved - step
            minus = mean_loss(layer.W, layer.b, Input, labels)
            param[index] = saved
            numeric[index] = (plus - minus) / (2 * step)
        assert analytic.shape == param.shape
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_stable_for_logits_of_magnitude_1e4(dtype):
    layer = SoftmaxCrossEntropyLoss(2, 3, dtype=dtype, rng=0)
    layer.W = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    Input = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 5.0]], dtype=dtype)
    labels = np.array([0, 0, 2])
    loss, acc = layer.forward(Input, labels)
    layer.gradient_computing()
    # Row 0 is right with certainty (loss 0); rows 1 and 2 miss by 2e4 and 1e4.
    assert np.isfinite(loss), f"loss is {loss}. Hint: {NOT_FINITE_HINT}"
    assert loss == pytest.approx((0 + 2e4 + 1e4) / 3, rel=1e-6)
    assert acc == pytest.approx(1 / 3)
    assert np.all(np.isfinite(layer.grad_W)) and np.all(np.isfinite(layer.grad_b)), \
        f"NaN or inf in the gradients. Hint: {NOT_FINITE_HINT}"
    # The probabilities are exactly one-hot here, so the gradient is (p - y) / 3 in closed form.
    expected_grad_logits = np.array([[0, 0, 0], [-1, 1, 0], [1, 0, -1]]) / 3
    np.testing.assert_allclose(layer.grad_b, expected_grad_logits.sum(axis=0, keepdims=True),
                               atol=1e-6)
    np.testing.assert_allclose(layer.grad_W, Input.T @ expected_grad_logits, atol=1e-5)


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
        assert_matches(f'{quantity} of a float32 layer', single, double, rtol=1e-4, atol=1e-6)


def test_predictions_follow_the_largest_logit():
    layer = SoftmaxCrossEntropyLoss(3, 3, dtype=np.float64, rng=0)
    layer.W = np.eye(3)
    Input = np.array([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [5.0, 0, 0]])
    _, acc = layer.forward(Input, np.array([0, 1, 0, 2]))
    assert acc == 0.5
