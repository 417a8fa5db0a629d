"""IDX files: find them, read them (raw or gzip-compressed) safely, recognise known data sets.

The IDX format (http://yann.lecun.com/exdb/mnist/, now offline) is a big-endian header, a magic
number then one uint32 per dimension, followed by the unsigned bytes of the array.

No file, however broken or hostile, makes the reader hang or use more memory than the array its
header describes. A file is opened once, without blocking, and checked on that descriptor (a
regular file, not a pipe; its size). Its header is read first and checked against that size, and
against MAX_IDX_BYTES, before the rest is read. A .gz file is inflated in a stream that stops one
byte past the size the header gives, whatever its gzip trailer claims.
"""
import contextlib
import functools
import hashlib
import math
import os
import stat
import sys
import zlib
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (count, rows, cols)
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (count)

# sha256 of the decompressed bytes of the original MNIST files (data/README.md lists them too).
MNIST_SHA256 = {
    'train-images-idx3-ubyte': 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    'train-labels-idx1-ubyte': '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
    't10k-images-idx3-ubyte': '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    't10k-labels-idx1-ubyte': 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
}
# The same for Fashion-MNIST (Zalando Research), another data set in the same four files.
FASHION_MNIST_SHA256 = {
    'train-images-idx3-ubyte': 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    'train-labels-idx1-ubyte': 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    't10k-images-idx3-ubyte': '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    't10k-labels-idx1-ubyte': '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
}
# Data sets recognised by their files' checksums, with the names of their classes.
KNOWN_DATA_SETS = {
    'MNIST': {'sha256': MNIST_SHA256, 'class_names': [str(digit) for digit in range(10)]},
    'Fashion-MNIST': {'sha256': FASHION_MNIST_SHA256, 'class_names': [
        'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker',
        'Bag', 'Ankle boot']},
}
DATA_ROOT = Path(__file__).resolve().parent.parent / 'data'  # the kit's own copy of MNIST
DATA_TOOL = 'dataloader.py'  # the script that runs the verify and download commands
DATA_ROOT_FLAG = '--data-root'  # their option naming the data folder

# No IDX file the kit reads is larger (MNIST's largest holds 47 MB, EMNIST's 0.55 GB): a larger
# header is a damaged or hostile file, and its data would not fit in memory as float32 anyway.
MAX_IDX_BYTES = 2 ** 30
MAX_DEFLATE_RATIO = 1032  # deflate never gives more than 1032 bytes out per byte in
CACHED_GZ_BYTES = 64 * 2 ** 20  # .gz files up to this size are remembered (inflate_cached)
CHUNK = 2 ** 16  # bytes read or inflated at a time (256 KiB and more loaded MNIST 5-10% slower)


def data_command(action, data_root=None):
    """The command line of the data tool, e.g. "python dataloader.py verify --data-root data"."""
    command = f'python {DATA_TOOL} {action}'
    if data_root is None:
        return command
    root = str(data_root)
    return f'{command} {DATA_ROOT_FLAG} ' + (f'"{root}"' if ' ' in root else root)


def candidate_names(name):
    """The file names accepted for `name`, in the order they are looked for: both spellings
    seen in the wild ('train-images-idx3-ubyte', 'train-images.idx3-ubyte'), raw, then .gz."""
    dotted = name.replace('-idx', '.idx')
    return [name, dotted, name + '.gz', dotted + '.gz']


def find_idx_file(data_root, name):
    """Path of the IDX file `name` (e.g. 'train-images-idx3-ubyte') in data_root.

    Accepts the names candidate_names(name) gives, raw or gzip-compressed; a raw file wins
    over its .gz.
    """
    candidates = candidate_names(name)
    for candidate in candidates:
        path = Path(data_root) / candidate
        if path.exists():
            return path
    raise FileNotFoundError(
        f"No {name} file in '{data_root}': looked for {', '.join(candidates)}. "
        f"The kit ships the four MNIST files in its data/ folder; restore them with "
        f"'git checkout -- data' or '{data_command('download', data_root)}', "
        f"or copy the files (raw or .gz) into '{data_root}'.")


# --- reading --------------------------------------------------------------------------------

def read_idx(path, magic):
    """Read an IDX file of unsigned bytes, raw or gzip-compressed, and check it.

    Returns a read-only uint8 array whose shape is the one the header gives, e.g.
    (60000, 28, 28) for training images (magic 2051) or (60000,) for labels (magic 2049).
    Raises ValueError naming the file if it is corrupt, truncated, too large or of the wrong
    kind (or not a file at all), PermissionError if it cannot be read.
    """
    path = Path(path)
    with open_regular_file(path) as file:
        size = os.fstat(file.fileno()).st_size
        if not is_gzip(path, file.peek(2)[:2]):
            return read_array(path, file, magic, size, compressed=False)
        if size <= CACHED_GZ_BYTES:
            return inflate_cached(file.read(size), magic, path)
        return read_array(path, GzipStream(chunks_of(file)), magic, size, compressed=True)


def read_header(path, magic):
    """The shape the header of the IDX file at path gives, checked as read_idx checks it, without
    reading (or inflating) the rest of the file."""
    path = Path(path)
    with open_regular_file(path) as file:
        size = os.fstat(file.fileno()).st_size
        compressed = is_gzip(path, file.peek(2)[:2])
        source = GzipStream(chunks_of(file)) if compressed else file
        with gzip_errors(path):
            return read_checked_header(path, source, magic, size, compressed)


@functools.lru_cache(maxsize=2)
def inflate_cached(compressed, magic, path):
    """read_array of a .gz file's bytes, remembered by content: the train and val splits read the
    same training files, which are inflated once."""
    view = memoryview(compressed)
    chunks = (view[start:start + CHUNK] for start in range(0, len(view), CHUNK))
    return read_array(path, GzipStream(chunks), magic, len(compressed), compressed=True)


def read_array(path, source, magic, size, compressed):
    """The checked array of the IDX file at path, read from source (the open file, or a
    GzipStream of it), whose size on disk is `size`."""
    with gzip_errors(path):
        shape = read_checked_header(path, source, magic, size, compressed)
        array = np.empty(shape, dtype=np.uint8)
        read = source.readinto(memoryview(array).cast('B'))
        more = read == array.size and source.readinto(bytearray(1)) > 0  # one byte past the end
    expected = header_size(magic) + array.size
    if read < array.size or more:
        found = (f'only {header_size(magic) + read}: it is truncated' if read < array.size
                 else 'more: it is followed by extra bytes')
        raise ValueError(f"{path}: the header gives dimensions {shape}, {expected} bytes in "
                         f"all, but the file holds {found}; copy it again")
    array.flags.writeable = False
    return array


def read_checked_header(path, source, magic, size, compressed):
    """Read the header from source and return the shape it gives, once it is known to be an IDX
    header of this magic that fits a file of `size` bytes on disk (raw, or compressed) and
    MAX_IDX_BYTES."""
    head = bytearray(header_size(magic))
    read = source.readinto(head)
    if read < len(head):
        raise ValueError(f"{path}: {read} bytes is too short for an IDX header ({len(head)} "
                         f"bytes); the file is truncated or empty")
    found_magic = int.from_bytes(head[:4], 'big')
    if found_magic != magic:
        kind = {IMAGES_MAGIC: 'an image', LABELS_MAGIC: 'a label'}[magic]
        raise ValueError(f"{path}: magic number {found_magic}, expected {magic} for {kind} file; "
                         f"is it the right file, and decompressed correctly?")
    shape = tuple(int.from_bytes(head[start:start + 4], 'big')
                  for start in range(4, len(head), 4))
    if 0 in shape:
        raise ValueError(f"{path}: the header gives dimensions {shape}; none may be zero")
    expected = len(head) + math.prod(shape)
    claim = f"{path}: the header gives dimensions {shape}, {expected} bytes in all"
    if not compressed and size != expected:
        problem = 'truncated' if size < expected else 'followed by extra bytes'
        raise ValueError(f"{claim}, but the file has {size}: it is {problem}; copy it again")
    if compressed and expected > MAX_DEFLATE_RATIO * size:
        raise ValueError(f"{claim}, more than its {size} compressed bytes can hold: it is "
                         f"truncated or damaged; copy it again")
    if expected > MAX_IDX_BYTES:
        raise ValueError(f"{claim}, more than the {MAX_IDX_BYTES} bytes the kit reads from one "
                         f"file: it is damaged, or a data set too large to hold in memory")
    return shape


def chunks_of(file):
    """The bytes of an open file, CHUNK bytes at a time."""
    return iter(lambda: file.read(CHUNK), b'')


def header_size(magic):
    """Bytes in the header of an IDX file of this magic: the magic, then 4 per dimension."""
    return 4 + 4 * (magic & 0xFF)


def is_gzip(path, start):
    """Whether a file is gzip-compressed, from its first two bytes (and its name): browsers save
    some downloads decompressed but still named .gz, and people drop the .gz from names. An IDX
    file starts with two zero bytes, a gzip file with 1f 8b."""
    return start == b'\x1f\x8b' or (path.suffix == '.gz' and start != b'\0\0')


@contextlib.contextmanager
def gzip_errors(path):
    """A context in which the errors of damaged gzip data become a ValueError naming the file."""
    try:
        yield
    except (zlib.error, EOFError) as err:
        raise ValueError(f"{path}: not a readable gzip file ({err}): it is damaged, or the "
                         f"download or copy was cut short; copy the file again") from None


def open_regular_file(path):
    """The file at path, open for reading in binary, once it is known to be a regular file.

    It is opened without blocking and checked on the open descriptor, so a pipe or a device put
    in its place (even between an earlier check and this call) cannot make the read block.
    """
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_BINARY', 0)
    try:
        descriptor = os.open(path, flags)
    except PermissionError:
        if path.is_dir():  # Windows does not open folders
            raise ValueError(folder_message(path)) from None
        raise PermissionError(f"{path}: no permission to read it; "
                              f"{permission_advice(path)}") from None
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file (moved or deleted?); copy it "
                                f"again") from None
    except OSError as err:  # a socket, say
        raise ValueError(f"{path} cannot be opened ({err.strerror}); copy the real file "
                         f"here") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise ValueError(folder_message(path) if stat.S_ISDIR(mode) else
                         f"{path} is not a regular file (a pipe or a device); copy the real "
                         f"file here")
    return os.fdopen(descriptor, 'rb')


def folder_message(path):
    return (f"{path} is a folder, not a file; if an unzip tool made it, move the file inside it "
            f"up into '{path.parent}' under the name '{path.name}'")


def permission_advice(path, platform=sys.platform):
    """What to do about a file one may not read, in the words of the system it runs on."""
    if platform == 'win32':
        return ("check the file's permissions in its Properties (Security tab), or copy the "
                "file again")
    return f"give yourself read access (chmod u+r '{path}') or copy the file again"


class GzipStream:
    """The bytes that gzip data inflates to, read a piece at a time: nothing is inflated beyond
    what is asked for, so a file that inflates to gigabytes is stopped early.

    chunks: an iterable of the compressed bytes, in pieces. As gzip does, several gzip members
    in a row (what `cat a.gz b.gz` makes) read as one, and zero bytes after a member are ignored.
    zlib checks each member's CRC and length; damaged data raises zlib.error, data cut short
    EOFError.
    """

    def __init__(self, chunks):
        self.chunks = iter(chunks)
        self.pending = b''  # compressed bytes not yet given to zlib
        self.inflater = None  # the current member's zlib.decompressobj; None between members

    def readinto(self, buffer):
        """Inflate into buffer (bytes-like, writable) until it is full or the data ends; returns
        the number of bytes written."""
        view = memoryview(buffer).cast('B')
        filled = 0
        while filled < len(view):
            if not self.pending:
                self.pending = next(self.chunks, b'')
                if not self.pending:
                    if self.inflater is not None:
                        raise EOFError('it ends before the end of its gzip data')
                    break
            if self.inflater is None:  # zero padding, or the next member
                self.pending = bytes(self.pending).lstrip(b'\0')
                if not self.pending:
                    continue
                self.inflater = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer
            piece = self.inflater.decompress(self.pending, min(len(view) - filled, CHUNK))
            view[filled:filled + len(piece)] = piece
            filled += len(piece)
            if self.inflater.eof:
                self.pending, self.inflater = self.inflater.unused_data, None
            else:
                self.pending = self.inflater.unconsumed_tail
        return filled


# --- checking a pair of files, and recognising them -------------------------------------------

def read_images_and_labels(images_path, labels_path, same_size_as=None):
    """Images (N, rows, cols) and labels (N,) as uint8, from a pair of IDX files.

    The files are checked against each other from their headers before either is read: as many
    images as labels, and, when same_size_as (the path of another images file: the training
    images) is given, images of its size. ValueError naming both files otherwise.
    """
    images_shape = read_header(images_path, IMAGES_MAGIC)
    labels_shape = read_header(labels_path, LABELS_MAGIC)
    check_counts(images_path, images_shape[0], labels_path, labels_shape[0])
    if same_size_as is not None:
        other_shape = read_header(same_size_as, IMAGES_MAGIC)
        if other_shape[1:] != images_shape[1:]:
            raise ValueError(
                f"{images_path} holds images of {'x'.join(map(str, images_shape[1:]))} but "
                f"{same_size_as} holds images of {'x'.join(map(str, other_shape[1:]))}: the "
                f"model takes the training images' size, so the test images must have it too; "
                f"are they from the same data set?")
    labels = read_idx(labels_path, LABELS_MAGIC)
    images = read_idx(images_path, IMAGES_MAGIC)
    check_counts(images_path, len(images), labels_path, len(labels))  # if either changed since
    return images, labels


def check_counts(images_path, num_images, labels_path, num_labels):
    if num_images != num_labels:
        raise ValueError(f"{images_path} holds {num_images} images but {labels_path} holds "
                         f"{num_labels} labels; they must come from the same data set")


def idx_sha256(array, magic):
    """sha256 of the IDX file that read_idx read `array` from (of its decompressed bytes)."""
    header = magic.to_bytes(4, 'big') + b''.join(d.to_bytes(4, 'big') for d in array.shape)
    digest = hashlib.sha256(header)
    digest.update(np.ascontiguousarray(array))
    return digest.hexdigest()


def recognise(sha256):
    """(data set, file name) of the known file with this sha256, e.g. ('MNIST',
    't10k-labels-idx1-ubyte'); None for a file of no known data set."""
    for data_set, known in KNOWN_DATA_SETS.items():
        for name, digest in known['sha256'].items():
            if digest == sha256:
                return data_set, name
    return None


def known_data_set(labels, labels_name, labels_path):
    """The known data set ('MNIST', ...) whose file `labels_name` holds exactly these labels, or
    None. A known data set's other labels file under this name (the test labels copied as the
    training labels, say) is a ValueError: it would train or test on the wrong images."""
    found = recognise(idx_sha256(labels, LABELS_MAGIC))
    if found is None:
        return None
    data_set, name = found
    if name != labels_name:
        raise ValueError(f"{labels_path} holds {data_set}'s {name}, not its {labels_name}: a "
                         f"file was renamed or copied under the wrong name; run "
                         f"'{data_command('verify', Path(labels_path).parent)}' to check them all")
    return data_set


def class_names(data_set, num_classes):
    """A name for each of num_classes classes: the known data set's names when they fit
    ('0'..'9' for MNIST, 'T-shirt/top', 'Trouser', ... for Fashion-MNIST), else '0', '1', ..."""
    names = KNOWN_DATA_SETS[data_set]['class_names'] if data_set else []
    if len(names) == num_classes:
        return list(names)
    return [str(label) for label in range(num_classes)]
