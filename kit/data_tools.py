"""Check the four data files, and restore missing or corrupt ones from public mirrors.

    python dataloader.py verify [--data-root DIR]     # each file: ok, missing, corrupt, unknown...
    python dataloader.py download [--data-root DIR]   # fetch the missing and corrupt MNIST files

verify reads every file the loader would read and compares the sha256 of its decompressed bytes
with the known ones (kit.idx.KNOWN_DATA_SETS). download fetches each missing or corrupt file
from the mirrors in turn, checks it, and only then renames it into place: a failed or cut
download leaves nothing behind, and files that are fine are never touched.
"""
import argparse
import gzip
import hashlib
import http.client
import io
import os
import secrets
import socket
import urllib.error
import urllib.request
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kit import idx
from kit.idx import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    candidate_names,
    data_command,
    find_idx_file,
    idx_sha256,
    read_idx,
)

REFERENCE = 'MNIST'  # the data set the kit is for: 'ok' means this data set's original file
# Public mirrors of the historic MNIST .gz files, tried in this order.
MIRRORS = ['https://ossci-datasets.s3.amazonaws.com/mnist/',
           'https://storage.googleapis.com/cvdf-datasets/mnist/']
TIMEOUT = 10  # seconds to wait for a mirror to connect, and then for each piece of a download
MAX_BYTES = 64 * 2 ** 20  # no MNIST file is larger, compressed or not (the largest is 47 MB)
PROBLEMS = ('missing', 'corrupt', 'unreadable')


@dataclass
class FileReport:
    """What verify found for one of the four files."""
    name: str                # e.g. 'train-images-idx3-ubyte'
    path: Path = None        # the file the loader reads; None when missing
    status: str = 'unknown'  # 'ok', 'unknown', 'missing', 'corrupt' or 'unreadable'
    detail: str = ''         # one sentence for people
    shape: tuple = ()        # the header's dimensions, when the file reads
    known_as: tuple = None   # (data set, file name) whose checksum the file has


def file_names():
    """The four files, in the order they are reported: train images, train labels, test..."""
    return list(idx.KNOWN_DATA_SETS[REFERENCE]['sha256'])


def accepted_names():
    """One line per file: the names the loader accepts for it."""
    return '\n'.join('  ' + ', '.join(candidate_names(name)) for name in file_names())


def read_report(data_root, name):
    """A FileReport for one file, before the files are compared with one another."""
    try:
        path = find_idx_file(data_root, name)
    except FileNotFoundError:
        return FileReport(name, status='missing', detail='no file under any accepted name')
    magic = IMAGES_MAGIC if '-images-' in name else LABELS_MAGIC
    try:
        array = read_idx(path, magic)
    except PermissionError as err:
        return FileReport(name, path, 'unreadable', without_path(err, path))
    except (ValueError, OSError) as err:
        return FileReport(name, path, 'corrupt', without_path(err, path))
    return FileReport(name, path, 'unknown', shape=array.shape,
                      known_as=idx.recognise(idx_sha256(array, magic)))


def without_path(error, path):
    """The message of error without the "path: " it starts with, if it does."""
    message, prefix = str(error), f'{path}: '
    return message[len(prefix):] if message.startswith(prefix) else message


def describe(shape):
    """'60000 images of 28x28' or '60000 labels'."""
    if len(shape) == 1:
        return f'{shape[0]} labels'
    return f"{shape[0]} images of {'x'.join(map(str, shape[1:]))}"


def judge(reports):
    """Set each readable file's status from its checksum and from the other files.

    The folder's data set is the known data set most of its files belong to. A file is fine
    (ok for MNIST, unknown for another data set) when it is that data set's file of that name;
    any other readable file is corrupt: renamed, from another data set, damaged, or holding
    a count of images or labels its partner does not. When no file is recognised, the files
    are someone's own data: unknown, and fine if their counts agree.
    """
    readable = [report for report in reports if report.status == 'unknown']
    found = Counter(report.known_as[0] for report in readable if report.known_as)
    data_set = found.most_common(1)[0][0] if found else None
    by_name = {report.name: report for report in reports}
    for images_name, labels_name in (file_names()[0:2], file_names()[2:4]):
        images, labels = by_name[images_name], by_name[labels_name]
        if images.shape and labels.shape and images.shape[0] != labels.shape[0]:
            for report in (images, labels):
                if report.known_as is None:  # a known file is the right count, or says why not
                    report.status = 'corrupt'
                    report.detail = (f'{describe(images.shape)} in {images.name} but '
                                     f'{describe(labels.shape)} in {labels.name}: the counts '
                                     f'must agree')
    for report in readable:
        if report.status == 'corrupt':
            continue
        if data_set is None:
            report.detail = (f'{describe(report.shape)}, not from a data set the kit knows: '
                             f'fine if it is your own data')
        elif report.known_as == (data_set, report.name):
            report.status = 'ok' if data_set == REFERENCE else 'unknown'
            report.detail = f"{data_set}'s original, {describe(report.shape)}"
            if data_set != REFERENCE:
                report.detail += ' (not MNIST, which is fine)'
        elif report.known_as is None:
            report.status = 'corrupt'
            report.detail = (f"{describe(report.shape)}, but not {data_set}'s original (its "
                             f"checksum differs) while the other files are {data_set}'s: it was "
                             f"changed or damaged")
        elif report.known_as[0] == data_set:
            report.status = 'corrupt'
            report.detail = (f"this is {data_set}'s {report.known_as[1]}, not its {report.name}: "
                             f"renamed or copied by mistake?")
        else:
            report.status = 'corrupt'
            report.detail = (f"this is {report.known_as[0]}'s {report.known_as[1]}, while the "
                             f"other files are {data_set}'s: two data sets are mixed")
    return reports


def check_folder(data_root):
    """A FileReport for each of the four files of data_root."""
    return judge([read_report(data_root, name) for name in file_names()])


def print_reports(data_root, reports, log=print):
    log(f"Data files in '{data_root}':")
    width = max(len(report.path.name if report.path else report.name) for report in reports)
    for report in reports:
        shown = report.path.name if report.path else report.name
        log(f'  {shown:<{width}}  {report.status:<10}  {report.detail}')


def verify(data_root, log=print):
    """Check data_root's files and print one line per file; 0 if all are fine, else 1."""
    if not Path(data_root).is_dir():
        log(f"'{data_root}' is not a folder. Point {idx.DATA_ROOT_FLAG} at the folder holding "
            f"the four files, or run '{data_command('download', data_root)}'.")
        return 1
    reports = check_folder(data_root)
    print_reports(data_root, reports, log)
    problems = [report for report in reports if report.status in PROBLEMS]
    if not problems:
        others = {report.known_as[0] for report in reports if report.known_as} - {REFERENCE}
        log('All four files are fine' + (f' ({", ".join(sorted(others))}, not MNIST).'
                                         if others else '.'))
        return 0
    log(f'{len(problems)} of the four files {"is" if len(problems) == 1 else "are"} missing, '
        f'corrupt or unreadable. To fix it:')
    log(how_to_fix(data_root))
    return 1


def how_to_fix(data_root, download_too=True):
    """What to do about missing or corrupt files, in a few lines."""
    ways = [f"- run '{data_command('download', data_root)}' to fetch MNIST's files from "
            f"public mirrors (it needs a network);"] if download_too else []
    ways += ["- in a clone of the kit, 'git checkout -- data' restores the files it ships;",
             f"- or copy the files by hand into '{data_root}', raw or .gz, under one of these "
             f"names each:\n{accepted_names()}",
             f"Then check them with '{data_command('verify', data_root)}'."]
    return '\n'.join(ways)


def fetch(url, timeout):
    """The body of url (at most MAX_BYTES). Raises OSError (urllib.error.URLError, HTTPError,
    TimeoutError), http.client.HTTPException (a cut connection) or ValueError (too large)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data = response.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValueError(f'more than {MAX_BYTES} bytes: not an MNIST file')
        missing = getattr(response, 'length', None)  # bytes announced but never sent (HTTP)
        if missing:
            raise http.client.IncompleteRead(data, missing)
    return data


def decompress(data):
    """The decompressed bytes of a downloaded .gz file; ValueError if it is not a whole one."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as file:
            raw = file.read(MAX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f'not a whole gzip file ({err})') from None
    if len(raw) > MAX_BYTES:
        raise ValueError(f'more than {MAX_BYTES} bytes decompressed: not an MNIST file')
    return raw


def write_atomically(path, data):
    """Write data to path through a temporary file in the same folder, renamed into place once
    complete: path holds its old content or all of data, never a part."""
    temp = path.with_name(f'.{path.name}.{secrets.token_hex(4)}.part')
    try:
        with open(temp, 'xb') as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def failure(err):
    """(what went wrong, whether the mirror could not be reached) for an error of a download."""
    if isinstance(err, urllib.error.HTTPError):
        return f'HTTP error {err.code} {err.reason}', False
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, FileNotFoundError):
        return 'no such file', False  # a file:// mirror without this file
    # socket.timeout: a mirror that never answers, before Python 3.10 (where it is TimeoutError)
    if isinstance(err, (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError)):
        reason = err.reason if isinstance(err, urllib.error.URLError) else err
        return f'could not connect or timed out ({reason})', True
    return f'the download failed ({type(err).__name__}: {err})', False


def restore(report, data_root, mirrors, timeout, unreachable, log):
    """Fetch report's file from the first mirror that has the right one, and put it in place.

    A missing file is saved as data_root/<name>.gz; a corrupt one is replaced where it is, raw or
    .gz as it was. Mirrors that could not be reached are added to `unreachable` and skipped.
    Returns True if the file was restored.
    """
    target = report.path if report.path is not None else Path(data_root) / (report.name + '.gz')
    if target.is_dir():
        log(f'  {target} is a folder: move it out of the way, then download again')
        return False
    expected = idx.KNOWN_DATA_SETS[REFERENCE]['sha256'][report.name]
    reachable = [mirror for mirror in mirrors if mirror not in unreachable]
    if not reachable:
        log(f'  {report.name}: not tried, as no mirror could be reached')
        return False
    log(f'  {report.name}:')
    for mirror in reachable:
        url = mirror.rstrip('/') + '/' + report.name + '.gz'
        try:
            compressed = fetch(url, timeout)
            raw = decompress(compressed)
        except (OSError, http.client.HTTPException, ValueError) as err:
            problem, unreached = failure(err)
            log(f'    {url}: {problem}')
            if unreached:
                unreachable.add(mirror)
            continue
        if hashlib.sha256(raw).hexdigest() != expected:
            log(f"    {url}: not MNIST's original {report.name} (its checksum differs); not saved")
            continue
        write_atomically(target, compressed if target.suffix == '.gz' else raw)
        log(f'    restored from {url} as {target.name}')
        return True
    log('    could not be restored from any mirror; nothing was changed for it')
    return False


def download(data_root, mirrors=MIRRORS, timeout=TIMEOUT, log=print):
    """Restore data_root's missing and corrupt MNIST files from the mirrors, then verify the
    folder; 0 if all four files are fine at the end, else 1."""
    data_root = Path(data_root)
    data_root.mkdir(parents=True, exist_ok=True)
    reports = check_folder(data_root)
    broken = [report for report in reports if report.status in ('missing', 'corrupt')]
    others = [report for report in reports if report.status == 'unknown']
    if not broken:
        log('Nothing to download.')
        return verify(data_root, log)
    if others:
        print_reports(data_root, reports, log)
        log(f"Not downloading: the folder holds files that are not MNIST's "
            f"({', '.join(report.path.name for report in others)}), and adding MNIST files "
            f"beside them would mix two data sets. Restore those files from where they came "
            f"from, or download into an empty folder with {idx.DATA_ROOT_FLAG}.")
        return 1
    log(f"Downloading {', '.join(report.name for report in broken)} into '{data_root}':")
    unreachable = set()
    restored = [restore(report, data_root, mirrors, timeout, unreachable, log)
                for report in broken]
    if not all(restored):
        log('Without a network (or if the mirrors have moved), get the files another way:')
        log(how_to_fix(data_root, download_too=False))
        return 1
    return verify(data_root, log)


def main(argv=None):
    parser = argparse.ArgumentParser(prog=idx.DATA_TOOL, description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest='command', required=True)
    verify_parser = commands.add_parser('verify', help='check each file: ok, missing, corrupt or '
                                                       'unknown (another data set, fine)')
    download_parser = commands.add_parser('download', help='restore missing and corrupt files '
                                                           'from public mirrors')
    for command in (verify_parser, download_parser):
        command.add_argument(idx.DATA_ROOT_FLAG, dest='data_root', default=str(idx.DATA_ROOT),
                             help="folder of the four files (default: the kit's data/)")
    download_parser.add_argument('--mirror', action='append', dest='mirrors', metavar='URL',
                                 help='a mirror to try instead of the public ones (repeat it for '
                                      'more): a folder URL holding the four .gz files')
    download_parser.add_argument('--timeout', type=float, default=TIMEOUT,
                                 help=f'seconds to wait for a mirror (default: {TIMEOUT})')
    args = parser.parse_args(argv)
    if args.command == 'verify':
        return verify(args.data_root)
    return download(args.data_root, args.mirrors or MIRRORS, args.timeout)
