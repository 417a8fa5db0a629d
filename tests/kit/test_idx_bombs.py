"""Data files built to exhaust memory: each gives a clean error naming the file, through
`python solver.py`, `python dataloader.py verify` and Dataset, in a fresh process whose peak
memory is measured. The files are built here (sparse ones with truncate), never kept in git."""
import json
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from kit.idx import IMAGES_MAGIC, MAX_IDX_BYTES

KIT = Path(__file__).resolve().parents[2]
PEAK_LIMIT_MIB = 600
pytestmark = pytest.mark.skipif(sys.platform == 'win32', reason='peak memory is read with the '
                                'POSIX resource module, and sparse files need POSIX truncate')


def images_header(*dims):
    return IMAGES_MAGIC.to_bytes(4, 'big') + b''.join(d.to_bytes(4, 'big') for d in dims)


def gzip_bomb(header, gigabytes):
    """A single gzip member: header, then `gigabytes` GiB of zeros, with an honest trailer. About
    1 MB per GiB: 16 MiB blocks of zeros, each compressed once and repeated (a full flush makes
    each block stand alone)."""
    block_size = 16 * 2 ** 20
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    start = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(block_size)) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-8]  # the last (empty) deflate block, before the trailer
    count = gigabytes * 2 ** 30 // block_size
    crc = zlib.crc32(header)
    for _ in range(count):
        crc = zlib.crc32(bytes(block_size), crc)
    size = (len(header) + count * block_size) % 2 ** 32
    return start + block * count + end + crc.to_bytes(4, 'little') + size.to_bytes(4, 'little')


def lying_trailer(claimed):
    """The kit's own training images, their gzip trailer changed to claim `claimed` bytes."""
    data = (KIT / 'data' / 'train-images-idx3-ubyte.gz').read_bytes()
    return data[:-4] + claimed.to_bytes(4, 'little')


def sparse(path, header, size):
    path.write_bytes(header)
    os.truncate(path, size)


# name: (the file that replaces the training images, how to write it, what the error says)
BOMBS = {
    '2 MB .gz inflating to 2 GiB': (
        'train-images-idx3-ubyte.gz',
        lambda path: path.write_bytes(gzip_bomb(images_header(60000, 28, 28), 2)),
        'followed by extra bytes'),
    'header claiming 2**31 images (raw)': (
        'train-images-idx3-ubyte',
        lambda path: path.write_bytes(images_header(2 ** 31, 28, 28) + bytes(2 ** 20)),
        'truncated'),
    'header claiming 2**31 images (.gz)': (
        'train-images-idx3-ubyte.gz',
        lambda path: path.write_bytes(gzip_bomb(images_header(2 ** 31, 28, 28), 1)),
        'more than its .* compressed bytes can hold'),
    'sparse raw file of 6 GiB': (
        'train-images-idx3-ubyte',
        lambda path: sparse(path, images_header(60000, 28, 28), 6 * 2 ** 30),
        'followed by extra bytes'),
    'sparse raw file of 6 GiB, its header agreeing': (
        'train-images-idx3-ubyte',
        lambda path: sparse(path, images_header(6, 1024, 2 ** 20), 16 + 6 * 2 ** 30),
        f'more than the {MAX_IDX_BYTES} bytes the kit reads'),
    'gzip trailer claiming 4 GiB': (
        'train-images-idx3-ubyte.gz', lambda path: path.write_bytes(lying_trailer(2 ** 32 - 1)),
        'incorrect length check'),
    'gzip trailer claiming 100 bytes': (
        'train-images-idx3-ubyte.gz', lambda path: path.write_bytes(lying_trailer(100)),
        'incorrect length check'),
}


@pytest.fixture(scope='module')
def bombs(tmp_path_factory):
    """{case: (data folder, the bomb's file name)}: the kit's MNIST with one file replaced."""
    folders = {}
    for case, (name, write, _) in BOMBS.items():
        folder = tmp_path_factory.mktemp('bomb')
        for path in (KIT / 'data').glob('*.gz'):
            shutil.copyfile(path, folder / path.name)
        (folder / 'train-images-idx3-ubyte.gz').unlink()
        write(folder / name)
        folders[case] = folder, name
    return folders


MEASURE = '''
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=300)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps([done.returncode, done.stdout + done.stderr, peak]))
'''
DATASET = '''
import sys
from dataloader import Dataset
try:
    Dataset(sys.argv[1], 'train')
except ValueError as err:
    print('ValueError:', err)
    sys.exit(3)
'''
COMMANDS = {  # how each is run, and the exit status of a clean error
    'python solver.py': (['solver.py', '--data_root'], 2),
    'python dataloader.py verify': (['dataloader.py', 'verify', '--data-root'], 1),
    'Dataset(DIR, "train")': (['-c', DATASET], 3),
}


def run_measured(args):
    """(exit status, what it printed, peak RSS in MiB) of python args, run in the kit's folder
    in a fresh process (measured from a fresh parent, so no other child's peak counts)."""
    measured = subprocess.run([sys.executable, '-c', MEASURE, sys.executable, *args],
                              capture_output=True, text=True, cwd=KIT, timeout=600)
    assert measured.returncode == 0, measured.stderr
    status, output, peak = json.loads(measured.stdout)
    return status, output, peak / (2 ** 20 if sys.platform == 'darwin' else 2 ** 10)


@pytest.mark.parametrize('command', COMMANDS)
@pytest.mark.parametrize('case', BOMBS)
def test_a_bomb_is_a_clean_error_naming_the_file_at_a_small_peak(bombs, case, command):
    folder, name = bombs[case]
    args, clean_status = COMMANDS[command]
    status, output, peak_mib = run_measured(args + [str(folder)])
    assert status == clean_status, output
    assert 'Traceback' not in output and 'MemoryError' not in output, output
    assert name in output, output
    assert any(name in line and re.search(BOMBS[case][2], line)
               for line in output.splitlines()), output
    assert peak_mib < PEAK_LIMIT_MIB, f'{case}, {command}: peak {peak_mib:.0f} MiB'
    print(f'{case:45} {command:28} peak {peak_mib:4.0f} MiB')  # shown with pytest -s


def test_the_bombs_are_what_they_claim(bombs):
    """The files are as large as their names say (the sparse ones on paper only), and the gzip
    bomb is a valid gzip file that inflates to 2 GiB."""
    folder, name = bombs['2 MB .gz inflating to 2 GiB']
    data = (folder / name).read_bytes()
    assert len(data) < 3 * 2 ** 20
    inflater, total, view = zlib.decompressobj(31), 0, memoryview(data)
    for start in range(0, len(data), 2 ** 16):
        chunk = view[start:start + 2 ** 16]
        while chunk:
            total += len(inflater.decompress(chunk, 2 ** 24))
            chunk = inflater.unconsumed_tail
    assert inflater.eof and total == 16 + 2 * 2 ** 30
    folder, name = bombs['sparse raw file of 6 GiB']
    assert (folder / name).stat().st_size == 6 * 2 ** 30
