"""Train softmax regression on MNIST with SGD, validate every epoch, test once at the end.

    python solver.py                                   # the default run below
    python solver.py --momentum 0 --learning_rate 0.1  # any cfg key is a flag
"""
import kit.threads  # noqa: F401  first: one BLAS thread unless you set a count (kit/threads.py)

import argparse
import math
import numbers
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from dataloader import build_dataloader
from kit.idx import DATA_ROOT
from loss import SoftmaxCrossEntropyLoss
from optimizer import SGD

LR_SCHEDULES = ('constant', 'cosine')


class Setting(NamedTuple):
    """One cfg key: its default, its --help text, how its flag is read, and what a value must be."""
    default: object
    help: str
    parse: Callable  # the flag's text -> a value, e.g. int
    check: Callable  # a value -> whether it is allowed
    rule: str  # what check allows, for the error message: 'an integer >= 1'


def is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_count(value):
    return is_int(value) and value >= 1


def is_distinct_labels(value):
    return (isinstance(value, (list, tuple)) and len(value) >= 2 and len(set(value)) == len(value)
            and all(is_int(label) and label >= 0 for label in value))


def int_list(text):
    """'0,1' -> [0, 1], for the --classes flag."""
    return [int(part) for part in text.split(',')]


# Every key of a cfg; the defaults are the assignment's run with momentum.
SETTINGS = {
    'data_root': Setting(
        str(DATA_ROOT), 'folder holding the four MNIST IDX files, raw or .gz', str,
        lambda value: Path(value).is_dir(),
        "a folder holding the four MNIST files (the kit's data/)"),
    'max_epoch': Setting(10, 'number of passes over the training split', int, is_count,
                         'an integer >= 1'),
    'batch_size': Setting(100, 'samples per SGD step (and per evaluation batch)', int, is_count,
                          'an integer >= 1'),
    'learning_rate': Setting(
        0.01, 'SGD step size, > 0', float,
        lambda value: isinstance(value, numbers.Real) and math.isfinite(value) and value > 0,
        'a number > 0'),
    'momentum': Setting(0.9, 'SGD momentum in [0, 1); 0 is plain SGD', float,
                        lambda value: isinstance(value, numbers.Real) and 0 <= value < 1,
                        'a number in [0, 1)'),
    'display_freq': Setting(50, 'log the training loss every this many batches', int, is_count,
                            'an integer >= 1'),
    'seed': Setting(
        0, 'seed of the initial weights and of the shuffling; the same seed gives the same run',
        int, lambda value: value is None or (is_int(value) and value >= 0),
        'an integer >= 0 (or None)'),
    'classes': Setting(
        None, 'labels to train and test on, e.g. 0,1 (renumbered 0..k-1); None keeps all',
        int_list, lambda value: value is None or is_distinct_labels(value),
        'None or a list of at least 2 distinct labels >= 0, e.g. [0, 1]'),
    'train_limit': Setting(
        None, 'train on the first this many training images (of those classes); None: all', int,
        lambda value: value is None or is_count(value), 'None or an integer >= 1'),
    'lr_schedule': Setting(
        'constant', "'constant', or 'cosine': each epoch's learning rate falls from "
                    "learning_rate towards 0 along half a cosine", str,
        lambda value: value in LR_SCHEDULES, f"one of {', '.join(map(repr, LR_SCHEDULES))}"),
}
DEFAULT_CFG = {key: setting.default for key, setting in SETTINGS.items()}

# The assignment's log lines, tab-separated.
BATCH_LOG = ('Epoch [{epoch}][{max_epoch}]\t Batch [{batch}][{num_batches}]\t '
             'Training Loss {loss:.4f}\t Accuracy {acc:.4f}')
TRAIN_LOG = ('Epoch [{epoch}]\t Average training loss {loss:.4f}\t Average training accuracy '
             '{acc:.4f}')
VAL_LOG = ('Epoch [{epoch}]\t Average validation loss {loss:.4f}\t '
           'Average validation accuracy {acc:.4f}')
TEST_LOG = 'Final test accuracy {acc:.4f}'


def check_cfg(cfg):
    """The cfg with defaults filled in; ValueError naming the first unknown key or bad value."""
    unknown = sorted(set(cfg) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown cfg key {unknown[0]!r}; the keys are {', '.join(SETTINGS)}")
    cfg = {**DEFAULT_CFG, **cfg}
    for key, setting in SETTINGS.items():
        if not setting.check(cfg[key]):
            raise ValueError(f"cfg {key}={cfg[key]!r}: must be {setting.rule}")
    return cfg


def worse_than_uniform(val_loss, num_classes):
    """Whether training made the model worse than knowing nothing, the sign that it diverged:
    True if the last validation loss is above log(num_classes), the loss of giving every class
    the same probability, or is not finite, or if there is none yet.

    With a stable softmax a too-large learning rate rarely overflows: the weights grow with the
    step, the loss with them, while the accuracy (an argmax, blind to the scale of the weights)
    can stay high.
    """
    return not (val_loss and val_loss[-1] <= math.log(num_classes))  # NaN counts as diverged


class Solver:
    """Softmax regression trained by SGD on the data of a cfg.

        solver = Solver(cfg)                         # cfg: a dict, e.g. {'momentum': 0}
        train_loss, train_acc = solver.train()       # each epoch's averages
        test_loss, test_acc = solver.test()

    After train(), the per-epoch histories are solver.train_loss, solver.train_acc,
    solver.val_loss and solver.val_acc (lists of floats, one entry per epoch), and
    solver.epoch_times (seconds of training in each epoch).

    on_epoch, if given, is called after each epoch's validation, as
        on_epoch(epoch, train_loss, train_acc, val_loss, val_acc)
    with epoch the 0-based number of the epoch just finished (as in the log lines) and the four
    histories so far, each a new list of epoch + 1 floats; e.g. visualize.LiveCurves().update,
    which redraws the loss and accuracy curves in a notebook.
    """

    def __init__(self, cfg, log=print, on_epoch=None):
        """
        Args:
            cfg: dict of settings; missing keys take DEFAULT_CFG's values
            log: called with each log line (print by default; None to stay quiet)
            on_epoch: called after each epoch's validation, see the class docstring
        """
        self.cfg = check_cfg(cfg)
        self.log = log or (lambda line: None)
        self.on_epoch = on_epoch
        cfg = self.cfg
        # Separate streams for the initial weights and the shuffling, both fixed by the seed.
        init_seed, shuffle_seed = np.random.SeedSequence(cfg['seed']).spawn(2)
        self.train_loader = build_dataloader(cfg['data_root'], cfg['max_epoch'], cfg['batch_size'],
                                             shuffle=True, mode='train', seed=shuffle_seed,
                                             classes=cfg['classes'], limit=cfg['train_limit'])
        self.val_loader = build_dataloader(cfg['data_root'], 1, cfg['batch_size'], mode='val',
                                           classes=cfg['classes'])
        self.test_loader = None  # built by test(), so that training never reads the test split

        train_set = self.train_loader.dataset
        self.num_classes = train_set.num_classes
        self.model = SoftmaxCrossEntropyLoss(train_set.images.shape[1], self.num_classes,
                                             rng=init_seed)
        self.optimizer = SGD(self.model, cfg['learning_rate'], cfg['momentum'])
        self.epoch_times = []  # seconds of training in each epoch
        self.train_loss, self.train_acc = [], []
        self.val_loss, self.val_acc = [], []

    def train(self):
        """Train for max_epoch epochs; returns the lists (loss, acc) of each epoch's averages."""
        cfg = self.cfg
        num_batches = len(self.train_loader)
        num_samples = len(self.train_loader.dataset)
        for epoch in range(cfg['max_epoch']):
            self.optimizer.learning_rate = self.epoch_learning_rate(epoch)
            start = time.perf_counter()
            loss_sum = acc_sum = 0.0
            for batch, (images, labels) in enumerate(self.train_loader):
                loss, acc = self.model.forward(images, labels)
                if not np.isfinite(loss):
                    raise FloatingPointError(
                        f"the training loss became {loss} at epoch {epoch}, batch {batch} with "
                        f"learning_rate={cfg['learning_rate']}; try a smaller learning rate")
                self.model.gradient_computing()
                self.optimizer.step()
                loss_sum += float(loss) * len(labels)
                acc_sum += float(acc) * len(labels)
                if batch % cfg['display_freq'] == 0:
                    self.log(BATCH_LOG.format(epoch=epoch, max_epoch=cfg['max_epoch'], batch=batch,
                                              num_batches=num_batches, loss=loss, acc=acc))
            self.epoch_times.append(time.perf_counter() - start)

            self.train_loss.append(loss_sum / num_samples)
            self.train_acc.append(acc_sum / num_samples)
            self.log(TRAIN_LOG.format(epoch=epoch, loss=self.train_loss[-1],
                                      acc=self.train_acc[-1]))
            val_loss, val_acc = self.validate()
            self.val_loss.append(val_loss)
            self.val_acc.append(val_acc)
            self.log(VAL_LOG.format(epoch=epoch, loss=val_loss, acc=val_acc))
            if self.on_epoch is not None:
                self.on_epoch(epoch, list(self.train_loss), list(self.train_acc),
                              list(self.val_loss), list(self.val_acc))
        return self.train_loss, self.train_acc

    def diverged(self):
        """Whether the run so far ended worse than knowing nothing (worse_than_uniform)."""
        return worse_than_uniform(self.val_loss, self.num_classes)

    def epoch_learning_rate(self, epoch):
        """The learning rate of epoch (0-based): learning_rate itself, or its cosine schedule."""
        learning_rate = self.cfg['learning_rate']
        if self.cfg['lr_schedule'] == 'cosine':
            learning_rate *= 0.5 * (1 + math.cos(math.pi * epoch / self.cfg['max_epoch']))
        return learning_rate

    def validate(self):
        """(loss, acc) over the whole validation split."""
        return self.evaluate(self.val_loader)

    def test(self):
        """(loss, acc) over the whole test split; the only place the test files are read."""
        if self.test_loader is None:
            self.test_loader = build_dataloader(self.cfg['data_root'], 1, self.cfg['batch_size'],
                                                mode='test', classes=self.cfg['classes'])
        return self.evaluate(self.test_loader)

    def evaluate(self, loader):
        """Mean loss and accuracy over every sample of loader (a short last batch counts right)."""
        loss_sum = acc_sum = 0.0
        for images, labels in loader:
            loss, acc = self.model.forward(images, labels)
            loss_sum += float(loss) * len(labels)
            acc_sum += float(acc) * len(labels)
        return loss_sum / len(loader.dataset), acc_sum / len(loader.dataset)


def parse_cfg(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for key, setting in SETTINGS.items():
        parser.add_argument('--' + key, type=setting.parse, default=setting.default,
                            help=f"{setting.help} (default: {setting.default})")
    return parser, vars(parser.parse_args(argv))


def main(argv=None):
    parser, cfg = parse_cfg(argv)
    try:
        solver = Solver(cfg)
    except (ValueError, FileNotFoundError, PermissionError) as err:
        parser.error(str(err))
    try:
        solver.train()
    except FloatingPointError as err:
        sys.exit(f"solver.py: {err}")
    try:
        test_loss, test_acc = solver.test()
    except (ValueError, FileNotFoundError, PermissionError) as err:  # the test files, read here
        sys.exit(f"solver.py: {err}")
    print(TEST_LOG.format(acc=test_acc))
    if solver.diverged():
        print(f"This run diverged: its final validation loss, {solver.val_loss[-1]:.4g}, is above "
              f"log({solver.num_classes}) = {math.log(solver.num_classes):.3f}, the loss of a "
              f"uniform guess. Try a smaller learning rate than {solver.cfg['learning_rate']:g}.")

if __name__ == '__main__':
    main()
