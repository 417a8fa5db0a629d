"""The MNIST files the kit ships in data/: checksums, their README, the splits."""
import gzip
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from dataloader import Dataset
from kit.idx import MNIST_SHA256, find_idx_file

DATA = Path(__file__).resolve().parent.parent / 'data'


@pytest.mark.parametrize('name', sorted(MNIST_SHA256))
def test_shipped_files_have_the_known_checksums(name):
    path = find_idx_file(DATA, name)
    data = path.read_bytes()
    if path.suffix == '.gz':
        data = gzip.decompress(data)
    assert hashlib.sha256(data).hexdigest() == MNIST_SHA256[name], f'{path} is not the original'


def test_data_readme_lists_the_same_checksums():
    readme = (DATA / 'README.md').read_text()
    listed = dict(re.findall(r'\| (\S+?)(?:\.gz)? \| \d+ \| \d+ \| ([0-9a-f]{64}) \|', readme))
    assert listed == MNIST_SHA256
    assert 'CC BY-SA 3.0' in readme


def test_splits_of_the_real_data():
    train, val, test = (Dataset(DATA, mode) for mode in ('train', 'val', 'test'))
    assert (len(train), len(val), len(test)) == (55000, 5000, 10000)
    assert train.images.shape == (55000, 784) and train.image_shape == (28, 28)
    assert np.abs(train.images.mean(axis=1)).max() < 1e-6
    # Class counts of the test set, as data/README.md gives them.
    assert np.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                                 974, 1009]
    counts = np.bincount(train.labels) + np.bincount(val.labels)
    assert counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
