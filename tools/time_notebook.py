"""Time runner.ipynb: execute it top to bottom, as a student would, and print the seconds.

    python tools/time_notebook.py             # one run
    python tools/time_notebook.py --repeat 3  # three runs; the machine's load makes them vary

Prints the seconds of each code cell (the minimum over the runs) and of each whole run, kernel
start included. Like the notebook itself, it writes figures/ and results/ in the kit's folder.
"""
if not __package__:  # run as python tools/time_notebook.py: see tools/_as_module.py
    import _as_module  # noqa: F401
import argparse
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tools import KIT


def execute(path):
    """Execute the notebook at path in its folder; returns (total seconds, [seconds per cell])."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=1200, kernel_name='python3',
                   resources={'metadata': {'path': str(path.parent)}}).execute()
    total = time.perf_counter() - start
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == 'code':
            timing = cell.metadata['execution']
            began, ended = (datetime.fromisoformat(timing[key].replace('Z', '+00:00'))
                            for key in ('iopub.execute_input', 'shell.execute_reply'))
            cells.append(((ended - began).total_seconds(), cell.source.splitlines()[0]))
    return total, cells


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=1, help='number of runs (default: 1)')
    parser.add_argument('--notebook', type=Path, default=KIT / 'runner.ipynb')
    args = parser.parse_args()
    totals, per_cell = [], None
    for index in range(args.repeat):
        total, cells = execute(args.notebook.resolve())
        totals.append(total)
        print(f'run {index + 1}: {total:.1f} s', flush=True)
        per_cell = cells if per_cell is None else [
            (min(seconds, best), first_line) for (seconds, first_line), (best, _)
            in zip(cells, per_cell)]
    print('\nseconds per code cell (minimum over the runs):')
    for seconds, first_line in per_cell:
        print(f'{seconds:7.2f}  {first_line[:70]}')
    print(f'\nwhole notebook: min {min(totals):.1f} s, max {max(totals):.1f} s '
          f'over {len(totals)} run(s)')


if __name__ == '__main__':
    main()
