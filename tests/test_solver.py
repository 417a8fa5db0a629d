"""solver.py on a small synthetic data set: training, logging, evaluation, the command line."""
import re

import numpy as np
import pytest

import solver
from idx_helpers import LABELS_MAGIC, write_dataset, write_idx
from reference_check import TRAINING_HINT
from solver import Solver

# The training file needs more than the 5000 images the validation split takes.
N_TRAIN, N_TEST = 5600, 300


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    write_dataset(root, n_train=N_TRAIN, n_test=N_TEST, num_classes=3, shape=(4, 5))
    return root


def make_solver(root, lines=None, **cfg):
    cfg = {'data_root': str(root), 'max_epoch': 2, 'batch_size': 64, 'learning_rate': 0.1,
           'display_freq': 3, **cfg}
    return Solver(cfg, log=None if lines is None else lines.append)


def test_training_learns_and_records_history(synthetic_root):
    runner = make_solver(synthetic_root, max_epoch=3)
    loss, acc = runner.train()
    assert len(loss) == len(acc) == 3
    assert len(runner.epoch_times) == len(runner.val_loss) == len(runner.val_acc) == 3
    assert all(seconds > 0 for seconds in runner.epoch_times)
    assert loss[-1] < loss[0] and acc[-1] > 0.95 and runner.val_acc[-1] > 0.95, (
        f"Solver.train did not learn an easy data set: training loss {loss}, training accuracy "
        f"{acc}, validation accuracy {runner.val_acc}; {TRAINING_HINT}")
    test_loss, test_acc = runner.test()
    assert test_acc > 0.95 and np.isfinite(test_loss)


def test_log_lines_follow_the_assignment_format(synthetic_root):
    lines = []
    runner = make_solver(synthetic_root, lines, max_epoch=2, batch_size=100, display_freq=10)
    runner.train()
    num_batches = 6  # 600 training images in batches of 100
    batch_line = re.compile(r'Epoch \[(\d)\]\[2\]\t Batch \[(\d+)\]\[6\]\t '
                            r'Training Loss \d+\.\d{4}\t Accuracy [01]\.\d{4}$')
    train_line = re.compile(r'Epoch \[(\d)\]\t Average training loss \d+\.\d{4}\t '
                            r'Average training accuracy [01]\.\d{4}$')
    val_line = re.compile(r'Epoch \[(\d)\]\t Average validation loss \d+\.\d{4}\t '
                          r'Average validation accuracy [01]\.\d{4}$')
    expected = []
    for epoch in range(2):
        expected += [(batch_line, (str(epoch), str(batch)))
                     for batch in range(0, num_batches, 10)]
        expected += [(train_line, (str(epoch),)), (val_line, (str(epoch),))]
    assert len(lines) == len(expected), lines
    for line, (pattern, groups) in zip(lines, expected):
        match = pattern.match(line)
        assert match and match.groups() == groups, line


def test_logged_averages_are_the_returned_ones(synthetic_root):
    lines = []
    runner = make_solver(synthetic_root, lines, max_epoch=1)
    loss, acc = runner.train()
    assert f'Average training loss {loss[0]:.4f}\t Average training accuracy {acc[0]:.4f}' \
        in lines[-2]
    assert f'Average validation accuracy {runner.val_acc[0]:.4f}' in lines[-1]


def test_batch_lines_every_display_freq(synthetic_root):
    lines = []
    make_solver(synthetic_root, lines, max_epoch=1, batch_size=64, display_freq=3).train()
    batches = [int(re.search(r'Batch \[(\d+)\]', line).group(1)) for line in lines
               if 'Batch' in line]
    assert batches == [0, 3, 6, 9]  # 600 images in 10 batches of 64 (the last one 24)


def test_same_seed_same_run_other_seed_other_run(synthetic_root):
    runs = [make_solver(synthetic_root, seed=seed) for seed in (5, 5, 6)]
    curves = [runner.train() for runner in runs]
    assert curves[0] == curves[1]
    np.testing.assert_array_equal(runs[0].model.W, runs[1].model.W)
    assert curves[0] != curves[2]


def test_evaluation_weights_a_short_last_batch_right(synthetic_root):
    runner = make_solver(synthetic_root, batch_size=64)  # 5000 validation images: 78 x 64 + 8
    runner.train()
    val_set = runner.val_loader.dataset
    whole_loss, whole_acc = runner.model.forward(val_set.images, val_set.labels)
    loss, acc = runner.validate()
    assert loss == pytest.approx(float(whole_loss), rel=1e-5)
    assert acc == pytest.approx(float(whole_acc), abs=1e-12)


def test_only_test_reads_the_test_split(synthetic_root):
    runner = make_solver(synthetic_root, max_epoch=1)
    runner.train()
    assert runner.test_loader is None
    runner.test()
    assert runner.test_loader.dataset.mode == 'test' and len(runner.test_loader.dataset) == N_TEST


@pytest.mark.filterwarnings('ignore:overflow:RuntimeWarning', 'ignore:invalid:RuntimeWarning')
def test_diverging_loss_stops_with_a_clear_error(synthetic_root):
    runner = make_solver(synthetic_root, learning_rate=1e38)
    with pytest.raises(FloatingPointError, match=r'epoch \d+, batch \d+.*learning_rate=1e\+38.*'
                                                 r'smaller learning rate'):
        runner.train()


def test_command_line_runs_and_reports_test_accuracy(synthetic_root, capsys):
    solver.main(['--data_root', str(synthetic_root), '--max_epoch', '1', '--momentum', '0',
                 '--learning_rate', '0.1', '--display_freq', '1000'])
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r'Final test accuracy [01]\.\d{4}', lines[-1])
    assert float(lines[-1].split()[-1]) > 0.9


# --- class subsets and training limits (cfg keys classes, train_limit) ------------------------

def test_solver_trains_a_k_class_model_on_a_subset(synthetic_root):
    runner = make_solver(synthetic_root, classes=[2, 1], train_limit=200)
    assert runner.model.W.shape == (20, 2) and runner.model.b.shape == (1, 2)
    assert len(runner.train_loader.dataset) == 200 and len(runner.train_loader) == 4
    assert runner.val_loader.dataset.classes == [2, 1]
    assert len(runner.val_loader.dataset) < 5000  # the validation images of labels 2 and 1
    loss, acc = runner.train()
    assert acc[-1] > 0.95
    runner.test()
    assert runner.test_loader.dataset.classes == [2, 1]
    assert runner.test_loader.dataset.num_classes == 2


def test_command_line_flags_for_classes_and_limit(synthetic_root, capsys):
    solver.main(['--data_root', str(synthetic_root), '--max_epoch', '1', '--classes', '0,2',
                 '--train_limit', '300', '--learning_rate', '0.1', '--display_freq', '1'])
    lines = capsys.readouterr().out.splitlines()
    assert re.search(r'Batch \[0\]\[3\]', lines[0])  # 300 images in batches of 100
    assert float(lines[-1].split()[-1]) > 0.9


# --- the on_epoch callback, the histories, and divergence ------------------------------------

def test_on_epoch_gets_each_epoch_and_the_histories_after_its_validation(synthetic_root):
    calls = []

    def on_epoch(epoch, train_loss, train_acc, val_loss, val_acc):
        calls.append((epoch, train_loss, train_acc, val_loss, val_acc))
        train_loss.append('changed')  # a list of its own: the solver's histories stay as they are

    runner = Solver({'data_root': str(synthetic_root), 'max_epoch': 3, 'batch_size': 64,
                     'learning_rate': 0.1}, log=None, on_epoch=on_epoch)
    train_loss, train_acc = runner.train()
    assert (train_loss, train_acc) == (runner.train_loss, runner.train_acc)
    histories = (runner.train_loss, runner.train_acc, runner.val_loss, runner.val_acc)
    assert all(len(history) == 3 for history in histories)
    assert [call[0] for call in calls] == [0, 1, 2]
    for epoch, *passed in calls:
        passed[0] = passed[0][:-1]  # without the 'changed' the callback added
        assert passed == [history[:epoch + 1] for history in histories]


@pytest.fixture(scope='module')
def unlearnable_root(tmp_path_factory):
    """The synthetic data set with random training labels: nothing to learn, so that a large
    learning rate makes the validation loss grow (it stays finite: the softmax is stable)."""
    root = tmp_path_factory.mktemp('unlearnable')
    write_dataset(root, n_train=N_TRAIN, n_test=N_TEST, num_classes=3, shape=(4, 5))
    labels = np.random.default_rng(0).integers(0, 3, size=N_TRAIN).astype(np.uint8)
    write_idx(root / 'train-labels-idx1-ubyte.gz', labels, LABELS_MAGIC)
    return root


def test_a_diverged_run_says_so_after_the_log(unlearnable_root, capsys):
    solver.main(['--data_root', str(unlearnable_root), '--max_epoch', '1',
                 '--learning_rate', '1000', '--display_freq', '1000'])
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r'Final test accuracy [01]\.\d{4}', lines[-2])
    assert re.fullmatch(r'This run diverged: its final validation loss, \S+, is above log\(10\) = '
                        r'2\.303, the loss of a uniform guess\. Try a smaller learning rate than '
                        r'1000\.', lines[-1]), lines[-1]

