"""Checks of the instructor's source itself: fixtures, solution markers, vectorised maths.

Not for students: a correct student answer may loop or compute in float64; the reference may not.
"""
import ast
import re

import numpy as np
import pytest

from loss import SoftmaxCrossEntropyLoss
from optimizer import SGD
from reference_check import load_reference
from tools import KIT, make_fixtures


def test_fixtures_are_those_of_the_reference_code():
    stored, fresh = load_reference(), make_fixtures.make_fixtures()
    assert sorted(stored) == sorted(fresh)
    for key in fresh:
        np.testing.assert_allclose(stored[key], fresh[key], rtol=1e-12, atol=1e-14, err_msg=key)


@pytest.mark.parametrize('filename, functions', [
    ('loss.py', ['forward', 'gradient_computing']),
    ('optimizer.py', ['step']),
])
def test_each_student_function_holds_one_marked_solution_region(filename, functions):
    source = (KIT / filename).read_text()
    tree = ast.parse(source)
    lines = source.splitlines()
    begins = [i for i, line in enumerate(lines, 1) if line.strip() == '### BEGIN SOLUTION']
    ends = [i for i, line in enumerate(lines, 1) if line.strip() == '### END SOLUTION']
    assert len(begins) == len(ends) == len(functions)
    defs = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    for name, begin, end in zip(functions, begins, ends):
        node = defs[name]
        # the END marker may follow the last statement of the function
        assert node.lineno < begin < end <= node.end_lineno + 1, name
        todo = '\n'.join(lines[node.lineno:begin])
        assert '# TODO' in todo, f'{name}: no TODO comment above its solution region'


@pytest.mark.parametrize('filename', ['loss.py', 'optimizer.py'])
def test_the_maths_has_no_python_loops(filename):
    tree = ast.parse((KIT / filename).read_text())
    loops = [node.lineno for node in ast.walk(tree)
             if isinstance(node, (ast.For, ast.While, ast.comprehension))]
    assert loops == [], f'{filename} loops at lines {loops}'


def test_the_product_imports_no_deep_learning_framework():
    framework = re.compile(r'^\s*(import|from)\s+(torch|tensorflow|jax|keras|mxnet|paddle)\b',
                           re.MULTILINE)
    product = [path for path in KIT.rglob('*.py') if 'tests' not in path.relative_to(KIT).parts]
    assert product
    assert [str(path) for path in product if framework.search(path.read_text())] == []


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_the_reference_computes_in_the_layer_dtype(dtype):
    """float32 end to end is what makes training fast; a float64 temporary would slow it."""
    rng = np.random.default_rng(3)
    layer = SoftmaxCrossEntropyLoss(6, 4, dtype=dtype, rng=0)
    optimizer = SGD(layer, 0.1, 0.9)
    loss, acc = layer.forward(rng.standard_normal((5, 6)).astype(dtype), rng.integers(0, 4, 5))
    layer.gradient_computing()
    optimizer.step()
    assert np.asarray(loss).dtype == dtype
    for name in ('grad_W', 'grad_b', 'diff_W', 'diff_b', 'W', 'b'):
        assert getattr(layer, name).dtype == dtype, name
