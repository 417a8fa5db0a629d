"""visualize.py: every figure, headless (Agg), and figures redrawn in place in a notebook."""
import base64
import struct
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import visualize
from visualize import (
    ACCURACY_LABEL,
    LOSS_LABEL,
    LiveFigures,
    plot_confusion_matrix,
    plot_digits,
    plot_loss_and_acc,
    plot_runs,
    plot_weights,
    save_figure,
)

RUNS = {'momentum=0': [[1.2, 0.6, 0.5], [0.70, 0.85, 0.88]],
        'momentum=0.9': [[0.6, 0.35, 0.3], [0.84, 0.90, 0.91]]}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close('all')


def test_one_line_per_run_with_epochs_on_x():
    fig_loss, fig_acc = plot_loss_and_acc(RUNS)
    assert matplotlib.get_backend().lower() == 'agg'
    for fig, index, ylabel in ((fig_loss, 0, LOSS_LABEL), (fig_acc, 1, ACCURACY_LABEL)):
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


def record(val_acc, diverged=False):
    """The curves plot_runs reads from an experiments record."""
    return {'train_loss': [1 - acc for acc in val_acc], 'val_loss': [1.1 - acc for acc in val_acc],
            'val_acc': val_acc, 'diverged': diverged}


def test_save_figure_writes_png_and_pdf(tmp_path):
    fig, _ = plot_loss_and_acc(RUNS)
    save_figure(fig, tmp_path / 'new_folder' / 'curves')
    assert (tmp_path / 'new_folder' / 'curves.png').read_bytes()[:4] == b'\x89PNG'
    assert (tmp_path / 'new_folder' / 'curves.pdf').read_bytes()[:4] == b'%PDF'


def test_plot_runs_puts_one_panel_per_metric_side_by_side():
    runs = {'momentum=0': record([0.80, 0.85, 0.88]), 'momentum=0.9': record([0.90, 0.92, 0.93]),
            'lr=10': record([0.5, 0.4], diverged=True)}
    fig = plot_runs(runs, ['train_loss', 'val_loss', 'val_acc'])
    assert [ax.get_title() for ax in fig.axes] == ['Training loss', 'Validation loss',
                                                    'Validation accuracy']
    positions = [ax.get_position().x0 for ax in fig.axes]
    assert positions == sorted(positions)  # left to right
    assert [ax.get_yscale() for ax in fig.axes] == ['log', 'log', 'linear']
    for ax, metric in zip(fig.axes, ['train_loss', 'val_loss', 'val_acc']):
        lines = ax.get_lines()
        assert [list(line.get_ydata()) for line in lines] == [r[metric] for r in runs.values()]
        assert list(lines[0].get_xdata()) == [1, 2, 3]
        assert [line.get_linestyle() for line in lines] == ['-', '-', '--']
        zorders = [line.get_zorder() for line in lines]
        assert zorders == sorted(zorders, reverse=True)  # the first run is drawn on top
    legend = [text.get_text() for text in fig.axes[-1].get_legend().get_texts()]
    assert legend == ['momentum=0', 'momentum=0.9', 'lr=10 (diverged)']
    assert [ax.get_ylabel() for ax in fig.axes] == [LOSS_LABEL + ', log scale'] * 2 + [
        ACCURACY_LABEL]


def test_plot_runs_tells_nine_runs_apart_with_the_legend_beside_the_data():
    runs = {f'learning_rate={rate}': record([0.5, 0.6 + index / 100])
            for index, rate in enumerate([0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10])}
    fig = plot_runs(runs, ['train_loss', 'val_acc'])
    for ax in fig.axes:
        styles = [(matplotlib.colors.to_hex(line.get_color()), line.get_marker())
                  for line in ax.get_lines()]
        assert len(set(color for color, _ in styles)) == 9, styles
        assert len(set(marker for _, marker in styles)) == 9, styles
    fig.canvas.draw()
    legend = fig.axes[-1].get_legend().get_window_extent()
    assert legend.x0 > fig.axes[-1].get_window_extent().x1  # to the right of the data
    assert legend.x1 <= fig.bbox.x1 + 1  # and inside the figure


def test_live_figures_outside_a_notebook_draw_without_showing(tmp_path, capsys):
    live = LiveFigures()
    figures = live.show(plot_loss_and_acc(RUNS))
    assert live.figures == figures and len(figures) == 2
    assert plt.get_fignums() == []  # closed: a notebook would not show them a second time
    save_figure(figures[0], tmp_path / 'loss')  # a closed figure can still be saved
    assert (tmp_path / 'loss.png').read_bytes()[:4] == b'\x89PNG'
    assert capsys.readouterr().out == ''


def test_live_figures_display_once_then_update_in_place(monkeypatch):
    shown = []

    class Handle:
        def __init__(self, fig):
            self.figures = [fig]

        def update(self, fig):
            self.figures.append(fig)

    def display(fig, display_id):
        assert display_id is True
        shown.append(Handle(fig))
        return shown[-1]

    monkeypatch.setattr(visualize, 'notebook_display', lambda: display)
    live = LiveFigures()
    first = live.show(plot_loss_and_acc(RUNS))
    second = live.show(plot_loss_and_acc(RUNS))
    assert [handle.figures for handle in shown] == [[first[0], second[0]], [first[1], second[1]]]
    with pytest.raises(ValueError, match='show got 1 figures, after 2 before'):
        live.show(second[0])


def png_size(output):
    """(width, height) in pixels of a notebook output's PNG."""
    return struct.unpack('>II', base64.b64decode(output['data']['image/png'])[16:24])


SETUP = '''%matplotlib inline
import matplotlib.pyplot as plt
from IPython.display import display
from visualize import LiveFigures

def figure(width):
    fig, ax = plt.subplots(figsize=(width, 2))
    ax.plot([1, 3, 2])
    return fig'''
LIVE = '''live = LiveFigures()
for width in (2, 3, 5):
    live.show(figure(width))'''
ALONE = '''fig = figure(5)
display(fig)
plt.close(fig)'''


def test_live_figures_in_a_notebook_leave_one_picture_the_last():
    """In a real kernel: three figures of growing width shown in turn leave one picture in the
    cell's outputs, the last one (as large as that figure shown on its own)."""
    nbformat = pytest.importorskip('nbformat')  # Jupyter's: a minimal install skips this test
    nbclient = pytest.importorskip('nbclient')
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)
                                               for source in (SETUP, LIVE, ALONE)])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name='python3',
                            resources={'metadata': {'path': str(Path(visualize.__file__).parent)}}
                            ).execute()
    pictures = [[output for output in cell.outputs if 'image/png' in output.get('data', {})]
                for cell in notebook.cells]
    assert [len(cell_pictures) for cell_pictures in pictures] == [0, 1, 1]
    assert png_size(pictures[1][0]) == png_size(pictures[2][0])


def test_plot_weights_draws_each_class_as_an_image_on_one_scale():
    W = 15 - np.arange(12 * 3, dtype=float).reshape(12, 3)  # from 15 down to -20
    fig = plot_weights(W, (3, 4), ['cat', 'dog', 'bird'])
    images = [ax.get_images()[0] for ax in fig.axes if ax.get_images()]
    assert [image.axes.get_title() for image in images] == ['cat', 'dog', 'bird']
    for index, image in enumerate(images):
        np.testing.assert_array_equal(image.get_array(), W[:, index].reshape(3, 4))
        assert image.get_clim() == (-20, 20)  # symmetric: 0 is white for every class


def test_plot_confusion_matrix_counts_each_pair():
    labels = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    predicted = np.array([0, 0, 1, 1, 1, 2, 2, 0, 2])
    fig = plot_confusion_matrix(labels, predicted, ['zero', 'one', 'two'])
    ax = fig.axes[0]
    cells = {(round(text.get_position()[1]), round(text.get_position()[0])): text.get_text()
             for text in ax.texts}
    assert cells == {(0, 0): '2', (0, 1): '1', (1, 1): '2', (2, 0): '1', (2, 2): '3'}
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ['zero', 'one', 'two']
    assert ax.get_ylabel() == 'True class' and ax.get_xlabel() == 'Predicted class'
    assert ax.get_title() == 'Accuracy 0.7778 on 9 images'


def test_plot_digits_titles_each_image_and_marks_mistakes_red():
    images = np.random.default_rng(0).random((5, 6))
    fig = plot_digits(images, (2, 3), [0, 1, 2, 1, 0], [0, 2, 2, 1, 1], ['T-shirt', 'Bag', 'Coat'],
                      ncols=4)
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert len(fig.axes) == 8 and len(shown) == 5
    assert [ax.get_title() for ax in shown] == [
        'true T-shirt\npred T-shirt', 'true Bag\npred Coat', 'true Coat\npred Coat',
        'true Bag\npred Bag', 'true T-shirt\npred Bag']
    colors = [matplotlib.colors.to_hex(ax.title.get_color()) for ax in shown]
    assert colors == ['#000000', '#ff0000', '#000000', '#000000', '#ff0000']
    np.testing.assert_array_equal(shown[1].get_images()[0].get_array(), images[1].reshape(2, 3))
