"""Lets `python tools/NAME.py ...` run as `python -m tools.NAME ...` does.

A tool run by its path has tools/ first on sys.path, where `from tools import ...` finds
nothing. A tool's first lines import this module in that case only; it puts the kit's folder
there instead, runs the tool as the module tools.NAME, and exits with it.
"""
import runpy
import sys
from pathlib import Path

script = Path(sys.argv[0]).resolve()
sys.path[0] = str(script.parent.parent)
runpy.run_module(f'tools.{script.stem}', run_name='__main__', alter_sys=True)
sys.exit(0)
