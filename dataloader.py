"""MNIST data: read the IDX files, prepare a split, and serve it in batches.

    dataset = Dataset('data', 'train')             # images (55000, 784), labels (55000,)
    loader = build_dataloader('data', max_epoch=10, batch_size=100, shuffle=True, seed=0)
    for images, labels in loader:                  # one epoch: (100, 784), (100,)
        ...
    Dataset('data', 'train', classes=[0, 1], limit=1000)  # digits 0 and 1 only, as labels 0 and 1;
                                                   # the first 1000 such training images

    python dataloader.py verify [--data-root DIR]    # is every file there and the original?
    python dataloader.py download [--data-root DIR]  # restore missing or corrupt files

The IDX format (http://yann.lecun.com/exdb/mnist/, now offline) is a big-endian header, a magic
number then one uint32 per dimension, followed by the unsigned bytes of the array.
"""
import functools
import gzip
import hashlib
import math
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
DATA_ROOT = Path(__file__).resolve().parent / 'data'  # the kit's own copy of MNIST

# Which file each split reads. 'train' and 'val' both come from the training file, so building
# either of them never opens the t10k (test) files.
SPLIT_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'val': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}


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
        f"'git checkout -- data' or 'python dataloader.py download --data-root {data_root}', "
        f"or copy the files (raw or .gz) into '{data_root}'.")


def read_idx(path, magic):
    """Read an IDX file of unsigned bytes, raw or gzip-compressed, and check it.

    Returns a read-only uint8 array whose shape is the one the header gives, e.g.
    (60000, 28, 28) for training images (magic 2051) or (60000,) for labels (magic 2049).
    Raises ValueError naming the file if it is corrupt, truncated or of the wrong kind (or not
    a file at all), PermissionError if it cannot be read. The header is checked against the
    file's size before any array is made, so a header that claims billions of images fails at once.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a file; if an unzip tool made it, move the file "
                         f"inside it up into '{path.parent}' under the name '{path.name}'")
    if path.exists() and not path.is_file():  # a pipe or a device would never end, or block
        raise ValueError(f"{path} is not a regular file; copy the real file here")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise PermissionError(f"{path}: no permission to read it; give yourself read access "
                              f"(chmod u+r '{path}') or copy the file again") from None
    # gzip by content, not only by name: browsers save some downloads decompressed but still
    # named .gz, and people drop the .gz from names. An IDX file starts with two zero bytes.
    if data[:2] == b'\x1f\x8b' or (path.suffix == '.gz' and data[:2] != b'\0\0'):
        try:
            data = gunzip(data)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: not a readable gzip file ({err}); the download or copy "
                             f"was probably cut short: copy the file again") from None

    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(f"{path}: {len(data)} bytes is too short for an IDX header "
                         f"({header_size} bytes); the file is truncated or empty")
    found_magic = int.from_bytes(data[:4], 'big')
    if found_magic != magic:
        kind = {IMAGES_MAGIC: 'an image', LABELS_MAGIC: 'a label'}[magic]
        raise ValueError(f"{path}: magic number {found_magic}, expected {magic} for {kind} file; "
                         f"is it the right file, and decompressed correctly?")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim))
    if 0 in shape:
        raise ValueError(f"{path}: the header gives dimensions {shape}; none may be zero")
    expected = header_size + math.prod(shape)
    if len(data) != expected:
        problem = 'truncated' if len(data) < expected else 'followed by extra bytes'
        raise ValueError(f"{path}: the header gives dimensions {shape}, {expected} bytes in "
                         f"all, but the file has {len(data)}: it is {problem}; copy it again")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


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


@functools.lru_cache(maxsize=2)
def gunzip(compressed):
    """gzip.decompress, remembered by content: the train and val splits read the same file.

    zlib (wbits=31: a gzip header, and a trailer it checks) is told the size the gzip trailer
    gives, so it inflates straight into one buffer of that size: faster than gzip.decompress,
    which grows its buffer and checks the CRC in a second pass. A file that does not inflate to
    that size (several gzip members, bytes after the end) is left to gzip.decompress, as is one
    whose trailer claims more than deflate can give (1032 bytes out per byte in): a truncated
    file, whose last four bytes are not a size at all.
    """
    size = int.from_bytes(compressed[-4:], 'little')
    if not 0 < size <= 1032 * len(compressed):
        return gzip.decompress(compressed)
    data = zlib.decompress(compressed, wbits=31, bufsize=size)
    return data if len(data) == size else gzip.decompress(compressed)


def load_idx_pair(data_root, mode, num_classes):
    """Images (N, rows, cols) and labels (N,) as uint8, from the files that `mode` reads."""
    images_path = find_idx_file(data_root, SPLIT_FILES[mode][0])
    labels_path = find_idx_file(data_root, SPLIT_FILES[mode][1])
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                         f"{len(labels)} labels; they must come from the same data set")
    if labels.max() >= num_classes:
        raise ValueError(f"{labels_path}: label {labels.max()} is out of range for "
                         f"num_classes={num_classes} (labels must be 0..{num_classes - 1})")
    return images, labels


def prepare_images(images):
    """uint8 (N, rows, cols) -> float32 (N, rows*cols), scaled to [0, 1], minus each image's mean.

    Each image is centred on its own mean, so no statistic of one split leaks into another.
    """
    flat = images.reshape(len(images), -1) * np.float32(1 / 255)  # one pass: uint8 in, float32 out
    flat -= flat.mean(axis=1, keepdims=True)
    return flat


def check_classes(classes, num_classes):
    """ValueError unless classes is None or a list of distinct labels below num_classes."""
    if classes is None:
        return
    if not (isinstance(classes, (list, tuple)) and len(classes) >= 1
            and all(isinstance(label, (int, np.integer)) and not isinstance(label, bool)
                    and 0 <= label < num_classes for label in classes)
            and len(set(classes)) == len(classes)):
        raise ValueError(f"classes={classes!r}: must be None or a list of distinct labels in "
                         f"0..{num_classes - 1}, e.g. [0, 1]")


def select_classes(images, labels, classes, num_classes, mode):
    """The images (N', rows, cols) whose label is in classes, and their labels (N',), with label
    classes[i] renumbered i."""
    keep = np.isin(labels, classes)
    new_label = np.zeros(num_classes, dtype=labels.dtype)
    new_label[list(classes)] = np.arange(len(classes))
    images, labels = images[keep], new_label[labels[keep]]
    counts = np.bincount(labels, minlength=len(classes))
    if mode == 'train' and counts.min() == 0:
        raise ValueError(f"classes={classes}: no training image has label "
                         f"{classes[int(counts.argmin())]}; choose labels the data set has")
    if len(labels) == 0:
        raise ValueError(f"classes={classes}: the {mode} split holds no image of these classes")
    return images, labels


def known_data_set(data_root, labels_name, labels):
    """The known data set ('MNIST', ...) whose file `labels_name` holds exactly these labels, or
    None. A known data set's other labels file under this name (the test labels copied as the
    training labels, say) is a ValueError: it would train or test on the wrong images."""
    found = recognise(idx_sha256(labels, LABELS_MAGIC))
    if found is None:
        return None
    data_set, name = found
    if name != labels_name:
        path = find_idx_file(data_root, labels_name)
        raise ValueError(f"{path} holds {data_set}'s {name}, not its {labels_name}: a file was "
                         f"renamed or copied under the wrong name; run 'python dataloader.py "
                         f"verify --data-root {data_root}' to check them all")
    return data_set


class Dataset:
    """One split of MNIST (or any data set in the same IDX files), prepared once.

    Args:
        data_root: folder holding the four IDX files, raw or .gz
        mode: 'train' (the training file but its last val_size images), 'val' (those last
            val_size images) or 'test' (the t10k files)
        num_classes: number of classes in the files; every label must be below it
        val_size: images held out from the training file for validation
        classes: None for all classes, or the labels to keep, e.g. [0, 1]: label classes[i]
            becomes i, the other images are left out (after the train/val split, so the
            validation images are the same ones whatever the classes)
        limit: None, or keep only the first `limit` images of the split (after `classes`), in
            file order: the same images for every seed, and a smaller limit's images are
            among a larger one's, as a learning curve needs
    Attributes:
        images: float32 (N, rows*cols), each image scaled to [0, 1] minus its own mean
        labels: int64 (N,), in 0..num_classes-1
        num_classes: number of classes served (len(classes) when classes are given)
        image_shape: (rows, cols) of one image, (28, 28) for MNIST
        class_names: a name for each class served, for plots: the known data set's names when
            the labels file is recognised by its checksum ('0'..'9' for MNIST, 'T-shirt/top',
            'Trouser', ... for Fashion-MNIST), else '0', '1', ...
        known_data_set: 'MNIST', 'Fashion-MNIST' or None, as recognised from the labels file
    """

    def __init__(self, data_root, mode, num_classes=10, val_size=5000, classes=None, limit=None):
        if mode not in SPLIT_FILES:
            raise ValueError(f"mode={mode!r}: must be one of {', '.join(map(repr, SPLIT_FILES))}")
        if not (isinstance(num_classes, (int, np.integer)) and num_classes >= 1):
            raise ValueError(f"num_classes={num_classes!r}: must be a positive integer")
        if not (isinstance(val_size, (int, np.integer)) and val_size >= 0):
            raise ValueError(f"val_size={val_size!r}: must be a non-negative integer")
        check_classes(classes, num_classes)
        if not (limit is None or (isinstance(limit, (int, np.integer)) and limit >= 1)):
            raise ValueError(f"limit={limit!r}: must be None or a positive integer")
        if not Path(data_root).is_dir():
            raise FileNotFoundError(f"data_root '{data_root}' is not a folder; point it at the "
                                    f"folder holding the MNIST files (the kit's data/)")
        self.data_root, self.mode = data_root, mode

        images, labels = load_idx_pair(data_root, mode, num_classes)
        self.known_data_set = known_data_set(data_root, SPLIT_FILES[mode][1], labels)
        names = [str(label) for label in range(num_classes)]
        if self.known_data_set and len(KNOWN_DATA_SETS[self.known_data_set]['class_names']) \
                == num_classes:
            names = KNOWN_DATA_SETS[self.known_data_set]['class_names']
        if mode != 'test':
            if val_size >= len(images) or (mode == 'val' and val_size == 0):
                raise ValueError(f"val_size={val_size}: the training file holds {len(images)} "
                                 f"images; val_size must leave both splits non-empty")
            split = slice(None, -val_size or None) if mode == 'train' else slice(-val_size, None)
            images, labels = images[split], labels[split]
        if classes is not None:
            images, labels = select_classes(images, labels, classes, num_classes, mode)
            names = [names[label] for label in classes]
        if limit is not None:
            if limit > len(labels):
                raise ValueError(f"limit={limit}: the {mode} split holds only {len(labels)} "
                                 f"images{'' if classes is None else f' of classes {classes}'}; "
                                 f"ask for at most that many")
            images, labels = images[:limit], labels[:limit]
        self.num_classes = num_classes if classes is None else len(classes)
        self.classes = None if classes is None else list(classes)
        self.image_shape = images.shape[1:]
        self.class_names = list(names)
        self.images = prepare_images(images)
        self.labels = labels.astype(np.int64)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        """(images, labels) at idx: an int gives (784,) and a scalar, an index array (B, 784), (B,)."""
        return self.images[idx], self.labels[idx]


class IterationBatchSampler:
    """Splits the indices of a dataset into batches, once per epoch.

    Every index appears exactly once an epoch; the last batch may be short. With shuffle on,
    each epoch gets a fresh permutation from a numpy Generator seeded by `seed`, so the same
    seed gives the same order run after run.
    """

    def __init__(self, dataset, max_epoch, batch_size, shuffle=False, seed=None):
        for name, value in (('max_epoch', max_epoch), ('batch_size', batch_size)):
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name}={value!r}: must be a positive integer")
        self.dataset = dataset
        self.max_epoch = max_epoch
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.batch_indices = None

    def prepare_epoch_indices(self):
        """Draw this epoch's order and cut it into batches (a list of int arrays)."""
        n = len(self.dataset)
        indices = self.rng.permutation(n) if self.shuffle else np.arange(n)
        self.batch_indices = [indices[i:i + self.batch_size] for i in range(0, n, self.batch_size)]

    def __iter__(self):
        if self.batch_indices is None:
            raise RuntimeError("call prepare_epoch_indices() before iterating over the sampler")
        return iter(self.batch_indices)

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)  # ceil(N / batch_size)


class Dataloader:
    """Iterating over it runs one epoch, yielding (images (B, 784), labels (B,)) batches."""

    def __init__(self, dataset, sampler):
        self.dataset = dataset
        self.sampler = sampler

    def __iter__(self):
        self.sampler.prepare_epoch_indices()
        for batch in self.sampler:
            yield self.dataset[batch]  # one fancy-indexing gather for the whole batch

    def __len__(self):
        return len(self.sampler)


def build_dataloader(data_root, max_epoch, batch_size, shuffle=False, mode='train', seed=None,
                     classes=None, limit=None):
    dataset = Dataset(data_root, mode, classes=classes, limit=limit)
    sampler = IterationBatchSampler(dataset, max_epoch, batch_size, shuffle, seed)
    return Dataloader(dataset, sampler)


if __name__ == '__main__':
    import sys

    import data_tools
    sys.exit(data_tools.main())
