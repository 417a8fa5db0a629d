"""Hidden (graders only): SGD.step over many steps, fresh settings, a float32 layer."""
import numpy as np
import pytest

from expected_values import expected_sgd
from loss import SoftmaxCrossEntropyLoss
from optimizer import SGD

STEPS = 20


@pytest.mark.parametrize('learning_rate, momentum', [(0.3, 0.5), (0.001, 0.99), (0.05, 0.0)])
def test_twenty_steps_follow_the_momentum_rule(learning_rate, momentum):
    rng = np.random.default_rng(int(momentum * 100))
    layer = SoftmaxCrossEntropyLoss(5, 4, rng=rng)
    grad_W = rng.standard_normal((STEPS, 5, 4)).astype(np.float32)
    grad_b = rng.standard_normal((STEPS, 1, 4)).astype(np.float32)
    want = expected_sgd(layer.W, layer.b, grad_W, grad_b, learning_rate, momentum)
    optimizer = SGD(layer, learning_rate, momentum)
    for step in range(STEPS):
        layer.grad_W, layer.grad_b = grad_W[step], grad_b[step]
        optimizer.step()
    for name in ('W', 'b', 'diff_W'):
        np.testing.assert_allclose(getattr(layer, name), want[name][-1], rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name} after {STEPS} steps")
