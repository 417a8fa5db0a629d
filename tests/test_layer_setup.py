"""What loss.py and optimizer.py set up around the TODOs: initial weights, input checks, velocities.

These tests pass before any TODO is filled in, and must keep passing after.
"""
import numpy as np
import pytest

from loss import SoftmaxCrossEntropyLoss
from optimizer import SGD


def test_xavier_init():
    layer = SoftmaxCrossEntropyLoss(784, 10, rng=0)
    assert layer.W.shape == (784, 10) and layer.b.shape == (1, 10)
    assert layer.W.dtype == np.float32 and layer.b.dtype == np.float32
    assert np.all(layer.b == 0)
    # Glorot normal: standard deviation sqrt(2 / (fan_in + fan_out)) = 0.0502 here.
    assert layer.W.std() == pytest.approx(np.sqrt(2 / 794), rel=0.05)
    assert abs(layer.W.mean()) < 0.005
    np.testing.assert_array_equal(layer.W, SoftmaxCrossEntropyLoss(784, 10, rng=0).W)
    assert not np.array_equal(layer.W, SoftmaxCrossEntropyLoss(784, 10, rng=1).W)


@pytest.mark.parametrize('Input, labels, message', [
    (np.zeros((4, 5)), np.zeros(4, dtype=int), r'\(batch_size, 6\).*\(4, 5\)'),
    (np.zeros((4, 6)), np.zeros(3, dtype=int), r'\(4, 6\) and \(3,\)'),
    (np.zeros(6), np.zeros(1, dtype=int), r'\(6,\)'),
    (np.zeros((4, 6)), np.zeros(4), r'labels must be integers'),
])
def test_forward_rejects_bad_batches(Input, labels, message):
    layer = SoftmaxCrossEntropyLoss(6, 3, rng=0)
    with pytest.raises(ValueError, match=message):
        layer.forward(Input, labels)


def float32_layer(trainable=True):
    layer = SoftmaxCrossEntropyLoss(3, 2, trainable=trainable, rng=0)
    layer.W, layer.b = np.ones((3, 2), dtype=np.float32), np.ones((1, 2), dtype=np.float32)
    return layer


def test_velocities_start_at_zero():
    layer = float32_layer()
    SGD(layer, 0.1, 0.9)
    assert layer.diff_W.shape == (3, 2) and layer.diff_b.shape == (1, 2)
    assert np.all(layer.diff_W == 0) and np.all(layer.diff_b == 0)


def test_untrainable_layer_is_left_alone():
    layer = float32_layer(trainable=False)
    optimizer = SGD(layer, 0.1, 0.9)
    layer.grad_W, layer.grad_b = np.ones((3, 2)), np.ones((1, 2))
    optimizer.step()
    np.testing.assert_array_equal(layer.W, np.ones((3, 2)))
    np.testing.assert_array_equal(layer.b, np.ones((1, 2)))
    assert np.all(layer.diff_W == 0) and np.all(layer.diff_b == 0)
