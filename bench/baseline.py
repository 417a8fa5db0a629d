"""The slow way, for comparison only: per-sample code as the assignment's skeleton has it.

bench/run.py times this beside the kit. Nothing in the kit imports it. It is written the way the
skeleton and most student code work: each image parsed on its own with `struct`, each sample
normalised when it is fetched, batches gathered by a Python loop over indices, one-hot labels
built in a loop, float64 everywhere. The maths is otherwise right (the softmax subtracts each
row's maximum), so it trains to the same accuracy as the kit; only the speed differs.

    data = load('data')                     # {'train': (images, labels), 'val': ..., 'test': ...}
    run = Run(data, max_epoch=10, batch_size=100, learning_rate=0.01, momentum=0.9, seed=0)
    run.train(); run.evaluate('test')
"""
import gzip
import struct
from pathlib import Path

import numpy as np

NUM_CLASSES = 10
VAL_SIZE = 5000


def open_idx(data_root, name):
    """The bytes of the IDX file `name` in data_root, raw if present, else its .gz."""
    path = Path(data_root) / name
    if path.exists():
        return path.read_bytes()
    with gzip.open(path.with_name(name + '.gz'), 'rb') as file:
        return file.read()


def read_images(data_root, name):
    """float64 (N, rows*cols) of raw pixel values, parsed one image at a time."""
    data = open_idx(data_root, name)
    magic, count, rows, cols = struct.unpack('>IIII', data[:16])
    pixels = rows * cols
    images = []
    for i in range(count):
        image = struct.unpack_from(f'>{pixels}B', data, 16 + i * pixels)
        images.append(np.array(image, dtype=np.float64))
    return np.array(images)


def read_labels(data_root, name):
    """int64 (N,), parsed one label at a time."""
    data = open_idx(data_root, name)
    magic, count = struct.unpack('>II', data[:8])
    return np.array([struct.unpack_from('>B', data, 8 + i)[0] for i in range(count)])


def load(data_root):
    """Each file parsed once: {'train': (images, labels), 'val': ..., 'test': ...}."""
    images = read_images(data_root, 'train-images-idx3-ubyte')
    labels = read_labels(data_root, 'train-labels-idx1-ubyte')
    return {'train': (images[:-VAL_SIZE], labels[:-VAL_SIZE]),
            'val': (images[-VAL_SIZE:], labels[-VAL_SIZE:]),
            'test': (read_images(data_root, 't10k-images-idx3-ubyte'),
                     read_labels(data_root, 't10k-labels-idx1-ubyte'))}


class Dataset:
    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        """One sample, normalised when it is fetched: [0, 1], minus its mean."""
        image = self.images[idx] / 255.0
        return image - image.mean(), self.labels[idx]


class Dataloader:
    """One epoch of (images, labels) batches, each gathered sample by sample."""

    def __init__(self, dataset, batch_size, shuffle=False, seed=None):
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            images, labels = [], []
            for i in order[start:start + self.batch_size]:
                image, label = self.dataset[i]
                images.append(image)
                labels.append(label)
            yield np.array(images), np.array(labels)

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)


class SoftmaxCrossEntropyLoss:
    def __init__(self, num_input, num_output, rng=None):
        rng = np.random.default_rng(rng)
        std = np.sqrt(2.0 / (num_input + num_output))
        self.W = std * rng.standard_normal((num_input, num_output))
        self.b = np.zeros((1, num_output))
        self.num_output = num_output

    def onehot_labels(self, labels):
        onehot = np.zeros((len(labels), self.num_output))
        for i in range(len(labels)):
            onehot[i, labels[i]] = 1
        return onehot

    def forward(self, Input, labels):
        z = np.dot(Input, self.W) + self.b
        z = z - np.max(z, axis=1, keepdims=True)
        self.probs = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)
        self.onehot = self.onehot_labels(labels)
        log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
        loss = -np.sum(self.onehot * log_probs) / len(labels)
        acc = np.mean(np.argmax(z, axis=1) == labels)
        self.Input = Input
        return loss, acc

    def gradient_computing(self):
        grad = (self.probs - self.onehot) / len(self.Input)
        self.grad_W = np.dot(self.Input.T, grad)
        self.grad_b = np.sum(grad, axis=0, keepdims=True)


class SGD:
    def __init__(self, model, learning_rate, momentum=0.0):
        self.model, self.learning_rate, self.momentum = model, learning_rate, momentum
        self.diff_W = np.zeros_like(model.W)
        self.diff_b = np.zeros_like(model.b)

    def step(self):
        self.diff_W = self.momentum * self.diff_W - self.learning_rate * self.model.grad_W
        self.diff_b = self.momentum * self.diff_b - self.learning_rate * self.model.grad_b
        self.model.W = self.model.W + self.diff_W
        self.model.b = self.model.b + self.diff_b


class Run:
    """The default run done the slow way: train_loader, model and optimizer as in the kit."""

    def __init__(self, data, max_epoch, batch_size, learning_rate, momentum, seed):
        init_seed, shuffle_seed = np.random.SeedSequence(seed).spawn(2)
        self.data, self.max_epoch, self.batch_size = data, max_epoch, batch_size
        self.train_loader = Dataloader(Dataset(*data['train']), batch_size, True, shuffle_seed)
        self.model = SoftmaxCrossEntropyLoss(data['train'][0].shape[1], NUM_CLASSES, init_seed)
        self.optimizer = SGD(self.model, learning_rate, momentum)

    def train(self):
        for _ in range(self.max_epoch):
            self.train_epoch()
            self.evaluate('val')

    def train_epoch(self):
        for images, labels in self.train_loader:
            self.model.forward(images, labels)
            self.model.gradient_computing()
            self.optimizer.step()

    def evaluate(self, split):
        """(loss, acc) over the whole split."""
        loader = Dataloader(Dataset(*self.data[split]), self.batch_size)
        loss_sum = acc_sum = 0.0
        for images, labels in loader:
            loss, acc = self.model.forward(images, labels)
            loss_sum += loss * len(labels)
            acc_sum += acc * len(labels)
        return loss_sum / len(loader.dataset), acc_sum / len(loader.dataset)
