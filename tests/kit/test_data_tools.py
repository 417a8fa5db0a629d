"""python dataloader.py verify / download (kit/data_tools.py), on small data sets written here
and an HTTP server on 127.0.0.1 started here: never the internet."""
import gzip
import http.server
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from idx_helpers import IMAGES_MAGIC, LABELS_MAGIC, file_checksums, idx_bytes, write_dataset
from kit import data_tools, idx

KIT = Path(__file__).resolve().parents[2]
NAMES = list(idx.MNIST_SHA256)
FASHION_NAMES = idx.KNOWN_DATA_SETS['Fashion-MNIST']['class_names']


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """Two small data sets standing in for MNIST and Fashion-MNIST: their checksums replace the
    real ones in kit.idx.KNOWN_DATA_SETS. Returns {'MNIST': folder, 'Fashion-MNIST': folder}."""
    folders = {'MNIST': tmp_path / 'mnist', 'Fashion-MNIST': tmp_path / 'fashion'}
    write_dataset(folders['MNIST'], n_train=40, n_test=12, seed=0)
    write_dataset(folders['Fashion-MNIST'], n_train=40, n_test=12, seed=100)
    monkeypatch.setattr(idx, 'KNOWN_DATA_SETS', {
        'MNIST': {'sha256': file_checksums(folders['MNIST']),
                  'class_names': [str(digit) for digit in range(10)]},
        'Fashion-MNIST': {'sha256': file_checksums(folders['Fashion-MNIST']),
                          'class_names': FASHION_NAMES},
    })
    return folders


def copy_of(source, folder):
    shutil.copytree(source, folder)
    return folder


def run_verify(folder):
    lines = []
    code = data_tools.verify(folder, log=lines.append)
    reports = {report.name: report for report in data_tools.check_folder(folder)}
    return code, reports, '\n'.join(lines)


# --- verify ----------------------------------------------------------------------------------

def test_verify_says_ok_for_the_originals(sources, tmp_path):
    code, reports, text = run_verify(copy_of(sources['MNIST'], tmp_path / 'data'))
    assert code == 0 and 'All four files are fine.' in text
    assert [report.status for report in reports.values()] == ['ok'] * 4
    assert "MNIST's original, 40 images of 4x5" in text


def test_verify_accepts_raw_files_and_both_spellings(sources, tmp_path):
    folder = copy_of(sources['MNIST'], tmp_path / 'data')
    for name in NAMES[:2]:
        gz = folder / f'{name}.gz'
        (folder / name.replace('-idx', '.idx')).write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    code, reports, _ = run_verify(folder)
    assert code == 0 and all(report.status == 'ok' for report in reports.values())
    assert reports[NAMES[0]].path.name == 'train-images.idx3-ubyte'


def test_another_known_data_set_is_unknown_and_fine(sources):
    code, reports, text = run_verify(sources['Fashion-MNIST'])
    assert code == 0
    assert [report.status for report in reports.values()] == ['unknown'] * 4
    assert "Fashion-MNIST's original" in text and 'not MNIST, which is fine' in text
    assert 'All four files are fine (Fashion-MNIST, not MNIST).' in text


def test_own_data_is_unknown_and_fine(sources, tmp_path):
    write_dataset(tmp_path / 'own', n_train=30, n_test=9, seed=7)
    code, reports, text = run_verify(tmp_path / 'own')
    assert code == 0 and all(report.status == 'unknown' for report in reports.values())
    assert 'your own data' in text


def damage(folder, sources, how):
    """Damage one file of a copy of the fake MNIST; returns the name of the damaged file."""
    labels_gz = folder / 'train-labels-idx1-ubyte.gz'
    images_gz = folder / 'train-images-idx3-ubyte.gz'
    if how == 'missing':
        labels_gz.unlink()
    elif how == 'truncated gz':
        labels_gz.write_bytes(labels_gz.read_bytes()[:-10])
    elif how == 'truncated raw':
        labels_gz.unlink()
        raw = idx_bytes(np.zeros(40), LABELS_MAGIC)[:-5]
        (folder / 'train-labels-idx1-ubyte').write_bytes(raw)
    elif how == 'wrong magic':
        labels_gz.write_bytes(gzip.compress(idx_bytes(np.zeros(40), IMAGES_MAGIC)))
    elif how == 'wrong count':  # a valid labels file, one label short
        labels = np.frombuffer(gzip.decompress(labels_gz.read_bytes())[8:], np.uint8)
        labels_gz.write_bytes(gzip.compress(idx_bytes(labels[:-1], LABELS_MAGIC)))
    elif how == 'flipped pixel':  # still a valid IDX file: only the checksum can tell
        data = bytearray(gzip.decompress(images_gz.read_bytes()))
        data[100] ^= 0x01
        images_gz.write_bytes(gzip.compress(bytes(data)))
        return 'train-images-idx3-ubyte'
    elif how == 'renamed':  # the test labels copied as the training labels
        shutil.copy(folder / 't10k-labels-idx1-ubyte.gz', labels_gz)
    elif how == 'mixed':  # the other data set's training labels
        shutil.copy(sources['Fashion-MNIST'] / 'train-labels-idx1-ubyte.gz', labels_gz)
    elif how == 'folder':
        labels_gz.unlink()
        (folder / 'train-labels-idx1-ubyte').mkdir()
    elif how == 'not gzip':
        labels_gz.write_bytes(b'<html><body>403 Forbidden</body></html>')
    return 'train-labels-idx1-ubyte'


@pytest.mark.parametrize('how, status, message', [
    ('missing', 'missing', 'no file under any accepted name'),
    ('truncated gz', 'corrupt', 'not a readable gzip file'),
    ('truncated raw', 'corrupt', 'truncated'),
    ('wrong magic', 'corrupt', 'magic number 2051, expected 2049'),
    ('wrong count', 'corrupt', '40 images of 4x5 in train-images-idx3-ubyte but 39 labels'),
    ('flipped pixel', 'corrupt', "not MNIST's original (its checksum differs)"),
    ('renamed', 'corrupt', "this is MNIST's t10k-labels-idx1-ubyte, not its train-labels"),
    ('mixed', 'corrupt', "Fashion-MNIST's train-labels-idx1-ubyte, while the other files are "
                         "MNIST's: two data sets are mixed"),
    ('folder', 'corrupt', 'is a folder, not a file'),
    ('not gzip', 'corrupt', 'not a readable gzip file'),
])
def test_verify_names_what_is_wrong_with_each_file(sources, tmp_path, how, status, message):
    folder = copy_of(sources['MNIST'], tmp_path / 'data')
    damaged = damage(folder, sources, how)
    code, reports, text = run_verify(folder)
    assert code == 1
    assert reports[damaged].status == status and message in reports[damaged].detail
    assert all(report.status == 'ok' for name, report in reports.items() if name != damaged)
    # The way out is in the output: download, git checkout, and the accepted names.
    assert idx.data_command('download', folder) in text and 'git checkout -- data' in text
    assert idx.data_command('verify', folder) in text
    assert 'train-labels.idx1-ubyte.gz' in text


def test_verify_reports_unreadable_files(sources, tmp_path, monkeypatch):
    """Monkeypatched open, as root (which the tests may run as) can read a chmod 000 file."""
    folder = copy_of(sources['MNIST'], tmp_path / 'data')
    real_open = os.open

    def open_(path, flags, *args):
        if Path(path).name.startswith('t10k-images'):
            raise PermissionError(13, 'Permission denied', str(path))
        return real_open(path, flags, *args)
    monkeypatch.setattr(os, 'open', open_)
    code, reports, text = run_verify(folder)
    assert code == 1 and reports['t10k-images-idx3-ubyte'].status == 'unreadable'
    assert 'no permission to read it' in reports['t10k-images-idx3-ubyte'].detail


def test_verify_of_a_missing_folder(tmp_path):
    lines = []
    assert data_tools.verify(tmp_path / 'nowhere', log=lines.append) == 1
    assert 'is not a folder' in lines[0]


def test_verify_the_kits_own_data_with_the_real_checksums():
    code, reports, text = run_verify(KIT / 'data')
    assert code == 0 and [report.status for report in reports.values()] == ['ok'] * 4


# --- download --------------------------------------------------------------------------------

class Mirror:
    """An HTTP server on 127.0.0.1 serving {name.gz: body}; a body may be a callable(handler)
    that answers itself. Every path requested is appended to .requests."""

    def __init__(self, files):
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                mirror.requests.append(self.path)
                body = mirror.files.get(self.path.rsplit('/', 1)[-1])
                if body is None:
                    self.send_error(404)
                elif callable(body):
                    body(self)
                else:
                    self.send_response(200)
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.files, self.requests = files, []
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_port}/mnist/'
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirrors():
    """mirrors(files) starts a Mirror; all are shut down after the test."""
    started = []

    def start(files):
        started.append(Mirror(files))
        return started[-1]
    yield start
    for mirror in started:
        mirror.close()


@pytest.fixture
def silent_server():
    """The URL of a server that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen(16)
    yield f'http://127.0.0.1:{sock.getsockname()[1]}/mnist/'
    sock.close()


def closed_port_url():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connections are refused
    return f'http://127.0.0.1:{port}/mnist/'


def gz_files(folder):
    return {path.name: path.read_bytes() for path in Path(folder).glob('*.gz')}


def snapshot(folder):
    """Every file of folder (hidden ones too) with its bytes and inode: to prove none changed."""
    return {path.name: (path.read_bytes(), path.stat().st_ino) for path in Path(folder).iterdir()
            if path.is_file()}


def run_download(folder, urls, timeout=2.0):
    lines = []
    code = data_tools.download(folder, urls, timeout=timeout, log=lines.append)
    return code, '\n'.join(lines)


def test_download_restores_missing_files_from_the_first_mirror_that_has_them(sources, tmp_path,
                                                                            mirrors):
    folder = copy_of(sources['MNIST'], tmp_path / 'data')
    (folder / 'train-images-idx3-ubyte.gz').unlink()
    (folder / 't10k-labels-idx1-ubyte.gz').unlink()
    good_before = snapshot(folder)
    empty, full = mirrors({}), mirrors(gz_files(sources['MNIST']))
    code, text = run_download(folder, [empty.url, full.url])
    assert code == 0, text
    assert empty.requests == ['/mnist/train-images-idx3-ubyte.gz',
                              '/mnist/t10k-labels-idx1-ubyte.gz']
    assert full.requests == empty.requests
    assert 'HTTP error 404' in text and 'All four files are fine.' in text
    for name, content in good_before.items():  # the good files were not touched
        assert snapshot(folder)[name] == content
    assert sorted(path.name for path in folder.iterdir()) == sorted(f'{name}.gz' for name in NAMES)


def test_download_stops_at_the_first_good_mirror(sources, tmp_path, mirrors):
    folder = copy_of(sources['MNIST'], tmp_path / 'data')
    (folder / 'train-labels-idx1-ubyte.gz').unlink()
    first, second = mirrors(gz_files(sources['MNIST'])), mirrors(gz_files(sources['MNIST']))
    assert run_download(folder, [first.url, second.url])[0] == 0
    assert first.requests == ['/mnist/train-labels-idx1-ubyte.gz'] and second.requests == []


@pytest.mark.parametrize('suffix', ['.gz', ''])
def test_download_replaces_a_corrupt_file_where_it_is(sources, tmp_path, mirrors, suffix):
    folder = copy_of(sources['MNIST'], tmp_path / 'data')
    for name in NAMES:  # raw files, for suffix ''
        gz = folder / f'{name}.gz'
        if not suffix:
            (folder / name).write_bytes(gzip.decompress(gz.read_bytes()))
            gz.unlink()
    corrupt = folder / f'train-images-idx3-ubyte{suffix}'
    corrupt.write_bytes(corrupt.read_bytes()[:50])
    code, text = run_download(folder, [mirrors(gz_files(sources['MNIST'])).url])
    assert code == 0, text
    expected = (sources['MNIST'] / 'train-images-idx3-ubyte.gz').read_bytes()
    assert corrupt.read_bytes() == (expected if suffix else gzip.decompress(expected))
    assert len(list(folder.iterdir())) == 4


def cut_connection(body):
    """A response that announces all of body but sends half of it, then closes."""
    def answer(handler):
        handler.send_response(200)
        handler.send_header('Content-Length', str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[:len(body) // 2])
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
    return answer


@pytest.mark.parametrize('bad_mirror, message', [
    ('404', 'HTTP error 404'),
    ('truncated file', 'not a whole gzip file'),
    ('cut connection', 'IncompleteRead'),
    ('wrong file', "not MNIST's original train-images-idx3-ubyte (its checksum differs)"),
    ('not gzip', 'not a whole gzip file'),
    ('too large', 'more than 4096 bytes'),
    ('never answers', 'could not connect or timed out'),
    ('refused', 'could not connect or timed out'),
])
@pytest.mark.parametrize('start', ['missing', 'corrupt'])
def test_a_failed_download_changes_nothing(sources, tmp_path, mirrors, silent_server, monkeypatch,
                                           bad_mirror, message, start):
    folder = copy_of(sources['MNIST'], tmp_path / 'data')
    target = folder / 'train-images-idx3-ubyte.gz'
    if start == 'missing':
        target.unlink()
    else:
        target.write_bytes(target.read_bytes()[:-20])
    before = snapshot(folder)
    good = (sources['MNIST'] / 'train-images-idx3-ubyte.gz').read_bytes()
    monkeypatch.setattr(data_tools, 'MAX_BYTES', 4096)
    served = {'404': None, 'truncated file': good[:len(good) // 2],
              'cut connection': cut_connection(good), 'not gzip': b'<html>moved</html>',
              'wrong file': (sources['Fashion-MNIST'] / 'train-images-idx3-ubyte.gz').read_bytes(),
              'too large': gzip.compress(os.urandom(5000))}
    if bad_mirror == 'never answers':
        url = silent_server
    elif bad_mirror == 'refused':
        url = closed_port_url()
    else:
        url = mirrors({'train-images-idx3-ubyte.gz': served[bad_mirror]}).url
    started = time.monotonic()
    code, text = run_download(folder, [url], timeout=1.0)
    elapsed = time.monotonic() - started
    assert code == 1
    assert message in text and url in text
    assert snapshot(folder) == before  # nothing replaced, nothing left behind
    assert 'copy the files by hand' in text and 'train-images.idx3-ubyte.gz' in text
    assert elapsed < 30  # a guard against hanging, not a speed check: the timeout is 1 s


def test_an_unreachable_mirror_is_not_tried_again_for_the_next_files(sources, tmp_path, mirrors,
                                                                     silent_server):
    folder = tmp_path / 'empty'
    good = mirrors(gz_files(sources['MNIST']))
    code, text = run_download(folder, [silent_server, good.url], timeout=1.0)
    assert code == 0, text
    assert text.count('could not connect or timed out') == 1
    assert len(good.requests) == 4


def test_no_mirror_reachable_fails_fast_and_says_what_to_do(sources, tmp_path, silent_server):
    code, text = run_download(tmp_path / 'empty', [silent_server, closed_port_url()],
                              timeout=1.0)
    assert code == 1
    assert text.count('could not connect or timed out') == 2  # each mirror once, then skipped
    assert text.count('not tried, as no mirror could be reached') == 3
    assert 'copy the files by hand' in text
    for name in NAMES:
        assert f'{name}.gz' in text and name.replace('-idx', '.idx') in text
    assert list((tmp_path / 'empty').iterdir()) == []


def test_an_interrupted_write_leaves_the_old_file(sources, tmp_path, mirrors, monkeypatch):
    folder = copy_of(sources['MNIST'], tmp_path / 'data')
    target = folder / 'train-labels-idx1-ubyte.gz'
    target.write_bytes(b'broken')
    before = snapshot(folder)

    def interrupted(source, destination):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, 'replace', interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_download(folder, [mirrors(gz_files(sources['MNIST'])).url])
    assert snapshot(folder) == before


def test_nothing_to_download_asks_no_mirror(sources, tmp_path, mirrors):
    mirror = mirrors(gz_files(sources['MNIST']))
    code, text = run_download(copy_of(sources['MNIST'], tmp_path / 'data'), [mirror.url])
    assert code == 0 and 'Nothing to download' in text and mirror.requests == []


def test_download_does_not_mix_another_data_set_with_mnist(sources, tmp_path, mirrors):
    folder = copy_of(sources['Fashion-MNIST'], tmp_path / 'fashion copy')
    (folder / 't10k-labels-idx1-ubyte.gz').unlink()
    before = snapshot(folder)
    mirror = mirrors(gz_files(sources['MNIST']))
    code, text = run_download(folder, [mirror.url])
    assert code == 1 and 'would mix two data sets' in text
    assert mirror.requests == [] and snapshot(folder) == before


def test_download_of_the_real_files_with_the_real_checksums(tmp_path, mirrors):
    """The kit's own .gz files, served locally, pass the real MNIST checksums."""
    mirror = mirrors(gz_files(KIT / 'data'))
    code, text = run_download(tmp_path / 'data', [mirror.url])
    assert code == 0, text
    assert gz_files(tmp_path / 'data') == gz_files(KIT / 'data')


def test_a_folder_can_be_a_mirror(sources, tmp_path):
    folder = copy_of(sources['MNIST'], tmp_path / 'data')
    (folder / 't10k-images-idx3-ubyte.gz').unlink()
    (folder / 't10k-labels-idx1-ubyte.gz').unlink()
    partial = copy_of(sources['MNIST'], tmp_path / 'partial mirror')
    (partial / 't10k-images-idx3-ubyte.gz').unlink()
    code, text = run_download(folder, [partial.as_uri() + '/', sources['MNIST'].as_uri()])
    assert code == 0, text
    assert 't10k-images-idx3-ubyte.gz: no such file' in text
    assert text.count('restored from file://') == 2
    assert gz_files(folder) == gz_files(sources['MNIST'])


# --- the commands ----------------------------------------------------------------------------

def run_command(*args):
    return subprocess.run([sys.executable, 'dataloader.py', *args], capture_output=True,
                          text=True, cwd=KIT, timeout=120)


def test_verify_command_exit_status(tmp_path):
    write_dataset(tmp_path / 'own', n_train=30, n_test=9)
    assert run_command('verify', '--data-root', str(tmp_path / 'own')).returncode == 0
    (tmp_path / 'own' / 't10k-images-idx3-ubyte.gz').unlink()
    result = run_command('verify', '--data-root', str(tmp_path / 'own'))
    assert result.returncode == 1
    assert re.search(r't10k-images-idx3-ubyte +missing', result.stdout)


def test_download_command_without_network(tmp_path):
    result = run_command('download', '--data-root', str(tmp_path / 'data'),
                         '--mirror', closed_port_url(), '--timeout', '1')
    assert result.returncode == 1
    assert 'could not connect or timed out' in result.stdout
    assert 'copy the files by hand' in result.stdout


def test_commands_need_a_known_command():
    result = run_command('check')
    assert result.returncode == 2 and "invalid choice: 'check'" in result.stderr


@pytest.mark.parametrize('folder_name', ['own', 'my data'])
def test_the_command_the_messages_give_runs_as_written(tmp_path, folder_name):
    """The messages spell the command with kit.idx.data_command: that spelling works, spaces in
    the folder's name too."""
    folder = tmp_path / folder_name
    write_dataset(folder, n_train=30, n_test=9)
    command = idx.data_command('verify', folder)
    assert command.startswith('python dataloader.py verify --data-root ')
    lines = []
    assert data_tools.main(shlex.split(command)[2:]) == 0
    (folder / 't10k-labels-idx1-ubyte.gz').unlink()
    assert data_tools.verify(folder, log=lines.append) == 1
    assert command in '\n'.join(lines)
