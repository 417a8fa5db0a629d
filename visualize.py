"""Pictures of training runs: loss and accuracy curves, weights, confusion matrix, digits."""
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import FuncFormatter, MaxNLocator

LOSS_LABEL = 'Loss (mean cross-entropy)'
ACCURACY_LABEL = 'Accuracy (fraction correct)'
# Runs are told apart by colour (matplotlib's qualitative 'tab10') and by marker; with 10 colours
# and 9 markers, no two of the first 90 runs look the same.
RUN_COLORS = plt.cm.tab10.colors
RUN_MARKERS = ('o', 's', '^', 'v', 'D', 'P', 'X', '*', 'h')


def run_style(index):
    """The colour and marker of the index-th run (0-based) of a figure."""
    return {'color': RUN_COLORS[index % len(RUN_COLORS)],
            'marker': RUN_MARKERS[index % len(RUN_MARKERS)]}


def plot_loss_and_acc(loss_and_acc_dict, save_dir=None):
    """Draw the per-epoch loss and accuracy of every run, one line per run.

    Args:
        loss_and_acc_dict: {name: [loss_list, acc_list]}, e.g.
            {'momentum=0': [loss1, acc1], 'momentum=0.9': [loss2, acc2]}
        save_dir: if given, the folder to write loss.png, loss.pdf, acc.png and acc.pdf into
    Returns:
        (fig_loss, fig_acc), two matplotlib figures
    """
    figures = []
    for index, ylabel in enumerate((LOSS_LABEL, ACCURACY_LABEL)):
        fig, ax = plt.subplots(figsize=(6, 4))
        num_epochs = 0
        for run, (name, curves) in enumerate(loss_and_acc_dict.items()):
            values = curves[index]
            epochs = range(1, len(values) + 1)
            ax.plot(epochs, values, markersize=4, label=name, **run_style(run))
            num_epochs = max(num_epochs, len(values))
        ax.set_xlabel('Epoch')
        ax.set_ylabel(ylabel)
        ax.set_xticks(range(1, num_epochs + 1, max(1, num_epochs // 10)))
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        figures.append(fig)

    if save_dir is not None:
        for fig, stem in zip(figures, ('loss', 'acc')):
            save_figure(fig, Path(save_dir) / stem)
    return tuple(figures)


class LiveFigures:
    """Figures shown in a notebook and redrawn in place, as d2l's Animator does: each show()
    puts its figures where the first show() put its own, e.g. after each epoch of training.

        live = LiveFigures()
        live.show(plot_loss_and_acc(histories))    # shows two figures
        live.show(plot_loss_and_acc(longer))       # draws them again, in the same place
        fig_loss, fig_acc = live.figures           # the last ones, e.g. to save

    Outside a notebook (python, pytest) the figures are drawn but not shown.
    """

    def __init__(self):
        self.figures, self.handles = (), []

    def show(self, figures):
        """Show figures (a figure or a sequence of them) in place of the last ones; returns them."""
        figures = (figures,) if isinstance(figures, plt.Figure) else tuple(figures)
        if self.handles and len(figures) != len(self.handles):
            raise ValueError(f"show got {len(figures)} figures, after {len(self.handles)} before")
        for fig in figures:
            # The display keeps a picture of it; closed, the notebook does not show it once more
            # at the end of the cell. A closed figure can still be saved.
            plt.close(fig)
        display = notebook_display()
        if display:
            if self.handles:
                for handle, fig in zip(self.handles, figures):
                    handle.update(fig)
            else:
                self.handles = [display(fig, display_id=True) for fig in figures]
        self.figures = figures
        return figures


def notebook_display():
    """IPython's display function when a notebook (an IPython kernel) runs this code; None in
    python or pytest, and where Jupyter is not installed."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    return display if get_ipython() is not None else None


def save_figure(fig, path):
    """Write fig as path.png and path.pdf (path without suffix, e.g. 'figures/weights')."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ('.png', '.pdf'):
        fig.savefig(path.with_name(path.name + suffix), dpi=150, bbox_inches='tight')


CURVE_TITLES = {'train_loss': 'Training loss', 'train_acc': 'Training accuracy',
                'val_loss': 'Validation loss', 'val_acc': 'Validation accuracy'}


def plain_log_label(value, position=None):
    """Tick label on a log axis: 0.2, 0.3, 0.5, 1, 2, ... (matplotlib would write 2x10^-1);
    the ticks in between stay unlabelled."""
    leading_digit = round(value / 10 ** math.floor(math.log10(value)))
    return f'{value:g}' if leading_digit in (1, 2, 3, 5) else ''


def plot_runs(runs, metrics=('train_loss', 'val_acc')):
    """Side by side, one panel per metric, the per-epoch curves of several runs.

    Args:
        runs: {label: record}, records as kit.experiments.run makes them
        metrics: record keys of per-epoch lists; losses are drawn on a log scale
    Each run has its own colour and marker (run_style), in the legend at the right; diverged runs
    are dashed and marked in the legend.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics) + 2, 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for index, (label, record) in enumerate(runs.items()):
            values = record[metric]
            style = '--' if record['diverged'] else '-'
            label = label + ' (diverged)' if record['diverged'] else label
            # Earlier runs on top, so that a short run shows over a longer one it starts like.
            ax.plot(range(1, len(values) + 1), values, style, markersize=4, linewidth=1.5,
                    label=label, zorder=2 + len(runs) - index, **run_style(index))
        ax.set_xlabel('Epoch')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(CURVE_TITLES.get(metric, metric))
        if 'loss' in metric:
            ax.set_ylabel(LOSS_LABEL + ', log scale')
            ax.set_yscale('log')
            ax.yaxis.set_major_formatter(FuncFormatter(plain_log_label))
            ax.yaxis.set_minor_formatter(FuncFormatter(plain_log_label))
        elif 'acc' in metric:
            ax.set_ylabel(ACCURACY_LABEL)
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=9, loc='upper left', bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig


def plot_weights(W, image_shape, class_names):
    """Each class's column of W (num_input, num_classes) as an image: red pixels vote for the
    class, blue ones against it, on one colour scale for all classes."""
    num_classes = W.shape[1]
    ncols = min(num_classes, 5)
    nrows = -(-num_classes // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2 * ncols + 1, 2 * nrows), squeeze=False,
                             layout='constrained')
    scale = np.abs(W).max()
    for index, ax in enumerate(axes.flat):
        ax.axis('off')
        if index < num_classes:
            image = ax.imshow(W[:, index].reshape(image_shape), cmap='RdBu_r', vmin=-scale,
                              vmax=scale)
            ax.set_title(class_names[index], fontsize=10)
    fig.colorbar(image, ax=axes, shrink=0.8, label='weight (red: for the class, blue: against)')
    return fig


def plot_confusion_matrix(labels, predicted, class_names):
    """Counts of (true class, predicted class) pairs, on a log colour scale so that the few
    mistakes off the diagonal show beside the many right answers on it.

    Args:
        labels, predicted: (N,) integer classes
    """
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    num_classes = len(class_names)
    counts = np.bincount(labels * num_classes + predicted,
                         minlength=num_classes ** 2).reshape(num_classes, num_classes)
    fig, ax = plt.subplots(figsize=(0.6 * num_classes + 2.5, 0.6 * num_classes + 1.5))
    ax.imshow(np.where(counts > 0, counts, np.nan), cmap='Blues',
              norm=LogNorm(vmin=1, vmax=counts.max()))
    for true, pred in zip(*np.nonzero(counts)):
        dark = counts[true, pred] > counts.max() ** 0.7  # white text on the darkest cells
        ax.text(pred, true, counts[true, pred], ha='center', va='center', fontsize=8,
                color='white' if dark else 'black')
    long_names = max(map(len, class_names)) > 2  # slanted, so that 'Ankle boot' fits
    ax.set_xticks(range(num_classes), class_names, rotation=45 if long_names else 0,
                  ha='right' if long_names else 'center')
    ax.set_yticks(range(num_classes), class_names)
    ax.set_xlabel('Predicted class')
    ax.set_ylabel('True class')
    ax.set_title(f'Accuracy {np.trace(counts) / counts.sum():.4f} on {counts.sum()} images')
    fig.tight_layout()
    return fig


def plot_digits(images, image_shape, labels, predicted, class_names, ncols=8):
    """A grid of images titled with their true and predicted classes; mistakes in red.

    Args:
        images: (N, num_input); labels, predicted: (N,) integer classes
    """
    nrows = max(1, -(-len(images) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.6 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for ax, image, label, guess in zip(axes.flat, images, labels, predicted):
        ax.imshow(image.reshape(image_shape), cmap='gray_r')
        ax.set_title(f'true {class_names[label]}\npred {class_names[guess]}', fontsize=7,
                     color='black' if label == guess else 'red')
    fig.tight_layout()
    return fig
