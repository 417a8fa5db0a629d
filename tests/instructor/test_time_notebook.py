"""tools/time_notebook.py on a small notebook of its own."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools import time_notebook


def test_execute_times_every_code_cell(tmp_path):
    notebook = new_notebook(cells=[new_code_cell('import time\ntime.sleep(0.3)'),
                                   new_markdown_cell('text'),
                                   new_code_cell("open('ran.txt', 'w').write('yes')")])
    nbformat.write(notebook, tmp_path / 'small.ipynb')
    total, cells = time_notebook.execute(tmp_path / 'small.ipynb')
    assert [first_line for _, first_line in cells] == [
        'import time', "open('ran.txt', 'w').write('yes')"]
    assert 0.3 <= cells[0][0] < total
    assert (tmp_path / 'ran.txt').read_text() == 'yes'  # it ran in the notebook's folder
