"""visualize.py: the loss and accuracy figures, headless."""
import matplotlib
import matplotlib.pyplot as plt
import pytest

from visualize import plot_loss_and_acc

RUNS = {'momentum=0': [[1.2, 0.6, 0.5], [0.70, 0.85, 0.88]],
        'momentum=0.9': [[0.6, 0.35, 0.3], [0.84, 0.90, 0.91]]}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close('all')


def test_one_line_per_run_with_epochs_on_x():
    fig_loss, fig_acc = plot_loss_and_acc(RUNS)
    assert matplotlib.get_backend().lower() == 'agg'
    for fig, index, ylabel in ((fig_loss, 0, 'Loss'), (fig_acc, 1, 'Accuracy')):
        ax = fig.axes[0]
        assert ax.get_xlabel() == 'Epoch' and ax.get_ylabel() == ylabel
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == list(RUNS)
        for line, curves in zip(lines, RUNS.values()):
            assert list(line.get_xdata()) == [1, 2, 3]
            assert list(line.get_ydata()) == curves[index]
        assert [text.get_text() for text in ax.get_legend().get_texts()] == list(RUNS)


def test_runs_of_different_lengths():
    fig_loss, _ = plot_loss_and_acc({'short': [[1.0], [0.5]], 'long': [[1, 0.5, 0.4, 0.3],
                                                                        [0.5, 0.7, 0.8, 0.9]]})
    assert [len(line.get_xdata()) for line in fig_loss.axes[0].get_lines()] == [1, 4]


def test_saves_png_and_pdf(tmp_path):
    plot_loss_and_acc(RUNS, save_dir=tmp_path / 'figures')
    for name in ('loss.png', 'loss.pdf', 'acc.png', 'acc.pdf'):
        path = tmp_path / 'figures' / name
        assert path.stat().st_size > 1000, name
    assert (tmp_path / 'figures' / 'loss.png').read_bytes()[:4] == b'\x89PNG'
    assert (tmp_path / 'figures' / 'acc.pdf').read_bytes()[:4] == b'%PDF'


def test_nothing_written_without_save_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plot_loss_and_acc(RUNS)
    assert list(tmp_path.iterdir()) == []
