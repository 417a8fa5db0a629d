"""A stand-in for PyTorch, shipped with the submission: importable where the harness runs."""
VERSION = 'fake'
