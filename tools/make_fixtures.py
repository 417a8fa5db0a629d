"""Write tests/fixtures/reference.npz: inputs and the reference code's outputs, for grading.

    python tools/make_fixtures.py [--out tests/fixtures/reference.npz]

Run it from the instructor's source (with the solutions), after any change to loss.py or
optimizer.py that should change the expected values. The tests compare students' code with it.
Keys: 'loss/<case>/<name>' for the loss cases, 'sgd/<case>/<name>' for the momentum steps.
"""
if not __package__:  # run as python tools/make_fixtures.py: see tools/_as_module.py
    import _as_module  # noqa: F401
import argparse
from pathlib import Path

import numpy as np

from loss import SoftmaxCrossEntropyLoss
from optimizer import SGD
from tools import KIT

DEFAULT_OUT = KIT / 'tests' / 'fixtures' / 'reference.npz'
SGD_STEPS = 3


def loss_case(rng, batch_size, num_input, num_output, logit_scale=1.0):
    """One batch and one layer in float64, with the expected loss, acc and gradients."""
    layer = SoftmaxCrossEntropyLoss(num_input, num_output, dtype=np.float64, rng=rng)
    layer.W = rng.standard_normal((num_input, num_output)) * logit_scale
    layer.b = rng.standard_normal((1, num_output)) * logit_scale
    Input = rng.standard_normal((batch_size, num_input))
    labels = rng.integers(0, num_output, size=batch_size)
    # Label a third of the rows with the class the layer predicts, so that acc is not ~0.
    predicted = (Input[::3] @ layer.W + layer.b).argmax(axis=1)
    labels[::3] = predicted
    case = {'Input': Input, 'labels': labels, 'W': layer.W.copy(), 'b': layer.b.copy()}
    case['loss'], case['acc'] = layer.forward(Input, labels)
    layer.gradient_computing()
    case['grad_W'], case['grad_b'] = layer.grad_W, layer.grad_b
    return case


def sgd_case(rng, momentum, learning_rate=0.1, shape=(5, 3)):
    """SGD_STEPS updates from given gradients: the W, b, diff_W, diff_b after each step."""
    layer = SoftmaxCrossEntropyLoss(shape[0], shape[1], dtype=np.float64, rng=rng)
    layer.b = rng.standard_normal((1, shape[1]))
    case = {'W0': layer.W.copy(), 'b0': layer.b.copy(),
            'learning_rate': np.float64(learning_rate), 'momentum': np.float64(momentum),
            'grad_W': rng.standard_normal((SGD_STEPS,) + shape),
            'grad_b': rng.standard_normal((SGD_STEPS, 1, shape[1]))}
    optimizer = SGD(layer, learning_rate, momentum)
    after = {name: [] for name in ('W', 'b', 'diff_W', 'diff_b')}
    for step in range(SGD_STEPS):
        layer.grad_W, layer.grad_b = case['grad_W'][step], case['grad_b'][step]
        optimizer.step()
        for name in after:
            after[name].append(getattr(layer, name).copy())
    case.update({name: np.stack(values) for name, values in after.items()})
    return case


def make_fixtures():
    """{key: array} of every case, from a fixed seed."""
    rng = np.random.default_rng(20261125)
    cases = {
        'loss/small': loss_case(rng, batch_size=6, num_input=5, num_output=4),
        'loss/batch_of_one': loss_case(rng, batch_size=1, num_input=5, num_output=3),
        'loss/mnist_shape': loss_case(rng, batch_size=32, num_input=784, num_output=10,
                                      logit_scale=0.05),
        'loss/large_logits': loss_case(rng, batch_size=8, num_input=6, num_output=5,
                                       logit_scale=2e3),
        'sgd/momentum_0.9': sgd_case(rng, momentum=0.9),
        'sgd/momentum_0': sgd_case(rng, momentum=0.0),
    }
    return {f'{case}/{name}': np.asarray(value)
            for case, arrays in cases.items() for name, value in arrays.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **make_fixtures())
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
