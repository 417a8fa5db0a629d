"""optimizer.py: SGD.step (momentum) against the reference fixtures and the update rule."""
import numpy as np
import pytest

from loss import SoftmaxCrossEntropyLoss
from optimizer import SGD
from reference_check import assert_matches, case, case_names


def layer_with(W, b, dtype=np.float64):
    layer = SoftmaxCrossEntropyLoss(W.shape[0], W.shape[1], dtype=dtype, rng=0)
    layer.W, layer.b = W.astype(dtype), b.astype(dtype)
    return layer


@pytest.mark.parametrize('name', case_names('sgd'))
def test_momentum_steps_match_reference(reference, name):
    ref = case(reference, 'sgd', name)
    layer = layer_with(ref['W0'], ref['b0'])
    optimizer = SGD(layer, float(ref['learning_rate']), float(ref['momentum']))
    for step in range(len(ref['grad_W'])):
        layer.grad_W, layer.grad_b = ref['grad_W'][step].copy(), ref['grad_b'][step].copy()
        optimizer.step()
        for param in ('W', 'b'):
            velocity_mistakes, param_mistakes = usual_mistakes(ref, param, step)
            assert_matches(f'diff_{param} after momentum step {step + 1}',
                           getattr(layer, 'diff_' + param), ref['diff_' + param][step],
                           mistakes=velocity_mistakes)
            assert_matches(f'{param} after momentum step {step + 1}', getattr(layer, param),
                           ref[param][step], mistakes=param_mistakes)


def usual_mistakes(ref, param, step):
    """(value, hint) pairs for diff_<param> and <param> after step (0-based): the values the
    usual mistakes give there, the steps before being right (else the test stopped at them)."""
    grad = ref['grad_' + param][step]
    old_velocity = ref['diff_' + param][step - 1] if step else np.zeros_like(grad)
    old_value = ref[param][step - 1] if step else ref[param + '0']
    velocity = [
        (ref['momentum'] * old_velocity - grad,
         "it is the new velocity without the learning rate: multiply the gradient by it"),
        (np.zeros_like(grad), f"it is still zero: store the new velocity in layer.diff_{param}"),
    ]
    value = [(old_value + old_velocity, f"{param} moved by the old velocity (in step 1, not at "
                                        f"all): compute the new velocity first, then add it")]
    return velocity, value


def test_momentum_rule_by_hand():
    W0, b0 = np.array([[1.0, -2.0]]), np.array([[0.5, 0.0]])
    layer = layer_with(W0, b0)
    optimizer = SGD(layer, learning_rate=0.1, momentum=0.5)
    grad_W, grad_b = np.array([[2.0, 4.0]]), np.array([[1.0, -1.0]])
    layer.grad_W, layer.grad_b = grad_W, grad_b
    optimizer.step()  # v1 = -0.1 g
    optimizer.step()  # v2 = 0.5 v1 - 0.1 g = -0.15 g; W2 = W0 - 0.25 g
    np.testing.assert_allclose(layer.diff_W, -0.15 * grad_W)
    np.testing.assert_allclose(layer.diff_b, -0.15 * grad_b)
    np.testing.assert_allclose(layer.W, W0 - 0.25 * grad_W)
    np.testing.assert_allclose(layer.b, b0 - 0.25 * grad_b)


def test_momentum_zero_is_plain_sgd():
    rng = np.random.default_rng(0)
    W0, b0 = rng.standard_normal((4, 3)), rng.standard_normal((1, 3))
    layer = layer_with(W0, b0)
    optimizer = SGD(layer, learning_rate=0.05)
    W, b = W0.copy(), b0.copy()
    for _ in range(3):
        layer.grad_W, layer.grad_b = rng.standard_normal((4, 3)), rng.standard_normal((1, 3))
        optimizer.step()
        W, b = W - 0.05 * layer.grad_W, b - 0.05 * layer.grad_b
    np.testing.assert_allclose(layer.W, W)
    np.testing.assert_allclose(layer.b, b)


def test_float32_layer_stays_float32():
    layer = layer_with(np.ones((3, 2)), np.ones((1, 2)), dtype=np.float32)
    optimizer = SGD(layer, np.float64(0.1), np.float64(0.9))
    layer.grad_W = np.ones((3, 2), dtype=np.float32)
    layer.grad_b = np.ones((1, 2), dtype=np.float32)
    optimizer.step()
    for quantity in ('W', 'b', 'diff_W', 'diff_b'):
        assert getattr(layer, quantity).dtype == np.float32, quantity
