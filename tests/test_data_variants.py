"""Class subsets, training limits and recognised data sets: Dataset, build_dataloader, Solver."""
from pathlib import Path

import numpy as np
import pytest

import dataloader
import solver
from dataloader import Dataset, build_dataloader
from idx_helpers import LABELS_MAGIC, file_checksums, prepared, write_dataset, write_idx
from kit import idx
from solver import Solver, check_cfg

DATA = Path(dataloader.__file__).resolve().parent / 'data'
FASHION_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                 'Sneaker', 'Bag', 'Ankle boot']


# --- class subsets ---------------------------------------------------------------------------

@pytest.mark.parametrize('mode, rows', [('train', slice(None, 30)), ('val', slice(30, None))])
def test_classes_keep_those_labels_renumbered_in_file_order(small_data, mode, rows):
    folder, arrays = small_data  # 40 training images of 3 classes; the last 10 validate
    images, labels = (array[rows] for array in arrays['train'])
    subset = Dataset(folder, mode, val_size=10, classes=[2, 0])
    keep = (labels == 2) | (labels == 0)
    np.testing.assert_array_equal(subset.labels, np.where(labels[keep] == 2, 0, 1))
    np.testing.assert_allclose(subset.images, prepared(images[keep]), atol=1e-6)
    assert subset.num_classes == 2 and subset.classes == [2, 0]
    assert subset.class_names == ['2', '0']


def test_the_test_split_takes_the_same_classes(small_data):
    folder, arrays = small_data
    images, labels = arrays['t10k']
    subset = Dataset(folder, 'test', classes=[1, 2])
    np.testing.assert_array_equal(subset.labels, labels[labels > 0] - 1)
    assert len(subset) == np.count_nonzero(labels > 0)


@pytest.mark.parametrize('classes, message', [
    ([], r'classes=\[\]'), ([0, 0], r'classes=\[0, 0\]'), ([0, 3], r'classes=\[0, 3\].*0\.\.2'),
    ([-1, 0], r'classes=\[-1, 0\]'), (['0', '1'], r"classes=\['0', '1'\]"),
    ([True, 0], r'classes=\[True, 0\]'), (1, r'classes=1'), ([0.0, 1.0], r'classes=\[0\.0'),
])
def test_bad_classes_are_named(small_data, classes, message):
    folder, _ = small_data
    with pytest.raises(ValueError, match=message):
        Dataset(folder, 'train', num_classes=3, val_size=10, classes=classes)


def test_a_class_with_no_training_image_is_an_error(tmp_path):
    write_dataset(tmp_path, n_train=40, num_classes=3)
    labels = np.zeros(40, dtype=np.uint8)  # only label 0, but num_classes=5 allows 0..4
    labels[-5:] = 1  # label 1 only among the validation images
    write_idx(tmp_path / 'train-labels-idx1-ubyte.gz', labels, LABELS_MAGIC)
    with pytest.raises(ValueError, match=r'classes=\[0, 1\]: no training image has label 1'):
        Dataset(tmp_path, 'train', num_classes=5, val_size=5, classes=[0, 1])
    with pytest.raises(ValueError, match=r'classes=\[3, 4\]: the val split holds no image'):
        Dataset(tmp_path, 'val', num_classes=5, val_size=5, classes=[3, 4])


# --- training limit --------------------------------------------------------------------------

def test_limit_keeps_the_first_images_of_the_split(small_data):
    folder, arrays = small_data
    images, labels = arrays['train']
    for limit in (1, 7, 30):
        part = Dataset(folder, 'train', val_size=10, limit=limit)
        np.testing.assert_array_equal(part.labels, labels[:limit])
        np.testing.assert_allclose(part.images, prepared(images[:limit]), atol=1e-6)


def test_limit_counts_after_the_class_subset_and_nests(small_data):
    folder, arrays = small_data
    labels = arrays['train'][1][:30]
    small = Dataset(folder, 'train', val_size=10, classes=[1, 2], limit=5)
    large = Dataset(folder, 'train', val_size=10, classes=[1, 2], limit=10)
    np.testing.assert_array_equal(small.labels, labels[labels > 0][:5] - 1)
    np.testing.assert_array_equal(large.images[:5], small.images)  # a learning curve's subsets


@pytest.mark.parametrize('limit, message', [
    (0, r'limit=0: must be None or a positive integer'), (2.5, r'limit=2\.5'),
    (31, r'limit=31: the train split holds only 30 images; ask for at most that many'),
])
def test_bad_limits_are_named(small_data, limit, message):
    folder, _ = small_data
    with pytest.raises(ValueError, match=message):
        Dataset(folder, 'train', val_size=10, limit=limit)


def test_build_dataloader_passes_classes_and_limit_on(small_data):
    folder, _ = small_data
    loader = build_dataloader(folder, max_epoch=1, batch_size=2, mode='test', classes=[0, 1],
                              limit=5)
    assert len(loader.dataset) == 5 and len(loader) == 3
    assert set(loader.dataset.labels) <= {0, 1} and loader.dataset.num_classes == 2


# --- recognised data sets --------------------------------------------------------------------

@pytest.fixture
def known(tmp_path, monkeypatch):
    """Two small data sets, made 'MNIST' and 'Fashion-MNIST' by their checksums."""
    folders = {'MNIST': tmp_path / 'mnist', 'Fashion-MNIST': tmp_path / 'fashion'}
    for seed, folder in enumerate(folders.values()):
        write_dataset(folder, n_train=40, n_test=12, seed=10 * seed)
    monkeypatch.setattr(idx, 'KNOWN_DATA_SETS', {
        'MNIST': {'sha256': file_checksums(folders['MNIST']),
                  'class_names': idx.KNOWN_DATA_SETS['MNIST']['class_names']},
        'Fashion-MNIST': {'sha256': file_checksums(folders['Fashion-MNIST']),
                          'class_names': FASHION_NAMES},
    })
    return folders


def test_class_names_of_the_known_data_sets():
    known = idx.KNOWN_DATA_SETS
    assert known['MNIST']['class_names'] == [str(digit) for digit in range(10)]
    assert known['Fashion-MNIST']['class_names'] == FASHION_NAMES
    assert known['MNIST']['sha256'] is idx.MNIST_SHA256  # one place for the checksums
    assert set(known['Fashion-MNIST']['sha256']) == set(idx.MNIST_SHA256)


@pytest.mark.parametrize('mode', ['train', 'val', 'test'])
def test_a_recognised_data_set_names_its_classes(known, mode):
    fashion = Dataset(known['Fashion-MNIST'], mode, val_size=10)
    assert fashion.known_data_set == 'Fashion-MNIST' and fashion.class_names == FASHION_NAMES
    subset = Dataset(known['Fashion-MNIST'], mode, val_size=10, classes=[2, 0])
    assert subset.class_names == ['Pullover', 'T-shirt/top']
    mnist = Dataset(known['MNIST'], mode, val_size=10)
    assert mnist.known_data_set == 'MNIST' and mnist.class_names == [str(d) for d in range(10)]


def test_unrecognised_data_gets_numbers_for_names(known, tmp_path):
    write_dataset(tmp_path / 'own', n_train=60, num_classes=13)
    own = Dataset(tmp_path / 'own', 'train', num_classes=13, val_size=10, classes=[12, 3])
    assert own.known_data_set is None and own.class_names == ['12', '3']
    # A known data set read with another number of classes: its names do not fit.
    assert Dataset(known['Fashion-MNIST'], 'test', num_classes=12).class_names[-1] == '11'


def test_test_labels_under_the_training_name_are_an_error(known):
    folder = known['MNIST']
    (folder / 'train-labels-idx1-ubyte.gz').write_bytes(
        (folder / 't10k-labels-idx1-ubyte.gz').read_bytes())
    (folder / 'train-images-idx3-ubyte.gz').write_bytes(
        (folder / 't10k-images-idx3-ubyte.gz').read_bytes())
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz holds MNIST's "
                                         r"t10k-labels-idx1-ubyte, not its train-labels"):
        Dataset(folder, 'train', val_size=4)


def test_the_real_mnist_is_recognised():
    test = Dataset(DATA, 'test')
    assert test.known_data_set == 'MNIST' and test.class_names == [str(d) for d in range(10)]


# --- the Solver ------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    write_dataset(root, n_train=5600, n_test=300, num_classes=3, shape=(4, 5))
    return root


def make_solver(root, **cfg):
    cfg = {'data_root': str(root), 'max_epoch': 2, 'batch_size': 64, 'learning_rate': 0.1, **cfg}
    return Solver(cfg, log=None)


def test_the_defaults_keep_every_class_and_image():
    cfg = check_cfg({})
    assert cfg['classes'] is None and cfg['train_limit'] is None


@pytest.mark.parametrize('key, value', [
    ('classes', [0]), ('classes', []), ('classes', [1, 1]), ('classes', [0, -1]),
    ('classes', '0,1'), ('classes', [0, 1.0]), ('classes', [True, 2]),
    ('train_limit', 0), ('train_limit', 10.0), ('train_limit', True), ('train_limit', '100'),
])
def test_bad_subset_keys_are_named(key, value):
    with pytest.raises(ValueError, match=f'cfg {key}='):
        check_cfg({key: value})


def test_a_class_the_data_lacks_is_named_by_the_solver(synthetic_root):
    with pytest.raises(ValueError, match=r'classes=\[0, 10\]: must be .* labels in 0\.\.9'):
        make_solver(synthetic_root, classes=[0, 10])
    with pytest.raises(ValueError, match=r'classes=\[0, 7\]: no training image has label 7'):
        make_solver(synthetic_root, classes=[0, 7])


def test_command_line_rejects_a_bad_class_list(synthetic_root, capsys):
    with pytest.raises(SystemExit) as exit_:
        solver.main(['--data_root', str(synthetic_root), '--classes', '0,a'])
    assert exit_.value.code == 2 and "invalid int_list value: '0,a'" in capsys.readouterr().err
