"""kit/threads.py: one BLAS thread unless a thread count is set (README, "Speed"), in place
before numpy loads when solver.py is imported."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kit import threads

KIT = Path(threads.__file__).resolve().parent.parent
SHOW = ("import os, sys, {module}, kit.threads; "
        "print(repr(({{v: os.environ.get(v) for v in kit.threads.BLAS_THREAD_VARIABLES}}, "
        "'numpy' in sys.modules)))")


def fresh_process(module, **set_variables):
    """(the BLAS variables, whether numpy was loaded) after `import module` in a new Python,
    with none of the variables set but set_variables."""
    env = {key: value for key, value in os.environ.items()
           if key not in threads.BLAS_THREAD_VARIABLES}
    env.update(set_variables)
    shown = subprocess.run([sys.executable, '-c', SHOW.format(module=module)],
                           cwd=KIT, env=env, capture_output=True, text=True, check=True).stdout
    return eval(shown)  # (a dict of strings or None, a bool), printed by SHOW


def test_the_variables_cover_openblas_mkl_and_accelerate():
    assert set(threads.BLAS_THREAD_VARIABLES) >= {'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS',
                                                  'MKL_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS'}
    assert set(threads.ONE_THREAD) <= set(threads.BLAS_THREAD_VARIABLES)
    assert set(threads.ONE_THREAD.values()) == {'1'}


@pytest.mark.parametrize('module', ['kit.threads', 'solver'])
def test_one_thread_when_no_count_is_set(module):
    shown, _ = fresh_process(module)
    assert shown == {name: threads.ONE_THREAD.get(name) for name in threads.BLAS_THREAD_VARIABLES}


def test_kit_threads_loads_no_numpy():
    """numpy reads the variables when it loads: the module that sets them must come first."""
    _, numpy_loaded = fresh_process('kit.threads')
    assert not numpy_loaded


def test_solver_sets_them_before_it_imports_numpy():
    source = (KIT / 'solver.py').read_text(encoding='utf-8')
    code = [line for line in source.split('"""', 2)[2].splitlines()
            if line.strip() and not line.startswith('#')]
    assert code[0].startswith('import kit.threads'), code[0]


@pytest.mark.parametrize('variable', threads.BLAS_THREAD_VARIABLES)
def test_a_count_you_set_is_left_alone(variable):
    shown, _ = fresh_process('solver', **{variable: '2'})
    assert shown == {name: '2' if name == variable else None
                     for name in threads.BLAS_THREAD_VARIABLES}
