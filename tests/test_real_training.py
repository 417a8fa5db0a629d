"""Training on the MNIST files the kit ships: one epoch, the assignment's two runs, 0 against 1."""
import subprocess
import sys
from pathlib import Path

import pytest

from solver import Solver

KIT = Path(__file__).resolve().parent.parent


def test_one_epoch_on_the_real_data():
    runner = Solver({'max_epoch': 1}, log=None)
    loss, acc = runner.train()
    assert 0.85 < acc[0] < 0.9 and runner.val_acc[0] > 0.9


# The assignment's logged runs (10 epochs, batch 100, learning rate 0.01, seed 0).
@pytest.mark.parametrize('momentum, assignment_accuracy', [(0.9, 0.9220), (0.0, 0.9017)])
def test_default_run_reproduces_the_assignment(momentum, assignment_accuracy):
    runner = Solver({'momentum': momentum}, log=None)
    runner.train()
    _, test_acc = runner.test()
    assert abs(test_acc - assignment_accuracy) <= 0.003, test_acc


def test_digits_zero_and_one_of_the_real_data():
    """The perceptron exercise's task: 0 against 1, one epoch, on the real MNIST."""
    result = subprocess.run([sys.executable, 'solver.py', '--max_epoch', '1', '--classes', '0,1',
                             '--display_freq', '1000'], capture_output=True, text=True,
                            cwd=KIT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'Batch [0][117]' in result.stdout  # 11646 training images of 0 and 1, batches of 100
    assert float(result.stdout.splitlines()[-1].split()[-1]) > 0.99
