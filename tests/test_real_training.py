"""Training on the MNIST files the kit ships: one epoch, and the assignment's two runs."""
import pytest

from solver import Solver


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
