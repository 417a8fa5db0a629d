"""MNIST data: prepare a split, and serve it in batches.

    dataset = Dataset('data', 'train')             # images (55000, 784), labels (55000,)
    loader = build_dataloader('data', max_epoch=10, batch_size=100, shuffle=True, seed=0)
    for images, labels in loader:                  # one epoch: (100, 784), (100,)
        ...
    Dataset('data', 'train', classes=[0, 1], limit=1000)  # digits 0 and 1 only, as labels 0 and 1;
                                                   # the first 1000 such training images

    python dataloader.py verify [--data-root DIR]    # is every file there and the original?
    python dataloader.py download [--data-root DIR]  # restore missing or corrupt files

The data are four IDX files (raw or .gz): kit/idx.py reads and checks them, kit/data_tools.py
runs the two commands above.
"""
from pathlib import Path

import numpy as np

from kit.idx import class_names, find_idx_file, known_data_set, read_images_and_labels

# Which file each split reads. 'train' and 'val' both come from the training file, so building
# either of them never opens the t10k (test) files.
SPLIT_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'val': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}


def load_idx_pair(data_root, mode, num_classes):
    """Images (N, rows, cols) and labels (N,) as uint8, from the files that `mode` reads, and the
    path of the labels file. The test images must have the training images' size (the model's
    input size): for the test split, the training images' header is read to check it."""
    images_path, labels_path = (find_idx_file(data_root, name) for name in SPLIT_FILES[mode])
    training_images = None
    if mode == 'test':
        try:
            training_images = find_idx_file(data_root, SPLIT_FILES['train'][0])
        except FileNotFoundError:
            pass  # a folder of test files only: no training images to compare with
    images, labels = read_images_and_labels(images_path, labels_path,
                                            same_size_as=training_images)
    if labels.max() >= num_classes:
        raise ValueError(f"{labels_path}: label {labels.max()} is out of range for "
                         f"num_classes={num_classes} (labels must be 0..{num_classes - 1})")
    return images, labels, labels_path


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

        images, labels, labels_path = load_idx_pair(data_root, mode, num_classes)
        self.known_data_set = known_data_set(labels, SPLIT_FILES[mode][1], labels_path)
        names = class_names(self.known_data_set, num_classes)
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
        """(images, labels) at idx: an int gives (784,) and a scalar; an index array gives
        (B, 784) and (B,)."""
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

    from kit import data_tools
    sys.exit(data_tools.main())
