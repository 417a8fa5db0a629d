"""Compare a student's numbers with the reference fixtures, and say clearly what differs."""
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent / 'fixtures' / 'reference.npz'


def load_reference():
    """{'loss/<case>/<name>' or 'sgd/<case>/<name>': array}, as tools/make_fixtures.py wrote."""
    with np.load(FIXTURES) as npz:
        return {key: npz[key] for key in npz.files}


def case_names(prefix):
    """The fixture cases under prefix ('loss' or 'sgd'), e.g. ['batch_of_one', 'small', ...]."""
    return sorted({key.split('/')[1] for key in load_reference() if key.startswith(prefix + '/')})


def case(reference, prefix, name):
    """{quantity: array} of one fixture case."""
    start = f'{prefix}/{name}/'
    return {key[len(start):]: value for key, value in reference.items() if key.startswith(start)}


def assert_matches(quantity, got, expected, rtol=1e-7, atol=1e-10):
    """Fail with a message naming the quantity and how far it is from the reference."""
    expected = np.asarray(expected)
    if got is None:
        pytest.fail(f"{quantity} was not set")
    got = np.asarray(got)
    if got.shape != expected.shape:
        pytest.fail(f"{quantity} has shape {got.shape}, expected {expected.shape}")
    if not np.all(np.isfinite(got)):
        pytest.fail(f"{quantity} contains NaN or inf: {got}")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        error = np.max(np.abs(got - expected))
        pytest.fail(f"{quantity} differs from the reference by up to {error:.3g} "
                    f"(largest reference entry {np.max(np.abs(expected)):.3g}; "
                    f"tolerance rtol={rtol}, atol={atol})")
