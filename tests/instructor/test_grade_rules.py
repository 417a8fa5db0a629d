"""tools/grading/rules.py: loops count wherever they run on behalf of the functions students
write, however they are spelled; notebooks that are not notebooks are read as text."""
import json

import pytest

from tools.grading import rules

STUDENT_FUNCTIONS = {'loss.py': ['SoftmaxCrossEntropyLoss.forward',
                                 'SoftmaxCrossEntropyLoss.gradient_computing'],
                     'optimizer.py': ['SGD.step']}


def findings_in(loss, **others):
    files = {'loss.py': loss.encode(), **{f'{name}.py': text.encode()
                                         for name, text in others.items()}}
    return [(f.file, f.line, f.message) for f in rules.check(files, STUDENT_FUNCTIONS)
            if f.rule == 'loops']


def layer(forward, extra=''):
    """loss.py with forward's body, and extra code (helpers) before the class."""
    body = ''.join(f'        {line}\n' for line in forward.splitlines())
    return f"{extra}\nclass SoftmaxCrossEntropyLoss:\n    def forward(self, Input, labels):\n{body}"


@pytest.mark.parametrize('extra, forward, where', [
    ('def helper(x):\n    for row in x:\n        pass\n', 'helper(Input)',
     'in helper (which forward calls): a for loop'),
    ('def outer(x):\n    return inner(x)\ndef inner(x):\n    while x:\n        x -= 1\n',
     'outer(3)', 'in inner (which forward calls): a while loop'),
    ('import functools as ft\n', 'ft.reduce(lambda a, b: a + b, Input)', 'functools.reduce()'),
    ('from functools import reduce as fold\n', 'fold(max, Input)', 'functools.reduce()'),
    ('import itertools\nsm = itertools.starmap\n', 'list(sm(pow, Input))', 'itertools.starmap()'),
    ('', 'list(map(abs, range(len(labels))))', 'map()'),
    ('', 'list(filter(None, range(10)))', 'filter()'),
    ('import numpy as np\nfrom numpy import vectorize as v\n', 'v(abs)(Input)',
     'numpy.vectorize()'),
    ('', 'exec("for i in range(3):\\n    pass")', "a for loop in the code given to exec()"),
    ('', 'eval("[x for x in labels]")', "a comprehension in the code given to eval()"),
    ('', 'exec("for i in " + "range(3): pass")', "exec() of a string built as the code runs"),
    ('', 'eval(f"{labels}")', "eval() of a string built as the code runs"),
    ('def count(n):\n    return 0 if n == 0 else 1 + count(n - 1)\n', 'count(len(labels))',
     'in count (which forward calls): recursion'),
])
def test_a_loop_run_on_behalf_of_forward_is_found(extra, forward, where):
    found = findings_in(layer(forward, extra))
    assert len(found) == 1 and where in found[0][2], found


def test_methods_class_methods_and_other_files_are_followed():
    loss = ('from helpers import onehot\nimport helpers\n'
            'class SoftmaxCrossEntropyLoss:\n'
            '    def forward(self, Input, labels):\n'
            '        self.first(labels)\n'
            '        SoftmaxCrossEntropyLoss.second(labels)\n'
            '        onehot(labels)\n'
            '        helpers.rows(Input)\n'
            '    def first(self, labels):\n'
            '        return [label for label in labels]\n'
            '    @staticmethod\n'
            '    def second(labels):\n'
            '        for label in labels:\n'
            '            pass\n')
    helpers = ('def onehot(labels):\n    for label in labels:\n        pass\n'
               'def rows(x):\n    while False:\n        pass\n')
    found = findings_in(loss, helpers=helpers)
    assert [(file, line) for file, line, _ in found] == [('helpers.py', 2), ('helpers.py', 5),
                                                          ('loss.py', 10), ('loss.py', 13)]


def test_what_the_functions_never_run_and_vectorised_calls_are_not_findings():
    extra = ('import numpy as np\n'
             'def onehot_labels(labels):\n'  # the original skeleton's helper, unused
             '    out = np.zeros((len(labels), 10))\n'
             '    for i in range(len(labels)):\n'
             '        out[i, labels[i]] = 1\n'
             '    return out\n')
    forward = ('total = np.add.reduce(Input, axis=0)\n'
               'for name in ("W", "b"):\n    pass\n'
               'exec("x = 1")\n'
               'return super().forward(Input, labels)')
    assert findings_in(layer(forward, extra)) == []


def test_a_subclass_wrapping_its_namesake_is_not_recursion():
    loss = ('class SoftmaxCrossEntropyLoss:\n'
            '    def forward(self, Input, labels):\n        return 1\n'
            '_forward = SoftmaxCrossEntropyLoss.forward\n'
            'class SoftmaxCrossEntropyLoss(SoftmaxCrossEntropyLoss):\n'
            '    def forward(self, Input, labels):\n'
            '        _forward(self, Input, labels)\n'
            '        return super().forward(Input, labels)\n')
    assert findings_in(loss) == []


def test_following_calls_is_bounded():
    chain = ''.join(f'def f{i}(x):\n    return f{i + 1}(x)\n' for i in range(500))
    chain += 'def f500(x):\n    for _ in x:\n        pass\n'
    assert findings_in(layer('f0(labels)', chain)) == []  # past MAX_FOLLOWED: not followed
    short = ''.join(f'def g{i}(x):\n    return g{i + 1}(x)\n' for i in range(20))
    short += 'def g20(x):\n    for _ in x:\n        pass\n'
    assert len(findings_in(layer('g0(labels)', short))) == 1


@pytest.mark.parametrize('notebook, why', [
    ({'cells': {'cell_type': 'code'}}, 'it has no list of cells'),
    ({'cells': [{'cell_type': 'code', 'source': 42}]}, 'the source of its cell 1 is not text'),
    ({'cells': ['not a cell']}, 'its cell 1 is not a cell'),
    ([1, 2], 'it has no list of cells'),
])
def test_a_notebook_of_the_wrong_shape_is_a_problem_not_a_crash(notebook, why):
    problems = []
    data = json.dumps(notebook).encode()
    assert rules.check({'runner.ipynb': data}, STUDENT_FUNCTIONS, problems) == []
    assert problems == [f"runner.ipynb is not a notebook the grader can read ({why}); its text "
                        f"was searched for framework imports only"]


def test_a_notebook_nested_too_deeply_is_still_searched_for_imports():
    data = ('{"cells": [{"cell_type": "code", "source": ["import torch\\n"]}], "x": '
            + '[' * 100_000 + ']' * 100_000 + '}').encode()
    problems = []
    found = rules.check({'runner.ipynb': data}, STUDENT_FUNCTIONS, problems)
    assert [(f.rule, f.module) for f in found] == [('framework', 'torch')]
    assert 'its JSON is nested too deeply to read' in problems[0]


def test_what_the_harness_heard_adds_a_framework_once():
    static = rules.check({'loss.py': b'import torch\n'}, {})
    heard = [{'module': 'torch', 'stage': 'importing loss.py'},
             {'module': 'jax', 'stage': 'forward'}, {'module': 'jax', 'stage': 'training'}]
    added = rules.heard_findings(heard, static)
    assert [(f.rule, f.module) for f in added] == [('framework', 'jax')]
    assert 'tried to import jax as it ran (in forward)' in added[0].message
