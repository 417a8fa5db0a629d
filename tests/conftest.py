"""Shared fixtures: a small IDX data set in a temporary folder, and the reference fixtures."""
import os

import pytest

import solver  # noqa: F401  before numpy: it sets the kit's BLAS thread default (one thread)
from idx_helpers import write_dataset
from reference_check import load_reference

os.environ.setdefault('MPLBACKEND', 'Agg')


@pytest.fixture
def small_data(tmp_path):
    """A folder with a small 3-class data set of 4x5 images: 40 training, 12 test."""
    arrays = write_dataset(tmp_path / 'data')
    return tmp_path / 'data', arrays


@pytest.fixture(scope='session')
def reference():
    """The reference fixtures: {'loss/<case>/<name>' or 'sgd/<case>/<name>': array}."""
    return load_reference()
