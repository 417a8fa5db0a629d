"""kit/experiments.py trains: run and sweep on a small synthetic data set, recorded as JSON."""
import json
import re
from pathlib import Path

import pytest

from idx_helpers import write_dataset
from kit import experiments
from kit.experiments import record_run, run, sweep
from solver import Solver

# The training file needs more than the 5000 images the validation split takes.
CFG = {'max_epoch': 2, 'batch_size': 64, 'learning_rate': 0.1, 'display_freq': 1000}


@pytest.fixture(scope='module')
def cfg(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    write_dataset(root, n_train=5600, n_test=300, num_classes=3, shape=(4, 5))
    return {**CFG, 'data_root': str(root)}


def test_run_records_the_training_and_saves_it_as_json(cfg, tmp_path):
    record, runner = run(cfg, 'first', results_dir=tmp_path)
    assert record['cfg'] == runner.cfg and record['cfg']['learning_rate'] == 0.1
    assert record['val_loss'] == runner.val_loss and record['val_acc'] == runner.val_acc
    assert len(record['train_loss']) == len(record['train_acc']) == 2
    assert len(record['epoch_times']) == 2 and record['val_acc'][-1] > 0.95
    assert record['error'] is None and record['diverged'] is False
    assert record['test_loss'] is None and record['test_acc'] is None
    assert runner.test_loader is None  # the test split was not read
    assert json.loads((tmp_path / 'first.json').read_text()) == record


def test_a_path_as_data_root_is_saved_as_a_string(cfg, tmp_path):
    record, _ = run({**cfg, 'data_root': Path(cfg['data_root'])}, 'path', results_dir=tmp_path)
    assert json.loads((tmp_path / 'path.json').read_text())['cfg']['data_root'] == cfg['data_root']


def test_run_tests_only_when_asked(cfg, tmp_path):
    record, runner = run(cfg, 'tested', test=True, results_dir=tmp_path)
    assert (record['test_loss'], record['test_acc']) == runner.test()
    assert json.loads((tmp_path / 'tested.json').read_text())['test_acc'] == record['test_acc']


@pytest.mark.filterwarnings('ignore:overflow:RuntimeWarning', 'ignore:invalid:RuntimeWarning')
def test_a_non_finite_loss_is_recorded_as_diverged_not_raised(cfg, tmp_path):
    record, _ = run({**cfg, 'learning_rate': 1e38}, 'huge', test=True, results_dir=tmp_path)
    assert record['diverged'] is True
    assert 'smaller learning rate' in record['error']
    assert record['test_acc'] is None  # a diverged run is not tested
    assert json.loads((tmp_path / 'huge.json').read_text())['diverged'] is True


def test_sweep_runs_every_combination_and_names_its_files(cfg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = sweep(cfg, 'grid', learning_rate=[0.1, 0.01], batch_size=[64, 200])
    assert list(runs) == ['learning_rate=0.1, batch_size=64', 'learning_rate=0.1, batch_size=200',
                          'learning_rate=0.01, batch_size=64', 'learning_rate=0.01, batch_size=200']
    assert [(r['cfg']['learning_rate'], r['cfg']['batch_size']) for r in runs.values()] == [
        (0.1, 64), (0.1, 200), (0.01, 64), (0.01, 200)]
    assert all(r['cfg']['max_epoch'] == 2 and r['test_acc'] is None for r in runs.values())
    names = sorted(path.name for path in (tmp_path / experiments.RESULTS).iterdir())
    assert names == sorted(['grid_learning_rate=0.1_batch_size=64.json',
                            'grid_learning_rate=0.1_batch_size=200.json',
                            'grid_learning_rate=0.01_batch_size=64.json',
                            'grid_learning_rate=0.01_batch_size=200.json'])


def test_sweep_can_test_every_run(cfg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = sweep(cfg, 'tested', test=True, momentum=[0, 0.9])
    assert all(0 <= r['test_acc'] <= 1 for r in runs.values())


@pytest.mark.filterwarnings('ignore:overflow:RuntimeWarning', 'ignore:invalid:RuntimeWarning')
def test_sweep_prints_a_line_as_each_run_ends(cfg, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    sweep(cfg, 'progress', learning_rate=[0.1, 1e38])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r'run 1/2 learning_rate=0\.1: val acc [01]\.\d{4}, \d+\.\d s', lines[0])
    assert re.fullmatch(r'run 2/2 learning_rate=1e\+38: stopped: the training loss became '
                        r'(nan|inf) .*smaller learning rate, \d+\.\d s', lines[1]), lines[1]


def test_record_run_keeps_a_solver_trained_by_hand(cfg, tmp_path):
    runner = Solver(cfg, log=None)
    runner.train()
    test_loss, test_acc = runner.test()
    record = record_run(runner, 'by_hand', test=(test_loss, test_acc), results_dir=tmp_path)
    assert record == json.loads((tmp_path / 'by_hand.json').read_text())
    assert record['train_loss'] == runner.train_loss and record['val_acc'] == runner.val_acc
    assert (record['test_loss'], record['test_acc']) == (test_loss, test_acc)
    assert record['diverged'] is False and record['error'] is None
    # The same record as run() makes of the same cfg (the same seed: the same run), timings aside.
    same, _ = run(cfg, 'by_run', test=True, results_dir=tmp_path)
    assert {**record, 'name': None, 'epoch_times': None} == \
        {**same, 'name': None, 'epoch_times': None}
