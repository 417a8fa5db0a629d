"""kit/experiments.py without training: divergence, the best run, summaries, tables, predictions."""
import math

import numpy as np
import pytest

from kit.experiments import best, diverged, epochs_to_reach, predict, summary, table
from solver import worse_than_uniform


def make_record(val_loss, val_acc=None, error=None, **fields):
    """A record as run() makes it, from its validation curves."""
    val_acc = val_acc or [0.5] * len(val_loss)
    record = {'name': 'run', 'cfg': {'learning_rate': 0.1}, 'train_loss': list(val_loss),
              'train_acc': list(val_acc), 'val_loss': list(val_loss), 'val_acc': list(val_acc),
              'epoch_times': [0.5] * len(val_loss), 'error': error, 'test_loss': None,
              'test_acc': None, **fields}
    record.setdefault('diverged', diverged(record, 10))
    return record


def test_solver_judges_the_last_validation_loss_against_that_of_a_uniform_guess():
    assert worse_than_uniform([5.0, 0.1], num_classes=10) is False
    assert worse_than_uniform([0.1, np.log(10)], num_classes=10) is False
    assert worse_than_uniform([0.1, 2.31], num_classes=10) is True
    assert worse_than_uniform([0.1, 0.8], num_classes=2) is True
    assert worse_than_uniform([0.1, float('nan')], num_classes=10) is True
    assert worse_than_uniform([], num_classes=10) is True


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
