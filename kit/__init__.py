"""The kit's own helpers: what the assignment's files import, but a student need not read.

Students edit loss.py and optimizer.py, and run runner.ipynb; the modules here read and check
the data files and run the notebook's experiments.
"""
