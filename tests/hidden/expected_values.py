"""The expected values of the hidden cases, in float64, written independently of loss.py and
optimizer.py: the hidden tests here and the grader (tools/grading/official.py) both use them.

They live with the hidden tests, which `python tools/release.py --grader` ships without tools/,
and never in the student release.
"""
import numpy as np


def expected_loss(W, b, Input, labels):
    """{'loss', 'acc', 'grad_W', 'grad_b'} of softmax cross-entropy on one batch.

    Input: (batch_size, num_input), labels: (batch_size,), W: (num_input, num_output),
    b: (1, num_output). loss and acc are scalars; grad_W and grad_b have the shapes of W and b.
    """
    logits = Input @ W + b
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    grad_logits = np.exp(log_probs)
    grad_logits[rows, labels] -= 1
    grad_logits /= len(labels)
    return {'loss': -log_probs[rows, labels].mean(),
            'acc': np.mean(logits.argmax(axis=1) == labels),
            'grad_W': Input.T @ grad_logits, 'grad_b': grad_logits.sum(axis=0, keepdims=True)}


def expected_sgd(W0, b0, grad_W, grad_b, learning_rate, momentum):
    """{'W', 'b', 'diff_W', 'diff_b'}: the parameters and their velocities after each step of
    SGD with momentum from W0, b0, stacked: (steps,) + the parameter's shape.

    grad_W: (steps, num_input, num_output), grad_b: (steps, 1, num_output), one per step.
    """
    W, b = W0.astype(np.float64), b0.astype(np.float64)
    diff_W, diff_b = np.zeros_like(W), np.zeros_like(b)
    after = {'W': [], 'b': [], 'diff_W': [], 'diff_b': []}
    for step_W, step_b in zip(grad_W, grad_b):
        diff_W = momentum * diff_W - learning_rate * step_W
        diff_b = momentum * diff_b - learning_rate * step_b
        W, b = W + diff_W, b + diff_b
        for name, value in (('W', W), ('b', b), ('diff_W', diff_W), ('diff_b', diff_b)):
            after[name].append(value)
    return {name: np.stack(values) for name, values in after.items()}
