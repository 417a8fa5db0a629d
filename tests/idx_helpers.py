"""Small IDX data sets written by the tests themselves."""
import gzip
import hashlib
from pathlib import Path

import numpy as np

from kit.idx import IMAGES_MAGIC, LABELS_MAGIC  # noqa: F401  for the tests, from one place


def idx_bytes(array, magic):
    """The IDX encoding of a uint8 array: big-endian magic, dimensions, then the bytes."""
    array = np.asarray(array, dtype=np.uint8)
    header = magic.to_bytes(4, 'big') + b''.join(d.to_bytes(4, 'big') for d in array.shape)
    return header + array.tobytes()


def write_idx(path, array, magic, compress=None):
    """Write array as an IDX file; gzip it when the name ends in .gz (or compress=True)."""
    path = Path(path)
    data = idx_bytes(array, magic)
    if compress or (compress is None and path.suffix == '.gz'):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def synthetic_digits(n, num_classes=3, shape=(4, 5), seed=0):
    """Learnable images: class c lights up pixel c of the image, plus noise. uint8 (n, *shape)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=n).astype(np.uint8)
    images = rng.integers(0, 60, size=(n,) + shape).astype(np.uint8)
    images.reshape(n, -1)[np.arange(n), labels] = 255
    return images, labels


def write_dataset(folder, n_train=40, n_test=12, num_classes=3, shape=(4, 5), suffix='.gz',
                  dotted=False, seed=0):
    """Write the four IDX files of a small data set into folder; returns the arrays written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (('train', n_train), ('t10k', n_test)):
        images, labels = synthetic_digits(n, num_classes, shape, seed=seed + len(split))
        sep = '.' if dotted else '-'
        write_idx(folder / f'{split}-images{sep}idx3-ubyte{suffix}', images, IMAGES_MAGIC)
        write_idx(folder / f'{split}-labels{sep}idx1-ubyte{suffix}', labels, LABELS_MAGIC)
        arrays[split] = (images, labels)
    return arrays


def file_checksums(folder):
    """{name: sha256 of the decompressed bytes} of the four .gz files write_dataset wrote."""
    names = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
             't10k-labels-idx1-ubyte')
    return {name: hashlib.sha256(gzip.decompress((Path(folder) / f'{name}.gz').read_bytes()))
            .hexdigest() for name in names}


def prepared(images):
    """What the Dataset should serve for uint8 images: [0, 1], minus each image's own mean
    (float64, written independently of dataloader.prepare_images)."""
    flat = images.reshape(len(images), -1) / 255.0
    return flat - flat.mean(axis=1, keepdims=True)
