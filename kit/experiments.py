"""Runs for the report: train a configuration, judge it, save it as JSON, sum runs up in tables.

    from kit.experiments import best, record_run, run, sweep, table
    record, solver = run({'momentum': 0}, 'no_momentum', test=True)  # results/no_momentum.json
    runs = sweep({'momentum': 0.9}, 'lr', learning_rate=[0.01, 0.1])  # {'learning_rate=0.01': ...}
    print(table(runs, ['learning_rate', 'val acc', 'status']))       # a Markdown table
    best(runs)['cfg']                                                 # chosen on validation only
    record_run(solver, 'mine')              # a solver you trained yourself: results/mine.json

A record is a plain dict: 'name', 'cfg', the per-epoch lists 'train_loss', 'train_acc', 'val_loss',
'val_acc' and 'epoch_times', 'diverged', 'error', and 'test_loss', 'test_acc' (None unless tested).
"""
import itertools
import json
import statistics
import time
from pathlib import Path

import numpy as np

from solver import Solver, worse_than_uniform

RESULTS = 'results'


def run(cfg, name, test=False, log=None, results_dir=RESULTS):
    """Train Solver(cfg), test it if asked, save the record as results_dir/<name>.json.

    A loss that stops being finite ends the run early as diverged instead of raising.
    Returns (record, solver); the solver holds the trained model.
    """
    solver = Solver(cfg, log=log)
    error = None
    try:
        solver.train()
    except FloatingPointError as err:
        error = str(err)
    tested = solver.test() if test and error is None else None
    return record_run(solver, name, tested, error, results_dir), solver


def record_run(solver, name, test=None, error=None, results_dir=RESULTS):
    """The record of a trained solver, also saved as results_dir/<name>.json.

    test: (loss, acc) as solver.test() returns them, or None if the run was not tested;
    error: why training stopped early, or None.
    """
    record = {'name': name, 'cfg': solver.cfg, 'train_loss': list(solver.train_loss),
              'train_acc': list(solver.train_acc), 'val_loss': list(solver.val_loss),
              'val_acc': list(solver.val_acc), 'epoch_times': list(solver.epoch_times),
              'error': error,
              'test_loss': None if test is None else test[0],
              'test_acc': None if test is None else test[1]}
    record['diverged'] = diverged(record, solver.num_classes)
    save(record, Path(results_dir) / f'{name}.json')
    return record


def diverged(record, num_classes):
    """Whether the run stopped early (its loss stopped being finite) or ended worse than knowing
    nothing: its last validation loss is above log(num_classes) (solver.worse_than_uniform)."""
    return record['error'] is not None or worse_than_uniform(record['val_loss'], num_classes)


def sweep(cfg, name, test=False, **grid):
    """Run cfg with every combination of the values in grid, e.g. learning_rate=[0.01, 0.1].

    Each run is saved as results/<name>_<key>=<value>.json; test=True tests each one. Prints a
    line as each run ends: 'run 3/9 learning_rate=0.03: val acc 0.9241, 1.3 s'.
    Returns {'key=value': record}, in the order of the grid.
    """
    runs = {}
    combinations = list(itertools.product(*grid.values()))
    for number, values in enumerate(combinations, 1):
        change = dict(zip(grid, values))
        label = ', '.join(f'{key}={value}' for key, value in change.items())
        start = time.perf_counter()
        runs[label] = run({**cfg, **change}, f"{name}_{label.replace(', ', '_')}", test)[0]
        print(f"run {number}/{len(combinations)} {label}: {outcome(runs[label])}, "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    return runs


def outcome(record):
    """'val acc 0.9241', with ' (diverged)' if it did; 'stopped: <why>' if training did."""
    if record['error'] is not None:
        return f"stopped: {record['error']}"
    return f"val acc {record['val_acc'][-1]:.4f}" + (' (diverged)' if record['diverged'] else '')


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
