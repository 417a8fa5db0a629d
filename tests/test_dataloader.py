"""dataloader.py on small IDX files written here: reading, splits, errors, sampling, batches."""
import gzip

import numpy as np
import pytest

import solver
from dataloader import Dataloader, Dataset, IterationBatchSampler, build_dataloader
from idx_helpers import IMAGES_MAGIC, LABELS_MAGIC, idx_bytes, prepared, write_dataset, write_idx
from kit import idx
from kit.idx import find_idx_file, read_idx
from solver import Solver

# --- reading files ---------------------------------------------------------------------------

@pytest.mark.parametrize('suffix', ['.gz', ''])
@pytest.mark.parametrize('dotted', [False, True])
def test_reads_raw_and_gz_in_both_name_styles(tmp_path, suffix, dotted):
    arrays = write_dataset(tmp_path, n_train=30, suffix=suffix, dotted=dotted)
    train = Dataset(tmp_path, 'train', val_size=10)
    images, labels = arrays['train']
    np.testing.assert_allclose(train.images, prepared(images[:20]), atol=1e-6)
    np.testing.assert_array_equal(train.labels, labels[:20])


def test_raw_file_wins_over_its_gz(tmp_path):
    write_dataset(tmp_path, n_train=30, suffix='.gz', seed=0)
    raw = write_dataset(tmp_path, n_train=30, suffix='', seed=5)
    train = Dataset(tmp_path, 'train', val_size=10)
    np.testing.assert_array_equal(train.labels, raw['train'][1][:20])
    assert find_idx_file(tmp_path, 'train-images-idx3-ubyte').name == 'train-images-idx3-ubyte'


def test_read_idx_returns_header_shape(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / 'x-idx3-ubyte', images, IMAGES_MAGIC)
    np.testing.assert_array_equal(read_idx(path, IMAGES_MAGIC), images)


# --- splits and preparation ------------------------------------------------------------------

def test_splits_shapes_types_and_contents(small_data):
    folder, arrays = small_data
    train = Dataset(folder, 'train', num_classes=3, val_size=15)
    val = Dataset(folder, 'val', num_classes=3, val_size=15)
    test = Dataset(folder, 'test', num_classes=3)
    (train_images, train_labels), (test_images, test_labels) = arrays['train'], arrays['t10k']

    assert (len(train), len(val), len(test)) == (25, 15, 12)
    assert train.images.shape == (25, 20) and train.image_shape == (4, 5)
    for split in (train, val, test):
        assert split.images.dtype == np.float32 and split.labels.dtype == np.int64
        assert split.labels.shape == (len(split),)
    np.testing.assert_allclose(train.images, prepared(train_images[:25]), atol=1e-6)
    np.testing.assert_allclose(val.images, prepared(train_images[25:]), atol=1e-6)
    np.testing.assert_allclose(test.images, prepared(test_images), atol=1e-6)
    np.testing.assert_array_equal(val.labels, train_labels[25:])
    np.testing.assert_array_equal(test.labels, test_labels)


def test_each_image_is_centred_on_its_own_mean(small_data):
    folder, arrays = small_data
    test = Dataset(folder, 'test')
    np.testing.assert_allclose(test.images.mean(axis=1), 0, atol=1e-6)
    # Scaled to [0, 1] before centring: the spread of each image is its pixel range / 255.
    raw = arrays['t10k'][0].reshape(12, -1)
    spread = test.images.max(axis=1) - test.images.min(axis=1)
    np.testing.assert_allclose(spread, (raw.max(axis=1) - raw.min(axis=1)) / 255, atol=1e-6)


def test_a_split_does_not_depend_on_the_others(tmp_path):
    """No statistic leaks across splits: changing the test images leaves train and val alone."""
    write_dataset(tmp_path / 'a', n_train=30, seed=0)
    write_dataset(tmp_path / 'b', n_train=30, seed=0)
    write_idx(tmp_path / 'b' / 't10k-images-idx3-ubyte.gz', np.full((12, 4, 5), 200), IMAGES_MAGIC)
    for mode in ('train', 'val'):
        np.testing.assert_array_equal(Dataset(tmp_path / 'a', mode, val_size=10).images,
                                      Dataset(tmp_path / 'b', mode, val_size=10).images)


def test_getitem_takes_an_index_or_an_index_array(small_data):
    folder, _ = small_data
    test = Dataset(folder, 'test')
    image, label = test[3]
    assert image.shape == (20,) and label == test.labels[3]
    images, labels = test[np.array([5, 0, 5])]
    assert images.shape == (3, 20)
    np.testing.assert_array_equal(labels, test.labels[[5, 0, 5]])
    np.testing.assert_array_equal(images[0], test.images[5])


def test_train_and_val_never_open_the_test_files(tmp_path, monkeypatch):
    write_dataset(tmp_path, n_train=30)
    for name in ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'):
        (tmp_path / name).write_bytes(b'not an IDX file')  # would fail if it were read
    opened = []
    real_open = idx.open_regular_file
    monkeypatch.setattr(idx, 'open_regular_file',
                        lambda path: opened.append(path.name) or real_open(path))
    Dataset(tmp_path, 'train', val_size=10)
    Dataset(tmp_path, 'val', val_size=10)
    assert opened and not any(name.startswith('t10k') for name in opened)
    with pytest.raises(ValueError, match='t10k-images'):
        Dataset(tmp_path, 'test')


def test_more_than_ten_classes_and_other_image_sizes(tmp_path):
    write_dataset(tmp_path, n_train=60, num_classes=13, shape=(6, 3))
    train = Dataset(tmp_path, 'train', num_classes=13, val_size=10)
    assert train.images.shape == (50, 18) and train.num_classes == 13


# --- bad files -------------------------------------------------------------------------------

def corrupt(path, data):
    path.write_bytes(data)
    return path


def test_missing_file_names_what_was_looked_for(tmp_path):
    write_dataset(tmp_path, n_train=30)
    (tmp_path / 'train-labels-idx1-ubyte.gz').unlink()
    with pytest.raises(FileNotFoundError) as error:
        Dataset(tmp_path, 'train', val_size=10)
    message = str(error.value)
    for name in ('train-labels-idx1-ubyte', 'train-labels.idx1-ubyte',
                 'train-labels-idx1-ubyte.gz', 'train-labels.idx1-ubyte.gz', str(tmp_path)):
        assert name in message
    assert 'copy' in message


def test_data_root_that_is_not_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='not a folder'):
        Dataset(tmp_path / 'nowhere', 'train')


LABELS = np.array([0, 1, 2, 1], dtype=np.uint8)
IMAGES = np.zeros((4, 2, 2), dtype=np.uint8)


@pytest.mark.parametrize('name, data, message', [
    ('labels', b'', r'0 bytes is too short'),
    ('labels', idx_bytes(LABELS, LABELS_MAGIC)[:6], r'too short'),
    ('labels', idx_bytes(LABELS, IMAGES_MAGIC), r'magic number 2051, expected 2049'),
    ('images', idx_bytes(IMAGES, LABELS_MAGIC), r'magic number 2049, expected 2051'),
    ('labels', idx_bytes(LABELS, LABELS_MAGIC)[:-1], r'truncated'),
    ('images', idx_bytes(IMAGES, IMAGES_MAGIC)[:-3], r'truncated'),
    ('labels', idx_bytes(LABELS, LABELS_MAGIC) + b'\0', r'extra bytes'),
    ('images', idx_bytes(np.zeros((4, 0, 2)), IMAGES_MAGIC), r'dimensions \(4, 0, 2\)'),
    ('images', IMAGES_MAGIC.to_bytes(4, 'big') + (10 ** 9).to_bytes(4, 'big') * 3, r'truncated'),
])
@pytest.mark.parametrize('compress', [False, True])
def test_corrupt_file_raises_value_error_naming_it(tmp_path, name, data, message, compress):
    write_idx(tmp_path / 'train-images-idx3-ubyte', IMAGES, IMAGES_MAGIC)
    write_idx(tmp_path / 'train-labels-idx1-ubyte', LABELS, LABELS_MAGIC)
    filename = f'train-{name}-idx{3 if name == "images" else 1}-ubyte'
    if compress:
        (tmp_path / filename).unlink()
        filename += '.gz'
        data = gzip.compress(data)
    corrupt(tmp_path / filename, data)
    with pytest.raises(ValueError, match=message) as error:
        Dataset(tmp_path, 'val', val_size=2)
    assert filename in str(error.value)


@pytest.mark.parametrize('damage', ['truncated', 'not gzip', 'flipped byte'])
def test_damaged_gz_raises_value_error_naming_it(tmp_path, damage):
    write_dataset(tmp_path, n_train=30)
    path = tmp_path / 'train-images-idx3-ubyte.gz'
    data = path.read_bytes()
    data = {'truncated': data[:len(data) // 2],
            'not gzip': b'<html>403 Forbidden</html>',
            'flipped byte': data[:-6] + bytes([data[-6] ^ 0xFF]) + data[-5:]}[damage]
    path.write_bytes(data)
    with pytest.raises(ValueError, match='train-images-idx3-ubyte.gz') as error:
        Dataset(tmp_path, 'train', val_size=10)
    assert 'gzip' in str(error.value) or 'truncated' in str(error.value)


def test_test_images_of_another_size_name_both_files_before_being_read(tmp_path, monkeypatch):
    """27x28 test images beside 28x28 training images, say: the model could not take them. Only
    the headers are read to find out."""
    write_dataset(tmp_path, n_train=30)  # 4x5 images
    write_idx(tmp_path / 't10k-images-idx3-ubyte.gz', np.zeros((12, 3, 5)), IMAGES_MAGIC)
    read = []
    real_read_idx = idx.read_idx
    monkeypatch.setattr(idx, 'read_idx', lambda path, magic: read.append(path.name)
                        or real_read_idx(path, magic))
    with pytest.raises(ValueError, match=r'images of 3x5 but .* images of 4x5') as error:
        Dataset(tmp_path, 'test')
    assert 't10k-images-idx3-ubyte.gz' in str(error.value)
    assert 'train-images-idx3-ubyte.gz' in str(error.value)
    assert read == []
    assert len(Dataset(tmp_path, 'train', val_size=10)) == 20  # training does not read them


def test_solver_names_both_files_when_the_test_split_is_built(tmp_path, monkeypatch):
    """Solver.test() builds the test split (training is left out: it needs the TODOs)."""
    write_dataset(tmp_path, n_train=5100)  # the Solver holds out 5000 images to validate
    write_idx(tmp_path / 't10k-images-idx3-ubyte.gz', np.zeros((12, 4, 6)), IMAGES_MAGIC)
    runner = Solver({'data_root': str(tmp_path), 'max_epoch': 1, 'batch_size': 10}, log=None)
    with pytest.raises(ValueError, match=r't10k-images-idx3-ubyte.gz holds images of 4x6 but '
                                         r'.*train-images-idx3-ubyte.gz holds images of 4x5'):
        runner.test()
    monkeypatch.setattr(Solver, 'train', lambda self: ([], []))
    with pytest.raises(SystemExit) as exit_:  # python solver.py: the message, no traceback
        solver.main(['--data_root', str(tmp_path), '--max_epoch', '1', '--batch_size', '10'])
    assert 'solver.py: ' in str(exit_.value.code) and 'images of 4x6' in str(exit_.value.code)


def test_a_test_folder_without_training_images_still_reads(tmp_path):
    arrays = write_dataset(tmp_path, n_train=30)
    (tmp_path / 'train-images-idx3-ubyte.gz').unlink()
    np.testing.assert_array_equal(Dataset(tmp_path, 'test').labels, arrays['t10k'][1])


def test_count_mismatch_names_both_files(tmp_path):
    write_idx(tmp_path / 'train-images-idx3-ubyte', IMAGES, IMAGES_MAGIC)
    write_idx(tmp_path / 'train-labels-idx1-ubyte', LABELS[:3], LABELS_MAGIC)
    with pytest.raises(ValueError, match='4 images.*3 labels') as error:
        Dataset(tmp_path, 'train', val_size=1)
    assert 'train-images-idx3-ubyte' in str(error.value)
    assert 'train-labels-idx1-ubyte' in str(error.value)


def test_label_out_of_range_is_named(tmp_path):
    write_idx(tmp_path / 'train-images-idx3-ubyte', IMAGES, IMAGES_MAGIC)
    write_idx(tmp_path / 'train-labels-idx1-ubyte', [0, 1, 7, 2], LABELS_MAGIC)
    with pytest.raises(ValueError, match=r'train-labels-idx1-ubyte.*label 7.*num_classes=5'):
        Dataset(tmp_path, 'train', num_classes=5, val_size=1)
    assert len(Dataset(tmp_path, 'train', num_classes=8, val_size=1)) == 3


@pytest.mark.parametrize('kwargs, message', [
    ({'mode': 'validation'}, r"mode='validation'"),
    ({'mode': 'train', 'val_size': 40}, r'val_size=40.*40 images'),
    ({'mode': 'val', 'val_size': 0}, r'val_size=0'),
    ({'mode': 'train', 'val_size': -1}, r'val_size=-1'),
    ({'mode': 'train', 'num_classes': 0}, r'num_classes=0'),
])
def test_bad_arguments_are_named(small_data, kwargs, message):
    folder, _ = small_data
    with pytest.raises(ValueError, match=message):
        Dataset(folder, **kwargs)


def test_val_size_zero_trains_on_everything(small_data):
    folder, _ = small_data
    assert len(Dataset(folder, 'train', val_size=0)) == 40


# --- sampler and loader ----------------------------------------------------------------------

class Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


@pytest.mark.parametrize('n, batch_size', [(10, 3), (10, 5), (7, 10), (1, 1), (100, 7)])
@pytest.mark.parametrize('shuffle', [False, True])
def test_every_index_once_per_epoch(n, batch_size, shuffle):
    sampler = IterationBatchSampler(Sized(n), max_epoch=1, batch_size=batch_size,
                                    shuffle=shuffle, seed=0)
    assert len(sampler) == -(-n // batch_size)
    for _ in range(3):
        sampler.prepare_epoch_indices()
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert all(len(batch) == batch_size for batch in batches[:-1])
        assert 1 <= len(batches[-1]) <= batch_size
        np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))
        if not shuffle:
            np.testing.assert_array_equal(np.concatenate(batches), np.arange(n))


def epoch_orders(seed, epochs=3, n=50):
    sampler = IterationBatchSampler(Sized(n), max_epoch=epochs, batch_size=8, shuffle=True,
                                    seed=seed)
    orders = []
    for _ in range(epochs):
        sampler.prepare_epoch_indices()
        orders.append(np.concatenate(list(sampler)))
    return orders


def test_shuffle_is_fresh_each_epoch_and_fixed_by_the_seed():
    first, second, third = epoch_orders(seed=7)
    assert not np.array_equal(first, second) and not np.array_equal(second, third)
    for a, b in zip(epoch_orders(seed=7), (first, second, third)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(epoch_orders(seed=8)[0], first)


def test_sampler_must_be_prepared_before_iterating():
    sampler = IterationBatchSampler(Sized(5), max_epoch=1, batch_size=2)
    with pytest.raises(RuntimeError, match='prepare_epoch_indices'):
        iter(sampler)


@pytest.mark.parametrize('name, value', [('batch_size', 0), ('batch_size', 2.5),
                                         ('max_epoch', 0)])
def test_sampler_rejects_bad_sizes(name, value):
    kwargs = {'max_epoch': 1, 'batch_size': 2, name: value}
    with pytest.raises(ValueError, match=f'{name}={value}'):
        IterationBatchSampler(Sized(5), **kwargs)


def test_dataloader_yields_gathered_batches(small_data):
    folder, _ = small_data
    dataset = Dataset(folder, 'train', val_size=11)  # 29 samples: batches of 10, 10, 9
    loader = Dataloader(dataset, IterationBatchSampler(dataset, 2, 10, shuffle=True, seed=3))
    assert len(loader) == 3
    for _ in range(2):
        seen = []
        for images, labels in loader:
            assert images.shape[1:] == (20,) and images.shape[0] == labels.shape[0]
            # every row is the dataset's row for its label's index: gathered together
            rows = [np.flatnonzero((dataset.images == row).all(axis=1))[0] for row in images]
            np.testing.assert_array_equal(dataset.labels[rows], labels)
            seen.extend(rows)
        assert sorted(seen) == list(range(29))
        assert [len(b) for b, _ in loader] == [10, 10, 9]


def test_build_dataloader(small_data):
    folder, _ = small_data
    loader = build_dataloader(folder, max_epoch=1, batch_size=5, mode='test')
    assert len(loader) == 3 and len(loader.dataset) == 12
    images, labels = next(iter(loader))
    assert images.shape == (5, 20) and labels.shape == (5,)
    np.testing.assert_array_equal(labels, loader.dataset.labels[:5])
