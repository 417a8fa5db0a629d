"""The optional cfg key lr_schedule: off by default, cosine when asked, checked like the others."""
import math

import numpy as np
import pytest

import solver
from idx_helpers import write_dataset
from solver import Solver


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    write_dataset(root, n_train=5600, n_test=300, num_classes=3, shape=(4, 5))
    return str(root)


def make_solver(data_root, **cfg):
    return Solver({'data_root': data_root, 'max_epoch': 4, 'batch_size': 64,
                   'learning_rate': 0.1, **cfg}, log=None)


def test_the_default_run_is_the_plain_sgd_run(data_root):
    """Solver.train with the default schedule takes exactly the steps of a bare SGD loop."""
    runner = make_solver(data_root)
    runner.train()
    plain = make_solver(data_root)  # the same seed: the same initial weights and batch order
    for _ in range(4):
        for images, labels in plain.train_loader:
            plain.model.forward(images, labels)
            plain.model.gradient_computing()
            plain.optimizer.step()
    assert runner.optimizer.learning_rate == 0.1
    np.testing.assert_array_equal(runner.model.W, plain.model.W)
    np.testing.assert_array_equal(runner.model.b, plain.model.b)


def test_cosine_falls_from_the_learning_rate_towards_zero(data_root):
    runner = make_solver(data_root, lr_schedule='cosine')
    rates = [runner.epoch_learning_rate(epoch) for epoch in range(4)]
    assert rates == pytest.approx([0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05,
                                   0.1 * (1 + math.cos(3 * math.pi / 4)) / 2])
    runner.train()
    assert runner.optimizer.learning_rate == rates[-1]  # the last epoch ran at the last rate
    constant = make_solver(data_root)
    constant.train()
    assert not np.array_equal(runner.model.W, constant.model.W)


def test_the_command_line_takes_the_schedule(data_root, capsys):
    solver.main(['--data_root', data_root, '--max_epoch', '2', '--lr_schedule', 'cosine',
                 '--display_freq', '1000'])
    assert capsys.readouterr().out.splitlines()[-1].startswith('Final test accuracy')
