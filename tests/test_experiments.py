"""experiments.py on a small synthetic data set: records, JSON, divergence, sweeps, tables."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

import experiments
from experiments import best, diverged, epochs_to_reach, predict, run, summary, sweep, table
from idx_helpers import write_dataset

# The training file needs more than the 5000 images the validation split takes.
CFG = {'max_epoch': 2, 'batch_size': 64, 'learning_rate': 0.1, 'display_freq': 1000}


@pytest.fixture(scope='module')
def cfg(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    write_dataset(root, n_train=5600, n_test=300, num_classes=3, shape=(4, 5))
    return {**CFG, 'data_root': str(root)}


def make_record(val_loss, val_acc=None, error=None, **fields):
    """A record as run() makes it, from its validation curves."""
    val_acc = val_acc or [0.5] * len(val_loss)
    record = {'name': 'run', 'cfg': {'learning_rate': 0.1}, 'train_loss': list(val_loss),
              'train_acc': list(val_acc), 'val_loss': list(val_loss), 'val_acc': list(val_acc),
              'epoch_times': [0.5] * len(val_loss), 'error': error, 'test_loss': None,
              'test_acc': None, **fields}
    record.setdefault('diverged', diverged(record, 10))
    return record


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


@pytest.mark.parametrize('val_loss, error, expected', [
    ([2.0, 0.4], None, False),
    ([0.4, math.log(10)], None, False),       # exactly the uniform guess: not worse
    ([0.4, 2.31], None, True),                # worse than giving each class 1/10
    ([5.0, 9.0, 0.5], None, False),           # only the end counts
    ([0.4, float('nan')], None, True),
    ([0.4, float('inf')], None, True),
    ([], 'the training loss became nan', True),
    ([0.4], 'the training loss became inf', True),
])
def test_diverged_means_worse_than_the_uniform_guess(val_loss, error, expected):
    assert diverged(make_record(val_loss, error=error), num_classes=10) is expected


def test_diverged_uses_the_number_of_classes():
    record = make_record([1.0])
    assert diverged(record, num_classes=2) is True and diverged(record, num_classes=3) is False


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


def test_best_is_chosen_on_the_last_validation_accuracy_without_diverged_runs():
    runs = {'slow': make_record([1.0, 0.5], [0.80, 0.90]),
            'peaked': make_record([0.4, 0.4], [0.99, 0.85]),
            'fast': make_record([0.3, 0.3], [0.90, 0.95]),
            'tied': make_record([0.3, 0.3], [0.90, 0.95]),
            'wild': make_record([0.3, 7.0], [0.90, 0.97])}
    assert runs['wild']['diverged']
    assert best(runs) is runs['fast']


def test_best_of_only_diverged_runs_is_an_error():
    with pytest.raises(ValueError, match='every run diverged.*lr=10'):
        best({'lr=10': make_record([9.0])})


def test_epochs_to_reach_counts_from_one():
    record = make_record([1, 1, 1, 1], [0.80, 0.91, 0.89, 0.95])
    assert epochs_to_reach(record, 0.80) == 1
    assert epochs_to_reach(record, 0.90) == 2
    assert epochs_to_reach(record, 0.95) == 4
    assert epochs_to_reach(record, 0.96) is None


def test_summary_gives_the_last_values_and_the_median_epoch_time():
    record = make_record([0.9, 0.5, 0.4], [0.7, 0.8, 0.9], epoch_times=[3.0, 1.0, 1.5],
                         test_acc=0.85)
    assert summary(record, target_acc=0.8) == {
        'epochs': 3, 's/epoch': 1.5, 'epochs to target': 2, 'train loss': 0.4, 'train acc': 0.9,
        'val loss': 0.4, 'val acc': 0.9, 'test acc': 0.85, 'status': 'ok'}
    assert summary(record)['epochs to target'] is None


def test_table_is_markdown_with_one_row_per_run():
    runs = {'a': make_record([0.25], [0.9], test_acc=0.91234),
            'b': make_record([8.5], [0.5], cfg={'learning_rate': 10})}
    text = table(runs, ['run', 'learning_rate', 's/epoch', 'val loss', 'val acc', 'test acc',
                        'status'])
    assert text.splitlines() == [
        '| run | learning_rate | s/epoch | val loss | val acc | test acc | status |',
        '|---|---|---|---|---|---|---|',
        '| a | 0.1 | 0.500 | 0.25 | 0.9000 | 0.9123 | ok |',
        '| b | 10 | 0.500 | 8.5 | 0.5000 | - | diverged |']


def test_table_names_an_unknown_column():
    with pytest.raises(KeyError, match='val_accuracy'):
        table({'a': make_record([0.3])}, ['val_accuracy'])


def test_predict_takes_the_largest_logit():
    class Model:
        W = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        b = np.array([[0.0, 0.0, 0.5]])
    images = np.array([[2.0, 1.0], [0.0, 3.0], [0.1, 0.2], [-1.0, -1.0]])
    assert predict(Model, images).tolist() == [0, 1, 2, 2]
