"""One BLAS thread unless you set a count: import this module before numpy.

The products of softmax regression are small (100x784 by 784x10), so a second thread gains about
5% on an idle machine, and costs 5 to 50 times as much when another job holds a core (README,
"Speed"). numpy's BLAS reads its thread count from the environment once, when numpy is first
imported. If you set any of the variables below (OMP_NUM_THREADS=2, say), they are left alone.
"""
import os

# OpenBLAS, MKL and BLIS also read OMP_NUM_THREADS; macOS's Accelerate reads only its own.
BLAS_THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS',
                         'VECLIB_MAXIMUM_THREADS')
ONE_THREAD = {'OMP_NUM_THREADS': '1', 'VECLIB_MAXIMUM_THREADS': '1'}


def every_blas(threads):
    """{variable: threads} for every BLAS variable: what a child process's environment needs to
    run with that many threads whatever the parent's environment holds."""
    return {variable: str(threads) for variable in BLAS_THREAD_VARIABLES}

if not any(variable in os.environ for variable in BLAS_THREAD_VARIABLES):
    os.environ.update(ONE_THREAD)
