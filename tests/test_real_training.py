"""Training on the MNIST files the kit ships: one epoch, the assignment's two runs, 0 against 1."""
import subprocess
import sys
from pathlib import Path

import pytest

from reference_check import TRAINING_HINT, assert_child_succeeded
from solver import Solver

KIT = Path(__file__).resolve().parent.parent


def test_one_epoch_on_the_real_data():
    runner = Solver({'max_epoch': 1}, log=None)
    loss, acc = runner.train()
    assert 0.85 < acc[0] < 0.9 and runner.val_acc[0] > 0.9, (
        f"Solver.train: after one epoch the training accuracy is {acc[0]:.4f} (expected 0.85 to "
        f"0.9) and the validation accuracy {runner.val_acc[0]:.4f} (expected > 0.9); "
        f"{TRAINING_HINT}")


# The assignment's logged runs (10 epochs, batch 100, learning rate 0.01, seed 0).
@pytest.mark.parametrize('momentum, assignment_accuracy', [(0.9, 0.9220), (0.0, 0.9017)])
def test_default_run_reproduces_the_assignment(momentum, assignment_accuracy):
    runner = Solver({'momentum': momentum}, log=None)
    runner.train()
    _, test_acc = runner.test()
    assert abs(test_acc - assignment_accuracy) <= 0.003, (
        f"Solver.train with momentum {momentum}: test accuracy {test_acc:.4f}, the assignment's "
        f"run reached {assignment_accuracy:.4f} (within 0.003 expected); {TRAINING_HINT}")


def test_digits_zero_and_one_of_the_real_data():
    """The perceptron exercise's task: 0 against 1, one epoch, on the real MNIST."""
    result = subprocess.run([sys.executable, 'solver.py', '--max_epoch', '1', '--classes', '0,1',
                             '--display_freq', '1000'], capture_output=True, text=True,
                            cwd=KIT, timeout=300)
    assert_child_succeeded(result)
    assert 'Batch [0][117]' in result.stdout  # 11646 training images of 0 and 1, batches of 100
    accuracy = float(result.stdout.splitlines()[-1].split()[-1])
    assert accuracy > 0.99, f"solver.py: 0 against 1 reached {accuracy:.4f}; {TRAINING_HINT}"
