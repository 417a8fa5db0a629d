"""optimizer.py: SGD.step (momentum) against the reference fixtures and the update rule."""
import numpy as np
import pytest

from loss import SoftmaxCrossEntropyLoss
from optimizer import SGD
from reference_check import VELOCITY_MISTAKES, assert_matches, case, case_names, fail


def layer_with(W, b, dtype=np.float64):
    layer = SoftmaxCrossEntropyLoss(W.shape[0], W.shape[1], dtype=dtype, rng=0)
    layer.W, layer.b = W.astype(dtype), b.astype(dtype)
    return layer


def usual_mistakes(param, step, momentum, learning_rate, grad, old_velocity, old_value):
    """(value, hint) pairs for diff_<param> and <param> after step (1-based): the values the
    usual mistakes give there, the steps before being right (else the test stopped at them)."""
    velocity = [(rule(momentum, learning_rate, old_velocity, grad), hint)
                for rule, hint in VELOCITY_MISTAKES]
    velocity.append((np.zeros_like(grad),
                     f"it is still zero: store the new velocity in layer.diff_{param}"))
    if step == 1:  # the old velocity is zero: moving by it is not moving at all
        value = [(old_value, f"{param} did not move: compute the new velocity first, then add it "
                             f"to layer.{param} (the old velocity, zero in step 1, moves nothing)")]
    else:
        value = [(old_value, f"{param} did not move: add the new velocity diff_{param} to "
                             f"layer.{param}"),
                 (old_value + old_velocity, f"{param} moved by the old velocity: compute the new "
                                            f"velocity first, then add it")]
    return velocity, value


def check_step(layer, step, momentum, learning_rate, before, expected):
    """Fail, naming the step, the parameter and the likely mistake, unless diff_W, W, diff_b and
    b after step (1-based) are those of expected ({'diff_W': ..., 'W': ...}); before holds their
    values before the step."""
    for param in ('W', 'b'):
        velocity_mistakes, value_mistakes = usual_mistakes(
            param, step, momentum, learning_rate, getattr(layer, 'grad_' + param),
            before['diff_' + param], before[param])
        assert_matches(f'diff_{param} after momentum step {step}', getattr(layer, 'diff_' + param),
                       expected['diff_' + param], mistakes=velocity_mistakes, function='SGD.step')
        assert_matches(f'{param} after momentum step {step}', getattr(layer, param),
                       expected[param], mistakes=value_mistakes, function='SGD.step')


def state(layer):
    return {name: np.array(getattr(layer, name)) for name in ('W', 'b', 'diff_W', 'diff_b')}


@pytest.mark.parametrize('name', case_names('sgd'))
def test_momentum_steps_match_reference(reference, name):
    ref = case(reference, 'sgd', name)
    layer = layer_with(ref['W0'], ref['b0'])
    momentum, learning_rate = float(ref['momentum']), float(ref['learning_rate'])
    optimizer = SGD(layer, learning_rate, momentum)
    for step in range(len(ref['grad_W'])):
        layer.grad_W, layer.grad_b = ref['grad_W'][step].copy(), ref['grad_b'][step].copy()
        before = state(layer)
        optimizer.step()
        check_step(layer, step + 1, momentum, learning_rate, before,
                   {key: ref[key][step] for key in ('W', 'b', 'diff_W', 'diff_b')})


def test_momentum_rule_by_hand():
    W0, b0 = np.array([[1.0, -2.0]]), np.array([[0.5, 0.0]])
    layer = layer_with(W0, b0)
    optimizer = SGD(layer, learning_rate=0.1, momentum=0.5)
    grad_W, grad_b = np.array([[2.0, 4.0]]), np.array([[1.0, -1.0]])
    # v1 = -0.1 g, W1 = W0 - 0.1 g; v2 = 0.5 v1 - 0.1 g = -0.15 g, W2 = W0 - 0.25 g
    expected = [{'diff_W': -0.1 * grad_W, 'diff_b': -0.1 * grad_b,
                 'W': W0 - 0.1 * grad_W, 'b': b0 - 0.1 * grad_b},
                {'diff_W': -0.15 * grad_W, 'diff_b': -0.15 * grad_b,
                 'W': W0 - 0.25 * grad_W, 'b': b0 - 0.25 * grad_b}]
    for step, after in enumerate(expected, 1):
        layer.grad_W, layer.grad_b = grad_W.copy(), grad_b.copy()
        before = state(layer)
        optimizer.step()
        check_step(layer, step, 0.5, 0.1, before, after)


def test_momentum_zero_is_plain_sgd():
    rng = np.random.default_rng(0)
    W0, b0 = rng.standard_normal((4, 3)), rng.standard_normal((1, 3))
    layer = layer_with(W0, b0)
    optimizer = SGD(layer, learning_rate=0.05)
    W, b = W0.copy(), b0.copy()
    for step in range(1, 4):
        layer.grad_W, layer.grad_b = rng.standard_normal((4, 3)), rng.standard_normal((1, 3))
        before = state(layer)
        optimizer.step()
        W, b = W - 0.05 * layer.grad_W, b - 0.05 * layer.grad_b
        check_step(layer, step, 0.0, 0.05, before, {'W': W, 'b': b, 'diff_W': -0.05 * layer.grad_W,
                                                    'diff_b': -0.05 * layer.grad_b})


def test_float32_layer_stays_float32():
    layer = layer_with(np.ones((3, 2)), np.ones((1, 2)), dtype=np.float32)
    optimizer = SGD(layer, np.float64(0.1), np.float64(0.9))
    layer.grad_W = np.ones((3, 2), dtype=np.float32)
    layer.grad_b = np.ones((1, 2), dtype=np.float32)
    optimizer.step()
    for quantity in ('W', 'b', 'diff_W', 'diff_b'):
        dtype = np.asarray(getattr(layer, quantity)).dtype
        if dtype != np.float32:
            fail(f"SGD.step: layer.{quantity} of a float32 layer became {dtype} after one step",
                 ["mix only float32 arrays and Python numbers (self.learning_rate, "
                  "self.momentum) in the update; a float64 array makes the result float64"])
