"""kit.idx's gzip reading: GzipStream inflates what gzip.decompress does, a piece at a time; .gz
files are inflated once for the train and val splits, and never served stale."""
import gzip
import zlib

import numpy as np
import pytest

from dataloader import Dataset
from idx_helpers import IMAGES_MAGIC, idx_bytes, write_dataset
from kit import idx
from kit.idx import GzipStream, read_idx


def inflate_all(stream, piece):
    """Everything stream inflates to, asked for `piece` bytes at a time."""
    out = bytearray()
    while True:
        buffer = bytearray(piece)
        read = stream.readinto(buffer)
        out += buffer[:read]
        if read < piece:
            return bytes(out)


def in_chunks(data, size):
    return [data[start:start + size] for start in range(0, len(data), size)]


@pytest.mark.parametrize('size', [0, 1, 1000, 300_000, 3 * idx.CHUNK + 5])
@pytest.mark.parametrize('chunk, piece', [(1, 7), (1000, 1), (idx.CHUNK, 4096),
                                          (10 ** 7, 10 ** 7)])
def test_gzip_stream_is_gzip_decompress(size, chunk, piece):
    data = np.random.default_rng(size).integers(0, 4, size=size, dtype=np.uint8).tobytes()
    compressed = gzip.compress(data)
    assert inflate_all(GzipStream(in_chunks(compressed, chunk)), piece) == data


def test_gzip_stream_reads_members_in_a_row_and_skips_zero_padding():
    first, second = b'first member, ' * 50, b'second member' * 70
    compressed = gzip.compress(first) + bytes(5) + gzip.compress(second) + bytes(3)
    for chunk in (1, 3, 100, len(compressed)):
        assert inflate_all(GzipStream(in_chunks(compressed, chunk)), 64) == first + second


@pytest.mark.parametrize('damage, error', [
    (lambda data: data[:-1], EOFError),
    (lambda data: data[:12], EOFError),
    (lambda data: data + b'<html>', zlib.error),
    (lambda data: data[:-8] + bytes([data[-8] ^ 1]) + data[-7:], zlib.error),
    (lambda data: data[:-4] + (2 ** 32 - 1).to_bytes(4, 'little'), zlib.error),
    (lambda data: data[:-4] + (100).to_bytes(4, 'little'), zlib.error),
], ids=['cut in the trailer', 'cut early', 'garbage after', 'wrong CRC',
        'trailer claims 4 GiB', 'trailer claims 100 bytes'])
def test_gzip_stream_raises_on_damaged_data(damage, error):
    compressed = damage(gzip.compress(bytes(range(256)) * 40))
    with pytest.raises(error):
        inflate_all(GzipStream(in_chunks(compressed, 100)), 1000)


def test_gzip_stream_inflates_no_more_than_asked(monkeypatch):
    """Asked for 10 bytes of data that inflates to 50 MB, zlib is never asked for more."""
    compressed = gzip.compress(bytes(50 * 2 ** 20))
    asked = []
    real_decompressobj = idx.zlib.decompressobj

    class Watched:
        def __init__(self, **kwargs):
            self.inflater = real_decompressobj(**kwargs)

        def decompress(self, data, max_length):
            asked.append(max_length)
            return self.inflater.decompress(data, max_length)

        def __getattr__(self, name):
            return getattr(self.inflater, name)
    monkeypatch.setattr(idx.zlib, 'decompressobj', Watched)
    stream = GzipStream([compressed])
    assert stream.readinto(bytearray(10)) == 10
    assert sum(asked) == 10


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


@pytest.fixture
def inflations(monkeypatch):
    """The names of the .gz files inflated (read_array called on a GzipStream), in order."""
    names = []
    real_read_array = idx.read_array

    def read_array(path, source, magic, size, compressed):
        if compressed:
            names.append(path.name)
        return real_read_array(path, source, magic, size, compressed)
    monkeypatch.setattr(idx, 'read_array', read_array)
    idx.inflate_cached.cache_clear()
    yield names
    idx.inflate_cached.cache_clear()


def test_the_train_and_val_splits_inflate_the_training_files_once(tmp_path, inflations):
    write_dataset(tmp_path, n_train=30)
    train, val = Dataset(tmp_path, 'train', val_size=10), Dataset(tmp_path, 'val', val_size=10)
    assert sorted(inflations) == ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']
    assert (len(train), len(val)) == (20, 10)


def test_a_changed_file_is_read_again_even_at_the_same_size(tmp_path, inflations):
    """The cache is keyed by the compressed bytes, not by the file's name, size or time."""
    path = tmp_path / 'x-idx3-ubyte.gz'
    for value in (1, 2):
        images = np.full((3, 4, 5), value, dtype=np.uint8)
        path.write_bytes(gzip.compress(idx_bytes(images, IMAGES_MAGIC), compresslevel=0))
        np.testing.assert_array_equal(read_idx(path, IMAGES_MAGIC), images)
    assert inflations == [path.name] * 2


def test_a_large_gz_is_streamed_from_the_file_and_not_kept(tmp_path, monkeypatch, inflations):
    images = np.random.default_rng(0).integers(0, 255, size=(50, 28, 28), dtype=np.uint8)
    path = tmp_path / 'x-idx3-ubyte.gz'
    path.write_bytes(gzip.compress(idx_bytes(images, IMAGES_MAGIC)))
    monkeypatch.setattr(idx, 'CACHED_GZ_BYTES', path.stat().st_size - 1)
    for _ in range(2):
        np.testing.assert_array_equal(read_idx(path, IMAGES_MAGIC), images)
    assert inflations == [path.name] * 2 and idx.inflate_cached.cache_info().currsize == 0


def test_what_read_idx_returns_is_read_only(tmp_path):
    """Arrays are shared through the cache: nobody may change one in place."""
    arrays = write_dataset(tmp_path, n_train=30, suffix='.gz')
    array = read_idx(tmp_path / 'train-images-idx3-ubyte.gz', IMAGES_MAGIC)
    np.testing.assert_array_equal(array, arrays['train'][0])
    with pytest.raises(ValueError, match='read-only'):
        array[0, 0, 0] = 1
