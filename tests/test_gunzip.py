"""dataloader.gunzip: zlib's fast path and gzip.decompress's fallback give the same bytes."""
import gzip

import numpy as np
import pytest

from dataloader import Dataset, gunzip, read_idx
from idx_helpers import IMAGES_MAGIC, idx_bytes, write_dataset


@pytest.mark.parametrize('size', [0, 1, 1000, 300_000])
def test_gunzip_is_gzip_decompress(size):
    data = np.random.default_rng(size).integers(0, 4, size=size, dtype=np.uint8).tobytes()
    assert gunzip(gzip.compress(data)) == data


def test_several_gzip_members_are_read_whole(tmp_path):
    images = np.arange(6 * 4 * 5, dtype=np.uint8).reshape(6, 4, 5)
    data = idx_bytes(images, IMAGES_MAGIC)
    path = tmp_path / 'x-idx3-ubyte.gz'
    path.write_bytes(gzip.compress(data[:50]) + gzip.compress(data[50:]))  # as `cat a.gz b.gz`
    np.testing.assert_array_equal(read_idx(path, IMAGES_MAGIC), images)


def test_zero_padding_after_the_gzip_data_is_ignored_as_gzip_does(tmp_path):
    images = np.full((3, 4, 5), 7, dtype=np.uint8)
    path = tmp_path / 'x-idx3-ubyte.gz'
    path.write_bytes(gzip.compress(idx_bytes(images, IMAGES_MAGIC)) + bytes(8))
    np.testing.assert_array_equal(read_idx(path, IMAGES_MAGIC), images)


def test_garbage_after_the_gzip_data_is_an_error_naming_the_file(tmp_path):
    write_dataset(tmp_path, n_train=30)
    path = tmp_path / 'train-images-idx3-ubyte.gz'
    path.write_bytes(path.read_bytes() + b'<html>')
    with pytest.raises(ValueError, match='train-images-idx3-ubyte.gz'):
        Dataset(tmp_path, 'train', val_size=10)


def test_a_truncated_file_claiming_a_huge_size_never_reaches_a_huge_buffer(monkeypatch):
    """The last four bytes of a truncated file are not its size: no 4 GB buffer is asked for."""
    import dataloader
    compressed = gzip.compress(np.random.default_rng(0).bytes(50_000))
    truncated = compressed[:len(compressed) // 2] + b'\xff\xff\xff\xff'
    buffers = []
    real_decompress = dataloader.zlib.decompress
    monkeypatch.setattr(dataloader.zlib, 'decompress', lambda data, wbits, bufsize: (
        buffers.append(bufsize), real_decompress(data, wbits, bufsize))[1])
    with pytest.raises(EOFError):
        gunzip(truncated)
    assert all(size <= 1032 * len(truncated) for size in buffers)
