"""Train softmax regression on MNIST with SGD, validate every epoch, test once at the end.

    python solver.py                                   # the default run below
    python solver.py --momentum 0 --learning_rate 0.1  # any cfg key is a flag
"""
import argparse
import math
import numbers
import os
import sys
import time
from pathlib import Path

# One BLAS thread unless you set a count (OMP_NUM_THREADS=2, say): the products here are small
# (100x784 by 784x10), so a second thread gains about 5% on an idle machine, and costs 5 to 50
# times as much when another job holds a core (README, "Speed"). numpy reads it when first
# imported, so import solver before numpy.
BLAS_THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')
if not any(variable in os.environ for variable in BLAS_THREAD_VARIABLES):
    os.environ['OMP_NUM_THREADS'] = '1'

import numpy as np  # noqa: E402

from dataloader import DATA_ROOT, build_dataloader  # noqa: E402
from loss import SoftmaxCrossEntropyLoss  # noqa: E402
from optimizer import SGD  # noqa: E402

# The assignment's run with momentum; every key of a cfg, with its default.
DEFAULT_CFG = {
    'data_root': str(DATA_ROOT),
    'max_epoch': 10,
    'batch_size': 100,
    'learning_rate': 0.01,
    'momentum': 0.9,
    'display_freq': 50,
    'seed': 0,
    'classes': None,
    'train_limit': None,
    'lr_schedule': 'constant',
}
CFG_HELP = {
    'data_root': 'folder holding the four MNIST IDX files, raw or .gz',
    'max_epoch': 'number of passes over the training split',
    'batch_size': 'samples per SGD step (and per evaluation batch)',
    'learning_rate': 'SGD step size, > 0',
    'momentum': 'SGD momentum in [0, 1); 0 is plain SGD',
    'display_freq': 'log the training loss every this many batches',
    'seed': 'seed of the initial weights and of the shuffling; the same seed gives the same run',
    'classes': 'labels to train and test on, e.g. 0,1 (renumbered 0..k-1); None keeps all',
    'train_limit': 'train on the first this many training images (of those classes); None: all',
    'lr_schedule': "'constant', or 'cosine': each epoch's learning rate falls from learning_rate "
                   "towards 0 along half a cosine",
}
LR_SCHEDULES = ('constant', 'cosine')


def int_list(text):
    """'0,1' -> [0, 1], for the --classes flag."""
    return [int(part) for part in text.split(',')]


# Flag types of the keys whose default, None, does not give one.
FLAG_TYPES = {'classes': int_list, 'train_limit': int}

# The assignment's log lines, tab-separated.
BATCH_LOG = ('Epoch [{epoch}][{max_epoch}]\t Batch [{batch}][{num_batches}]\t '
             'Training Loss {loss:.4f}\t Accuracy {acc:.4f}')
TRAIN_LOG = 'Epoch [{epoch}]\t Average training loss {loss:.4f}\t Average training accuracy {acc:.4f}'
VAL_LOG = ('Epoch [{epoch}]\t Average validation loss {loss:.4f}\t '
           'Average validation accuracy {acc:.4f}')
TEST_LOG = 'Final test accuracy {acc:.4f}'


def check_cfg(cfg):
    """The cfg with defaults filled in; ValueError naming the first unknown key or bad value."""
    unknown = sorted(set(cfg) - set(DEFAULT_CFG))
    if unknown:
        raise ValueError(f"unknown cfg key {unknown[0]!r}; the keys are {', '.join(DEFAULT_CFG)}")
    cfg = {**DEFAULT_CFG, **cfg}

    def is_int(value):
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    for key in ('max_epoch', 'batch_size', 'display_freq'):
        if not (is_int(cfg[key]) and cfg[key] >= 1):
            raise ValueError(f"cfg {key}={cfg[key]!r}: must be an integer >= 1")
    lr = cfg['learning_rate']
    if not (isinstance(lr, numbers.Real) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"cfg learning_rate={lr!r}: must be a number > 0")
    momentum = cfg['momentum']
    if not (isinstance(momentum, numbers.Real) and 0 <= momentum < 1):
        raise ValueError(f"cfg momentum={momentum!r}: must be a number in [0, 1)")
    if not (cfg['seed'] is None or (is_int(cfg['seed']) and cfg['seed'] >= 0)):
        raise ValueError(f"cfg seed={cfg['seed']!r}: must be an integer >= 0 (or None)")
    classes = cfg['classes']
    if not (classes is None or (isinstance(classes, (list, tuple)) and len(classes) >= 2
                                and all(is_int(label) and label >= 0 for label in classes)
                                and len(set(classes)) == len(classes))):
        raise ValueError(f"cfg classes={classes!r}: must be None or a list of at least 2 distinct "
                         f"labels >= 0, e.g. [0, 1]")
    limit = cfg['train_limit']
    if not (limit is None or (is_int(limit) and limit >= 1)):
        raise ValueError(f"cfg train_limit={limit!r}: must be None or an integer >= 1")
    if cfg['lr_schedule'] not in LR_SCHEDULES:
        raise ValueError(f"cfg lr_schedule={cfg['lr_schedule']!r}: must be one of "
                         f"{', '.join(map(repr, LR_SCHEDULES))}")
    if not Path(cfg['data_root']).is_dir():
        raise ValueError(f"cfg data_root={cfg['data_root']!r} is not a folder; point it at the "
                         f"folder holding the MNIST files (the kit's data/)")
    return cfg


class Solver:

    def __init__(self, cfg, log=print):
        """
        Args:
            cfg: dict of settings; missing keys take DEFAULT_CFG's values
            log: called with each log line (print by default; None to stay quiet)
        """
        self.cfg = check_cfg(cfg)
        self.log = log or (lambda line: None)
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
        self.model = SoftmaxCrossEntropyLoss(train_set.images.shape[1], train_set.num_classes,
                                             rng=init_seed)
        self.optimizer = SGD(self.model, cfg['learning_rate'], cfg['momentum'])
        self.epoch_times = []  # seconds of training in each epoch
        self.val_loss, self.val_acc = [], []

    def train(self):
        """Train for max_epoch epochs; returns the lists (loss, acc) of each epoch's averages."""
        cfg = self.cfg
        num_batches = len(self.train_loader)
        num_samples = len(self.train_loader.dataset)
        train_loss, train_acc = [], []
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

            train_loss.append(loss_sum / num_samples)
            train_acc.append(acc_sum / num_samples)
            self.log(TRAIN_LOG.format(epoch=epoch, loss=train_loss[-1], acc=train_acc[-1]))
            val_loss, val_acc = self.validate()
            self.val_loss.append(val_loss)
            self.val_acc.append(val_acc)
            self.log(VAL_LOG.format(epoch=epoch, loss=val_loss, acc=val_acc))
        return train_loss, train_acc

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
    for key, default in DEFAULT_CFG.items():
        parser.add_argument('--' + key, type=FLAG_TYPES.get(key, type(default)), default=default,
                            help=f"{CFG_HELP[key]} (default: {default})")
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


if __name__ == '__main__':
    main()
