"""Shared fixtures (a small IDX data set, the reference fixtures), and short reports for TODOs.

A test that fails on a NotImplementedError (the stub of a TODO not written yet) is reported in
one line, at the end: its name and the stub's message, rather than a traceback that repeats the
TODO. Other failures keep pytest's report (--tb=short in pytest.ini).
"""
import os
from pathlib import Path

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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Shorten the report of a failure on a NotImplementedError to where it was raised and its
    message, and mark it as a TODO not written yet."""
    outcome = yield
    report, error = outcome.get_result(), call.excinfo
    if report.failed and error is not None and error.errisinstance(NotImplementedError):
        raised = error.traceback[-1]
        report.longrepr = (f"{Path(raised.path).name}:{raised.lineno + 1}: "
                           f"NotImplementedError: {error.value}")
        report.not_written_yet = str(error.value)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """List the tests that failed on a TODO not written yet once, one line each, after pytest's
    own summary of the other failures."""
    stats = terminalreporter.stats
    failed = stats.get('failed', [])
    todo = [report for report in failed if hasattr(report, 'not_written_yet')]
    stats['failed'] = [report for report in failed if report not in todo]
    yield
    stats['failed'] = failed  # counted in the last line
    if todo:
        terminalreporter.write_sep('=', f'{len(todo)} failed on a TODO not written yet')
        for report in todo:
            terminalreporter.write_line(f"FAILED {report.nodeid} - {report.not_written_yet}")
