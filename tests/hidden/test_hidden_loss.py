"""Hidden (graders only): forward and gradient_computing on cases the students never saw.

The student tests publish their fixtures; these fresh cases make sure no answer was fitted to
them, and look for side effects that a student's own checks would not.
"""
import numpy as np
import pytest

from expected_values import expected_loss
from loss import SoftmaxCrossEntropyLoss
from reference_check import assert_matches


@pytest.mark.parametrize('batch_size, num_input, num_output, scale', [
    (1, 3, 2, 1.0), (257, 20, 10, 3.0), (64, 784, 10, 0.05), (10, 4, 7, 500.0)])
def test_fresh_cases(batch_size, num_input, num_output, scale):
    rng = np.random.default_rng([batch_size, num_input, num_output])
    layer = SoftmaxCrossEntropyLoss(num_input, num_output, dtype=np.float64, rng=rng)
    layer.W = scale * rng.standard_normal((num_input, num_output))
    layer.b = scale * rng.standard_normal((1, num_output))
    Input = rng.standard_normal((batch_size, num_input))
    labels = rng.integers(0, num_output, size=batch_size)
    want = expected_loss(layer.W, layer.b, Input, labels)
    loss, acc = layer.forward(Input, labels)
    layer.gradient_computing()
    got = {'loss': loss, 'acc': acc, 'grad_W': layer.grad_W, 'grad_b': layer.grad_b}
    for quantity in want:
        assert_matches(quantity, got[quantity], want[quantity], rtol=1e-9, atol=1e-12)


def test_forward_leaves_its_input_alone():
    rng = np.random.default_rng(7)
    layer = SoftmaxCrossEntropyLoss(6, 3, rng=0)
    Input = rng.standard_normal((5, 6)).astype(np.float32)  # the layer's dtype: passed as is
    labels = rng.integers(0, 3, size=5)
    saved = Input.copy(), labels.copy()
    layer.forward(Input, labels)
    layer.gradient_computing()
    np.testing.assert_array_equal(Input, saved[0])
    np.testing.assert_array_equal(labels, saved[1])


def test_gradients_are_those_of_the_last_forward_call():
    rng = np.random.default_rng(8)
    layer = SoftmaxCrossEntropyLoss(6, 3, dtype=np.float64, rng=0)
    batches = [(rng.standard_normal((n, 6)), rng.integers(0, 3, size=n)) for n in (4, 9)]
    for Input, labels in batches:
        layer.forward(Input, labels)
    layer.gradient_computing()
    first = layer.grad_W.copy(), layer.grad_b.copy()
    layer.gradient_computing()  # a second call must not change anything
    want = expected_loss(layer.W, layer.b, *batches[-1])
    for grads in (first, (layer.grad_W, layer.grad_b)):
        assert_matches('grad_W', grads[0], want['grad_W'])
        assert_matches('grad_b', grads[1], want['grad_b'])
