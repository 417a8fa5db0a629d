"""runner.ipynb runs top to bottom on the real data, in a kernel of this Python."""
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

KIT = Path(__file__).resolve().parent.parent


def test_runner_notebook_executes(tmp_path):
    notebook = nbformat.read(KIT / 'runner.ipynb', as_version=4)
    try:
        NotebookClient(notebook, timeout=300, kernel_name='python3',
                       resources={'metadata': {'path': str(KIT)}}).execute()
    except CellExecutionError as err:
        pytest.fail(f"runner.ipynb stopped with {err.ename}: {err.evalue}\n"
                    f"(run it in Jupyter to see the cell and the whole traceback)", pytrace=False)
    text = '\n'.join(output.get('text', '') for cell in notebook.cells if cell.cell_type == 'code'
                     for output in cell.outputs)
    accuracies = [float(value) for value in re.findall(r'Final test accuracy (\d\.\d{4})', text)]
    assert len(accuracies) == 2
    assert abs(accuracies[0] - 0.9017) <= 0.003 and abs(accuracies[1] - 0.9220) <= 0.003
    images = [output for output in notebook.cells[-1].outputs if 'image/png' in output.get('data', {})]
    assert len(images) == 2  # the loss and the accuracy figures
