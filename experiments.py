"""Runs for the report: train a configuration, judge it, save it as JSON, sum runs up in tables.

    record, runner = run({'momentum': 0}, 'no_momentum', test=True)  # results/no_momentum.json
    runs = sweep({'momentum': 0.9}, 'lr', learning_rate=[0.01, 0.1])  # {'learning_rate=0.01': ...}
    print(table(runs, ['learning_rate', 'val acc', 'status']))       # a Markdown table
    best(runs)['cfg']                                                 # chosen on validation only

A record is a plain dict: 'name', 'cfg', the per-epoch lists 'train_loss', 'train_acc', 'val_loss',
'val_acc' and 'epoch_times', 'diverged', 'error', and 'test_loss', 'test_acc' (None unless tested).
"""
import itertools
import json
import math
import statistics
from pathlib import Path

import numpy as np

from solver import Solver

RESULTS = 'results'


def run(cfg, name, test=False, log=None, results_dir=RESULTS):
    """Train Solver(cfg), test it if asked, save the record as results_dir/<name>.json.

    A loss that stops being finite ends the run early as diverged instead of raising.
    Returns (record, solver); the solver holds the trained model.
    """
    solver = Solver(cfg, log=log)
    record = {'name': name, 'cfg': solver.cfg, 'train_loss': [], 'train_acc': [], 'error': None,
              'test_loss': None, 'test_acc': None}
    try:
        record['train_loss'], record['train_acc'] = solver.train()
    except FloatingPointError as err:
        record['error'] = str(err)
    record.update(val_loss=solver.val_loss, val_acc=solver.val_acc, epoch_times=solver.epoch_times)
    record['diverged'] = diverged(record, solver.train_loader.dataset.num_classes)
    if test and record['error'] is None:
        record['test_loss'], record['test_acc'] = solver.test()
    save(record, Path(results_dir) / f'{name}.json')
    return record, solver


def diverged(record, num_classes):
    """Whether training made the model worse than knowing nothing.

    True if the loss stopped being finite, or if the last validation loss is above log(num_classes),
    the loss of giving every class the same probability. With a stable softmax a too-large learning
    rate rarely overflows: the weights grow with the step, the loss with them, while the accuracy
    (an argmax, blind to the scale of the weights) can stay high.
    """
    if record['error'] is not None or not record['val_loss']:
        return True
    return not record['val_loss'][-1] <= math.log(num_classes)  # a NaN loss counts as diverged


def sweep(cfg, name, test=False, **grid):
    """Run cfg with every combination of the values in grid, e.g. learning_rate=[0.01, 0.1].

    Each run is saved as results/<name>_<key>=<value>.json; test=True tests each one.
    Returns {'key=value': record}, in the order of the grid.
    """
    runs = {}
    for values in itertools.product(*grid.values()):
        change = dict(zip(grid, values))
        label = ', '.join(f'{key}={value}' for key, value in change.items())
        runs[label] = run({**cfg, **change}, f"{name}_{label.replace(', ', '_')}", test)[0]
    return runs


def best(runs):
    """The record, of runs ({label: record}), with the highest last validation accuracy; diverged
    runs are left out, and the first of equals wins."""
    candidates = [record for record in runs.values() if not record['diverged']]
    if not candidates:
        raise ValueError(f"every run diverged ({', '.join(runs)}); try smaller learning rates")
    return max(candidates, key=lambda record: record['val_acc'][-1])


def epochs_to_reach(record, accuracy):
    """First epoch (1-based) whose validation accuracy is >= accuracy, or None."""
    return next((epoch + 1 for epoch, acc in enumerate(record['val_acc']) if acc >= accuracy), None)


def summary(record, target_acc=None):
    """The headline numbers of a run, by column name; 'epochs to target' needs target_acc."""
    def last(key):
        return record[key][-1] if record[key] else None

    times = record['epoch_times']
    return {'epochs': len(record['val_acc']),
            's/epoch': statistics.median(times) if times else None,
            'epochs to target': None if target_acc is None else epochs_to_reach(record, target_acc),
            'train loss': last('train_loss'), 'train acc': last('train_acc'),
            'val loss': last('val_loss'), 'val acc': last('val_acc'),
            'test acc': record['test_acc'], 'status': 'diverged' if record['diverged'] else 'ok'}


def table(runs, columns, target_acc=None):
    """A Markdown table of runs ({label: record}), one row each.

    columns: names from summary(), cfg keys, or 'run' (the label). Accuracies get 4 decimals,
    seconds 3, other numbers 4 significant digits; missing values are '-'.
    """
    def cell(column, value):
        if value is None:
            return '-'
        if isinstance(value, float):
            decimals = '.4f' if 'acc' in column else '.3f' if column == 's/epoch' else '.4g'
            return format(value, decimals)
        return str(value)

    lines = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    for label, record in runs.items():
        fields = {'run': label, **record['cfg'], **summary(record, target_acc)}
        lines.append('| ' + ' | '.join(cell(column, fields[column]) for column in columns) + ' |')
    return '\n'.join(lines)


def predict(model, images):
    """Predicted class of each image: the largest logit. images (N, num_input) -> (N,) int."""
    return np.argmax(images @ model.W + model.b, axis=1)


def save(record, path):
    """Write record as JSON to path (folders made as needed); a Path in the cfg becomes a string."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, default=str))
