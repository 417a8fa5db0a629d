"""Hidden (graders only): SGD.step over many steps, fresh settings, a float32 layer."""
import numpy as np
import pytest

from loss import SoftmaxCrossEntropyLoss
from optimizer import SGD


@pytest.mark.parametrize('learning_rate, momentum', [(0.3, 0.5), (0.001, 0.99), (0.05, 0.0)])
def test_twenty_steps_follow_the_momentum_rule(learning_rate, momentum):
    rng = np.random.default_rng(int(momentum * 100))
    layer = SoftmaxCrossEntropyLoss(5, 4, rng=rng)
    W, b = layer.W.astype(np.float64), layer.b.astype(np.float64)
    velocity_W, velocity_b = np.zeros_like(W), np.zeros_like(b)
    optimizer = SGD(layer, learning_rate, momentum)
    for _ in range(20):
        layer.grad_W = rng.standard_normal((5, 4)).astype(np.float32)
        layer.grad_b = rng.standard_normal((1, 4)).astype(np.float32)
        optimizer.step()
        velocity_W = momentum * velocity_W - learning_rate * layer.grad_W
        velocity_b = momentum * velocity_b - learning_rate * layer.grad_b
        W, b = W + velocity_W, b + velocity_b
    np.testing.assert_allclose(layer.W, W, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.b, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.diff_W, velocity_W, rtol=1e-4, atol=1e-5)
