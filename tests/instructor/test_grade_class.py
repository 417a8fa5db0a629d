"""A whole class: zipped copies of the solutions graded with -j 2, every one full marks; and a
class where odd submissions stop no one.

How long it takes is measured, not asserted: docs/instructors.md, "Grading", has the figure and
its command, `GRADE_CLASS_SIZE=100 python -m pytest tests/instructor/test_grade_class.py -s`.
The suite grades a class of 50 (about 40 s of its time on 2 cores).
"""
import csv
import json
import os
import subprocess
import sys
import zipfile

from tools import KIT
from tools.grading.grader import remove_tree

CLASS_SIZE = int(os.environ.get('GRADE_CLASS_SIZE', 50))


def test_a_class_grades_with_two_jobs(tmp_path):
    for number in range(CLASS_SIZE):
        with zipfile.ZipFile(tmp_path / f'student{number:03}.zip', 'w') as archive:
            for file in ('loss.py', 'optimizer.py'):
                archive.write(KIT / file, file)
    done = subprocess.run([sys.executable, '-m', 'tools.grade', str(tmp_path), '-j', '2',
                           '--out', str(tmp_path / 'grades')],
                          cwd=KIT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    print(next(line for line in done.stdout.splitlines() if line.startswith('graded ')))
    with open(tmp_path / 'grades' / 'gradebook.csv', newline='') as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == CLASS_SIZE
    assert {float(row['score']) for row in rows} == {100.0}


def test_odd_submissions_affect_only_themselves(tmp_path):
    """Names that are not UTF-8 (a file's, a folder's, a zip entry's), a folder 1000 levels
    deep, notebooks that are not notebooks: each is said in its own feedback, every
    submission is graded, and the gradebook is written."""
    solution = {name: (KIT / name).read_bytes() for name in ('loss.py', 'optimizer.py')}
    notebooks = {'cells_not_a_list': b'{"cells": {"cell_type": "code"}}',
                 'source_a_number': b'{"cells": [{"cell_type": "code", "source": 7}]}',
                 'nested_too_deep': b'{"cells": ' + b'[' * 100_000 + b']' * 100_000 + b'}'}
    folders = {'ann': {}, os.fsdecode(b'b\xf6b'): {}, 'cat': {os.fsdecode(b'x\xff.py'): b''},
               'dan': {}, **{name: {'runner.ipynb': data} for name, data in notebooks.items()}}
    for name, extra in folders.items():
        (tmp_path / 'class' / name).mkdir(parents=True)
        for file, data in {**solution, **extra}.items():
            (tmp_path / 'class' / name / file).write_bytes(data)
    deep = tmp_path / 'class' / 'dan'
    for _ in range(1000):
        deep = deep / 'd'
        deep.mkdir()
    with zipfile.ZipFile(tmp_path / 'class' / 'eve.zip', 'w') as archive:
        for name, data in solution.items():  # cp437 names: no UTF-8 flag
            archive.writestr('\u00e9t\u00e9/' + name, data)
    try:
        done = subprocess.run([sys.executable, '-m', 'tools.grade', str(tmp_path / 'class'),
                               '-j', '2', '--out', str(tmp_path / 'grades')],
                              cwd=KIT, capture_output=True, text=True, timeout=1200)
    finally:
        remove_tree(tmp_path / 'class' / 'dan' / 'd')
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    with open(tmp_path / 'grades' / 'gradebook.csv', newline='') as stream:
        scores = {row['submission']: float(row['score']) for row in csv.DictReader(stream)}
    assert len(scores) == 8 and set(scores.values()) == {100.0}, scores
    said = {name: json.loads((tmp_path / 'grades' / name / 'results.json').read_text())['output']
            for name in scores}
    assert "a file name that is not UTF-8 was skipped" in said['cat']
    assert "folders deeper than 8 levels were not looked at" in said['dan']
    for name in notebooks:
        assert "runner.ipynb is not a notebook the grader can read" in said[name]
    assert [name for name in scores if name.startswith('b_b-')], scores
