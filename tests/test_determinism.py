"""The same seed gives the same shuffles, weights and curves to the last bit: in one process,
and in separate processes (with different hash seeds)."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from idx_helpers import write_dataset
from reference_check import assert_child_succeeded
from solver import Solver

TESTS = Path(__file__).resolve().parent


def fingerprint(data_root, seed, **cfg):
    """Train a small run and return everything it produced, exactly: every epoch's sample order,
    the final W and b (their bytes' sha256), and the curves (as float.hex)."""
    cfg = {'data_root': str(data_root), 'max_epoch': 3, 'batch_size': 32, 'learning_rate': 0.1,
           'momentum': 0.9, 'seed': seed, **cfg}
    runner = Solver(cfg, log=None)
    sampler = runner.train_loader.sampler
    orders, prepare = [], sampler.prepare_epoch_indices

    def prepare_and_record():
        prepare()
        orders.append(np.concatenate(sampler.batch_indices).tolist())
    sampler.prepare_epoch_indices = prepare_and_record
    train_loss, train_acc = runner.train()
    test_loss, test_acc = runner.test()
    curves = [train_loss, train_acc, runner.val_loss, runner.val_acc, [test_loss, test_acc]]
    return {
        'orders': orders,
        'W': hashlib.sha256(runner.model.W.tobytes()).hexdigest(),
        'b': hashlib.sha256(runner.model.b.tobytes()).hexdigest(),
        'curves': [[float(value).hex() for value in curve] for curve in curves],
    }


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('determinism')
    write_dataset(root, n_train=5400, n_test=200, num_classes=3)
    return root


@pytest.mark.parametrize('cfg', [{}, {'classes': [2, 0], 'train_limit': 250}],
                         ids=['all classes', 'subset and limit'])
def test_same_seed_same_run_in_one_process(data_root, cfg):
    first, second = fingerprint(data_root, 3, **cfg), fingerprint(data_root, 3, **cfg)
    assert first == second
    assert len(first['orders']) == 3 and first['orders'][0] != first['orders'][1]
    other = fingerprint(data_root, 4, **cfg)
    assert other['orders'][0] != first['orders'][0] and other['W'] != first['W']


def test_same_seed_same_run_in_separate_processes(data_root):
    script = ('import json, sys; sys.path[:0] = sys.argv[1:3]; '
              'from test_determinism import fingerprint; '
              'print(json.dumps(fingerprint(sys.argv[3], 3, classes=[2, 0], train_limit=250)))')
    runs = []
    for hash_seed in ('1', '2'):
        result = subprocess.run(
            [sys.executable, '-c', script, str(TESTS.parent), str(TESTS), str(data_root)],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, 'PYTHONHASHSEED': hash_seed})
        assert_child_succeeded(result)
        runs.append(json.loads(result.stdout))
    assert runs[0] == runs[1] == fingerprint(data_root, 3, classes=[2, 0], train_limit=250)
