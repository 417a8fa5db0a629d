"""solver.py picks one BLAS thread unless a thread count is set (README, "Speed")."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import solver

KIT = Path(solver.__file__).resolve().parent
SHOW = ("import os, solver; "
        "print({v: os.environ.get(v) for v in solver.BLAS_THREAD_VARIABLES})")


def thread_variables_in_a_fresh_process(**set_variables):
    env = {key: value for key, value in os.environ.items()
           if key not in solver.BLAS_THREAD_VARIABLES}
    env.update(set_variables)
    shown = subprocess.run([sys.executable, '-c', SHOW], cwd=KIT, env=env, capture_output=True,
                           text=True, check=True).stdout
    return eval(shown)  # a dict of strings or None, printed by the line above


def test_one_thread_when_no_count_is_set():
    assert thread_variables_in_a_fresh_process() == {
        'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': None, 'MKL_NUM_THREADS': None}


@pytest.mark.parametrize('variable', solver.BLAS_THREAD_VARIABLES)
def test_a_count_you_set_is_left_alone(variable):
    shown = thread_variables_in_a_fresh_process(**{variable: '2'})
    assert shown == {name: '2' if name == variable else None
                     for name in solver.BLAS_THREAD_VARIABLES}
