"""Loss and accuracy curves of one or more training runs."""
from pathlib import Path

import matplotlib.pyplot as plt


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
    for index, ylabel in enumerate(('Loss', 'Accuracy')):
        fig, ax = plt.subplots(figsize=(6, 4))
        num_epochs = 0
        for name, curves in loss_and_acc_dict.items():
            values = curves[index]
            epochs = range(1, len(values) + 1)
            ax.plot(epochs, values, '-s', markersize=4, label=name)
            num_epochs = max(num_epochs, len(values))
        ax.set_xlabel('Epoch')
        ax.set_ylabel(ylabel)
        ax.set_xticks(range(1, num_epochs + 1, max(1, num_epochs // 10)))
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        figures.append(fig)

    if save_dir is not None:
        save_dir = Path(save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        for fig, stem in zip(figures, ('loss', 'acc')):
            for suffix in ('.png', '.pdf'):
                fig.savefig(save_dir / (stem + suffix), dpi=150)
    return tuple(figures)
