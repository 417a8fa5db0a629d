"""The IDX reader cannot be fooled: property-based tests (hypothesis) of kit.idx.read_idx and
Dataset on truncated, flipped, mis-sized, huge, empty, missing and unreadable files, and pipes.
Every case ends in a ValueError, FileNotFoundError or PermissionError that names the file, or in
exactly the data that was written: never another exception, a hang, a big allocation or wrong
data."""
import contextlib
import gzip
import math
import os
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dataloader
from dataloader import Dataset
from idx_helpers import IMAGES_MAGIC, LABELS_MAGIC, idx_bytes, write_dataset
from kit import data_tools, idx
from kit.idx import read_header, read_idx

ON_WINDOWS = sys.platform == 'win32'
NEEDS_FIFO = pytest.mark.skipif(ON_WINDOWS, reason='Windows has no named pipes (os.mkfifo)')
NEEDS_SYMLINK = pytest.mark.skipif(ON_WINDOWS, reason='symlinks need admin rights on Windows')
NEEDS_CHMOD = pytest.mark.skipif(ON_WINDOWS, reason='chmod 0 does not stop reads on Windows')

# Few examples each, so that the suite stays fast; hypothesis draws new ones on every run.
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def idx_files(draw):
    """(array, magic): a small labels (n,) or images (n, rows, cols) array of random bytes."""
    if draw(st.booleans()):
        shape, magic = (draw(st.integers(1, 40)),), LABELS_MAGIC
    else:
        shape, magic = tuple(draw(st.integers(1, 5)) for _ in range(3)), IMAGES_MAGIC
    payload = draw(st.binary(min_size=math.prod(shape), max_size=math.prod(shape)))
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape), magic


def write(folder, data, compress):
    """data (the IDX bytes) as a file in folder, gzipped when compress; returns its path."""
    path = Path(folder) / ('fuzzed-idx-ubyte.gz' if compress else 'fuzzed-idx-ubyte')
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def read_or_error(path, magic):
    """read_idx's array, or the ValueError it raised, after checking that it names the file."""
    try:
        return read_idx(path, magic)
    except ValueError as err:
        assert path.name in str(err), str(err)
        return err


@pytest.fixture(params=['cached', 'streamed'])
def gz_reading(request, monkeypatch):
    """Both ways a .gz is read: whole, remembered by content (small files), or streamed from the
    file (files over CACHED_GZ_BYTES)."""
    if request.param == 'streamed':
        monkeypatch.setattr(idx, 'CACHED_GZ_BYTES', 0)
    return request.param


@FUZZ
@given(idx_files(), st.booleans(), st.data())
def test_any_truncation_is_a_value_error(tmp_path, gz_reading, idx_file, compress, data):
    array, magic = idx_file
    path = write(tmp_path, idx_bytes(array, magic), compress)
    whole = path.read_bytes()
    path.write_bytes(whole[:data.draw(st.integers(0, len(whole) - 1), label='cut at')])
    assert isinstance(read_or_error(path, magic), ValueError)


@FUZZ
@given(idx_files(), st.booleans(), st.data())
def test_any_byte_flip_in_the_header_is_a_value_error(tmp_path, idx_file, compress, data):
    array, magic = idx_file
    raw = bytearray(idx_bytes(array, magic))
    header_size = 4 + 4 * array.ndim
    raw[data.draw(st.integers(0, header_size - 1), label='at')] ^= data.draw(st.integers(1, 255),
                                                                               label='xor')
    assert isinstance(read_or_error(write(tmp_path, bytes(raw), compress), magic), ValueError)


@FUZZ
@given(idx_files(), st.data())
def test_a_byte_flip_anywhere_in_a_gz_file_is_an_error_or_changes_nothing(tmp_path, gz_reading,
                                                                         idx_file, data):
    """gzip's CRC guards the bytes: a flip is caught, or lands where it does not matter (the
    header's time stamp, say). Flips in a raw file's pixels are for verify's checksums."""
    array, magic = idx_file
    path = write(tmp_path, idx_bytes(array, magic), compress=True)
    compressed = bytearray(path.read_bytes())
    compressed[data.draw(st.integers(0, len(compressed) - 1), label='at')] ^= \
        data.draw(st.integers(1, 255), label='xor')
    path.write_bytes(bytes(compressed))
    result = read_or_error(path, magic)
    if not isinstance(result, ValueError):
        np.testing.assert_array_equal(result, array)


@FUZZ
@given(st.sampled_from([LABELS_MAGIC, IMAGES_MAGIC]),
       st.lists(st.integers(0, 2 ** 32 - 1) | st.integers(0, 6), min_size=3, max_size=3),
       st.binary(max_size=200), st.booleans())
def test_any_header_reads_as_it_says_or_is_a_value_error(tmp_path, gz_reading, magic, dims,
                                                         payload, compress):
    """Random dimensions (huge ones too) before random bytes: the array read is exactly the
    bytes the header describes, or the file is rejected; read_header agrees with read_idx."""
    ndim = magic & 0xFF
    header = magic.to_bytes(4, 'big') + b''.join(d.to_bytes(4, 'big') for d in dims[:ndim])
    path = write(tmp_path, header + payload, compress)
    result = read_or_error(path, magic)
    if not isinstance(result, ValueError):
        assert result.shape == tuple(dims[:ndim]) and result.tobytes() == payload
        assert read_header(path, magic) == result.shape


# A uint32 count cannot say 10**12 images; these headers claim as much or more, in bytes.
HUGE_HEADERS = {
    '4294967295 images of 28x28 (3.4e12 bytes)': (IMAGES_MAGIC, (2 ** 32 - 1, 28, 28)),
    '10**9 images of 1000x1000 (1e15 bytes)': (IMAGES_MAGIC, (10 ** 9, 1000, 1000)),
    'the largest header (7.9e28 bytes)': (IMAGES_MAGIC, (2 ** 32 - 1,) * 3),
    '4294967295 labels': (LABELS_MAGIC, (2 ** 32 - 1,)),
}


@pytest.mark.parametrize('claim', HUGE_HEADERS)
@pytest.mark.parametrize('compress', [False, True])
def test_a_huge_claimed_size_fails_at_once_without_allocating(tmp_path, claim, compress):
    magic, dims = HUGE_HEADERS[claim]
    header = magic.to_bytes(4, 'big') + b''.join(d.to_bytes(4, 'big') for d in dims)
    path = write(tmp_path, header + bytes(1000), compress)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match='truncated') as error:
            read_idx(path, magic)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert path.name in str(error.value)
    assert peak < 2 ** 20, f'{peak} bytes allocated to read a {len(header) + 1000}-byte file'


@pytest.mark.parametrize('magic, data, message', [
    (IMAGES_MAGIC, idx_bytes(np.zeros((4, 2)), 0x0802), 'magic number 2050, expected 2051'),
    (IMAGES_MAGIC, idx_bytes(np.zeros((4, 2, 2, 1)), 0x0804), 'magic number 2052'),
    (LABELS_MAGIC, idx_bytes(np.zeros((4, 2)), 0x0802), 'magic number 2050, expected 2049'),
    (IMAGES_MAGIC, idx_bytes(np.zeros((4, 2, 2)), 0x0D03), 'magic number 3331'),  # float data
    (IMAGES_MAGIC, idx_bytes(np.zeros((3, 2, 2)), IMAGES_MAGIC)[:16] + bytes(8), 'truncated'),
    (IMAGES_MAGIC, idx_bytes(np.zeros((3, 2, 2)), IMAGES_MAGIC) + bytes(4), 'extra bytes'),
])
@pytest.mark.parametrize('compress', [False, True])
def test_wrong_dimensions_are_value_errors(tmp_path, magic, data, message, compress):
    path = write(tmp_path, data, compress)
    with pytest.raises(ValueError, match=message) as error:
        read_idx(path, magic)
    assert path.name in str(error.value)


@pytest.mark.parametrize('content', [b'', gzip.compress(b'')], ids=['empty', 'gzip of nothing'])
def test_empty_files_are_value_errors(tmp_path, content):
    for name in ('x-idx1-ubyte', 'x-idx1-ubyte.gz'):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match='too short|not a readable gzip') as error:
            read_idx(path, LABELS_MAGIC)
        assert name in str(error.value)


# --- through the Dataset: the file at fault is named -----------------------------------------

@FUZZ
@given(st.sampled_from(['train-images-idx3-ubyte', 'train-labels-idx1-ubyte']),
       st.booleans(), st.data())
def test_a_truncated_file_makes_the_dataset_name_it(tmp_path_factory, name, compress, data):
    folder = tmp_path_factory.mktemp('data')
    write_dataset(folder, n_train=20, n_test=5, suffix='.gz' if compress else '')
    path = folder / (name + ('.gz' if compress else ''))
    whole = path.read_bytes()
    path.write_bytes(whole[:data.draw(st.integers(0, len(whole) - 1), label='cut at')])
    with pytest.raises(ValueError) as error:
        Dataset(folder, 'train', val_size=5)
    assert path.name in str(error.value)


@pytest.mark.parametrize('name', ['train-images-idx3-ubyte', 'train-labels.idx1-ubyte'])
def test_a_folder_where_a_file_should_be(tmp_path, name):
    write_dataset(tmp_path, n_train=20)
    (tmp_path / name).mkdir()
    (tmp_path / name / 'train-images.idx3-ubyte').write_bytes(b'what an unzip tool left')
    with pytest.raises(ValueError, match='is a folder, not a file') as error:
        Dataset(tmp_path, 'train', val_size=5)
    assert name in str(error.value) and 'move the file inside it' in str(error.value)


@contextlib.contextmanager
def unblocked_after(pipe, seconds=5):
    """Fails the test if the code run inside waits on the pipe: were the pipe opened for reading
    and waited on, a writer comes after `seconds`, so that the test ends (and fails) instead of
    hanging. (A writer's open waits for a reader, so it gets through only if one is waiting.)"""
    waited = []

    def unblock():
        with open(pipe, 'wb') as writer:
            waited.append(True)
            writer.write(b'x')
    timer = threading.Timer(seconds, unblock)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
    assert not waited, f'{pipe} was opened and waited on until a writer came'


@NEEDS_FIFO
def test_a_pipe_where_a_file_should_be_does_not_hang(tmp_path):
    write_dataset(tmp_path, n_train=20)
    (tmp_path / 'train-labels-idx1-ubyte.gz').unlink()
    pipe = tmp_path / 'train-labels-idx1-ubyte'
    os.mkfifo(pipe)
    with unblocked_after(pipe), pytest.raises(ValueError, match='not a regular file') as error:
        Dataset(tmp_path, 'train', val_size=5)
    assert pipe.name in str(error.value)
    for read in (read_idx, read_header):
        with unblocked_after(pipe), pytest.raises(ValueError, match='not a regular file'):
            read(pipe, LABELS_MAGIC)
    lines = []
    with unblocked_after(pipe):
        assert data_tools.verify(tmp_path, log=lines.append) == 1
    assert any('train-labels-idx1-ubyte' in line and 'corrupt' in line
               and 'not a regular file' in line for line in lines)


@NEEDS_FIFO
@pytest.mark.parametrize('name', ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'])
def test_a_file_swapped_for_a_pipe_after_it_was_found_does_not_hang(tmp_path, monkeypatch,
                                                                   name):
    """A regular file when it is looked for, a pipe when it is opened: the open does not wait
    for a writer, and the check on the open descriptor refuses it."""
    write_dataset(tmp_path, n_train=20, suffix='')
    real_find = dataloader.find_idx_file

    def find_then_swap(data_root, wanted):
        path = real_find(data_root, wanted)
        assert path.is_file()
        if wanted == name:
            path.unlink()
            os.mkfifo(path)
        return path
    monkeypatch.setattr(dataloader, 'find_idx_file', find_then_swap)
    with unblocked_after(tmp_path / name), pytest.raises(ValueError, match='not a regular file'):
        Dataset(tmp_path, 'train', val_size=5)


@NEEDS_SYMLINK
def test_a_dangling_link_is_a_missing_file(tmp_path):
    write_dataset(tmp_path, n_train=20)
    (tmp_path / 'train-labels-idx1-ubyte.gz').unlink()
    (tmp_path / 'train-labels-idx1-ubyte').symlink_to(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='No train-labels-idx1-ubyte file'):
        Dataset(tmp_path, 'train', val_size=5)


def test_an_unreadable_file_is_a_permission_error_naming_it(tmp_path, monkeypatch):
    """The open is made to fail as it would for a user without read access: this runs as root
    too, where chmod 000 does not stop reads (the next test does it for real, when not root)."""
    write_dataset(tmp_path, n_train=20)
    real_open = os.open

    def open_(path, flags, *args):
        if Path(path).name == 'train-images-idx3-ubyte.gz':
            raise PermissionError(13, 'Permission denied', str(path))
        return real_open(path, flags, *args)
    monkeypatch.setattr(os, 'open', open_)
    with pytest.raises(PermissionError, match='no permission to read it') as error:
        Dataset(tmp_path, 'train', val_size=5)
    assert 'train-images-idx3-ubyte.gz' in str(error.value)
    assert idx.permission_advice(tmp_path / 'train-images-idx3-ubyte.gz') in str(error.value)


def test_the_permission_advice_fits_the_system(tmp_path):
    path = tmp_path / 'train-images-idx3-ubyte.gz'
    assert f"chmod u+r '{path}'" in idx.permission_advice(path, 'linux')
    assert f"chmod u+r '{path}'" in idx.permission_advice(path, 'darwin')
    on_windows = idx.permission_advice(path, 'win32')
    assert 'chmod' not in on_windows and 'Properties' in on_windows


@NEEDS_CHMOD
def test_an_unreadable_file_for_real(tmp_path):
    write_dataset(tmp_path, n_train=20)
    path = tmp_path / 'train-labels-idx1-ubyte.gz'
    path.chmod(0)
    try:
        try:
            path.open('rb').close()
        except PermissionError:
            pass
        else:
            pytest.skip('this process reads a chmod 000 file all the same (root): '
                        'test_an_unreadable_file_is_a_permission_error_naming_it covers it')
        with pytest.raises(PermissionError, match='no permission to read it') as error:
            Dataset(tmp_path, 'train', val_size=5)
    finally:
        path.chmod(0o644)
    assert path.name in str(error.value)


@pytest.mark.parametrize('name, compress', [('train-labels-idx1-ubyte', True),
                                            ('train-labels-idx1-ubyte.gz', False)],
                         ids=['gzip without .gz', 'raw named .gz'])
def test_gzip_is_told_by_content_not_only_by_name(tmp_path, name, compress):
    arrays = write_dataset(tmp_path, n_train=20)
    (tmp_path / 'train-labels-idx1-ubyte.gz').unlink()
    data = idx_bytes(arrays['train'][1], LABELS_MAGIC)
    (tmp_path / name).write_bytes(gzip.compress(data) if compress else data)
    np.testing.assert_array_equal(read_idx(tmp_path / name, LABELS_MAGIC), arrays['train'][1])
    assert len(Dataset(tmp_path, 'train', val_size=5)) == 15
