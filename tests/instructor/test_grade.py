"""tools/grade.py and tools/grading/: the rubric, finding submissions, the rules, the judge,
re-runs, the gradebook, and the level without root ('none')."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tools import KIT, check_tests, release
from tools.grading import official, rules, submissions
from tools.grading.rubric import DEFAULT_RUBRIC, Rubric, RubricError
from tools.grading.sandbox import Output

GRADE = [sys.executable, '-m', 'tools.grade']  # run in the kit's folder (cwd=KIT)


def rubric_from(tmp_path, text):
    path = tmp_path / 'rubric.toml'
    path.write_text(text)
    return Rubric(path, official.TESTS, rules.RULES)


def grade(*args):
    return subprocess.run(GRADE + [str(arg) for arg in args], capture_output=True, text=True,
                          timeout=600, cwd=KIT)


# -- the rubric ----------------------------------------------------------------------------------

def test_the_kit_rubric_uses_every_official_test_once_for_100_points():
    rubric = Rubric(DEFAULT_RUBRIC, official.TESTS, rules.RULES)
    assert rubric.max_score == 100
    used = [test for item in rubric.items.values() for test in item['tests']]
    assert sorted(used) == sorted(official.TESTS)
    assert set(rubric.rules) == set(rules.RULES)


@pytest.mark.parametrize('change, message', [
    (('points = 20', 'points = "twenty"'), 'items.forward.points = \'twenty\': must be a number'),
    (('tests = ["loss", "accuracy"]', 'tests = ["loss", "acc"]'), "names 'acc', which is not"),
    (('tests = ["grad_W", "grad_b"]', 'tests = ["grad_W", "loss"]'), "'loss' is in both"),
    (('[limits]', '[limits]\nseconds = 3'), 'unknown key limits.seconds'),
    (('memory_mib = 2048', 'memory_mib = 0'), 'limits.memory_mib = 0: must be a number >= 1'),
    (('[rules.loops]', '[rules.speed]'), 'rules.speed is not a rule the grader checks'),
    (('min_test_accuracy = 0.85', 'min_test_accuracy = 85'), 'must be a number >= 0 and <= 1'),
    (('seed = 20261125', 'seed = [1'), 'is not valid TOML'),
])
def test_a_bad_rubric_is_refused_naming_the_file_and_key(tmp_path, change, message):
    text = DEFAULT_RUBRIC.read_text()
    assert change[0] in text
    with pytest.raises(RubricError) as error:
        rubric_from(tmp_path, text.replace(change[0], change[1], 1))
    assert message in str(error.value) and str(tmp_path / 'rubric.toml') in str(error.value)


def test_grade_py_reports_a_bad_rubric_and_grades_nothing(tmp_path):
    (tmp_path / 'rubric.toml').write_text('seed = 1\n')
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'loss.py').write_text('')
    done = grade(tmp_path / 'sub', '--rubric', tmp_path / 'rubric.toml', '--out', tmp_path / 'o')
    assert done.returncode != 0 and 'no [items.<name>] tables' in done.stderr
    assert not (tmp_path / 'o').exists()


# -- finding and reading submissions ------------------------------------------------------------

def write_zip(path, members):
    with zipfile.ZipFile(path, 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_folders_zips_and_folders_of_them(tmp_path):
    (tmp_path / 'class' / 'ann').mkdir(parents=True)
    (tmp_path / 'class' / 'ann' / 'loss.py').write_text('# ann')
    (tmp_path / 'class' / 'ann' / 'optimizer.py').write_text('# ann')
    write_zip(tmp_path / 'class' / 'bob.zip', {'bob/loss.py': '# bob', 'bob/optimizer.py': '#',
                                              'bob/runner.ipynb': '{}', 'bob/data/x.py': '',
                                              '__MACOSX/bob/._loss.py': 'junk'})
    (tmp_path / 'class' / 'notes').mkdir()  # no submission inside: not one
    (tmp_path / 'carl').mkdir()
    (tmp_path / 'carl' / 'loss.py').write_text('# carl')
    found = submissions.find([tmp_path / 'class', tmp_path / 'carl'])
    assert [s.name for s in found] == ['ann', 'bob', 'carl']
    ann, bob, carl = (submission.read() for submission in found)
    assert ann.files == {'loss.py': b'# ann', 'optimizer.py': b'# ann'} and not ann.problems
    assert set(bob.files) == {'loss.py', 'optimizer.py', 'runner.ipynb'}
    assert bob.files['loss.py'] == b'# bob'
    assert carl.problems == ["optimizer.py is missing from the submission (looked in its top "
                             "folder)"]


def test_same_files_same_digest_and_a_change_changes_it(tmp_path):
    for name in ('a', 'b'):
        (tmp_path / name).mkdir()
        (tmp_path / name / 'loss.py').write_text('x = 1\n')
    a, b = submissions.find([tmp_path / 'a', tmp_path / 'b'])
    assert a.digest == b.digest
    (tmp_path / 'b' / 'loss.py').write_text('x = 2\n')
    assert submissions.Submission(tmp_path / 'b').digest != a.digest


def test_two_submissions_with_one_name_are_refused(tmp_path):
    for folder in ('x', 'y'):
        (tmp_path / folder).mkdir()
        write_zip(tmp_path / folder / 'ann.zip', {'loss.py': ''})
    with pytest.raises(ValueError, match="would both be graded as 'ann'"):
        submissions.find([tmp_path / 'x' / 'ann.zip', tmp_path / 'y' / 'ann.zip'])


def test_what_is_not_a_submission_is_named(tmp_path):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'file.txt').write_text('')
    with pytest.raises(ValueError, match='empty: holds no loss.py'):
        submissions.find([tmp_path / 'empty'])
    with pytest.raises(ValueError, match='file.txt: not a folder or a .zip'):
        submissions.find([tmp_path / 'file.txt'])
    with pytest.raises(ValueError, match='nothing: no such file'):
        submissions.find([tmp_path / 'nothing'])


def test_a_broken_zip_or_a_huge_file_is_a_problem_not_a_crash(tmp_path):
    (tmp_path / 'broken.zip').write_bytes(b'PK not really a zip')
    big = tmp_path / 'big.zip'
    with zipfile.ZipFile(big, 'w', zipfile.ZIP_DEFLATED) as archive:
        archive.writestr('loss.py', b'#' * (submissions.MAX_FILE_BYTES + 1))
        archive.writestr('optimizer.py', b'')
    broken = submissions.Submission(tmp_path / 'broken.zip').read()
    huge = submissions.Submission(big).read()
    assert broken.files == {} and 'could not be read' in broken.problems[0]
    assert 'loss.py' not in huge.files and 'over the 1 MiB' in huge.problems[0]


# -- the rules ----------------------------------------------------------------------------------

STUDENT_FUNCTIONS = {'loss.py': ['SoftmaxCrossEntropyLoss.forward',
                                 'SoftmaxCrossEntropyLoss.gradient_computing'],
                     'optimizer.py': ['SGD.step']}


def test_the_functions_students_write_are_found_from_the_release(tmp_path):
    release.build(tmp_path / 'release')
    assert rules.student_functions(tmp_path / 'release') == STUDENT_FUNCTIONS


def test_the_solutions_break_no_rule():
    files = {name: (KIT / name).read_bytes() for name in ('loss.py', 'optimizer.py',
                                                           'solver.py', 'runner.ipynb')}
    assert rules.check(files, STUDENT_FUNCTIONS) == []


@pytest.mark.parametrize('code', [
    'import torch', 'import torch.nn as nn', 'from tensorflow import keras', 'import jax.numpy',
    'import importlib\nm = importlib.import_module("paddle")', 'm = __import__("mindspore")'])
def test_a_framework_import_is_found(code):
    findings = rules.check({'helper.py': code.encode()}, {})
    assert [(f.rule, f.file) for f in findings] == [('framework', 'helper.py')]
    assert 'forbids deep-learning frameworks' in findings[0].message


def test_a_framework_in_a_notebook_cell_is_found_too():
    notebook = {'cells': [{'cell_type': 'code', 'source': ['%matplotlib inline\n',
                                                           'import torch\n']},
                          {'cell_type': 'markdown', 'source': 'import torch'}]}
    findings = rules.check({'runner.ipynb': json.dumps(notebook).encode()}, {})
    assert [(f.rule, f.line) for f in findings] == [('framework', 2)]


def test_numpy_and_names_like_a_framework_are_fine():
    code = b'import numpy as np\nimport torchlike\nfrom jaxon import x\nimport os\n'
    assert rules.check({'loss.py': code}, {}) == []


LOOPS = '''
class SGD:
    def step(self):
        for name in ('W', 'b'):
            pass
        for value, grad in zip((self.W, self.b), (self.gW, self.gb)):
            pass
    def helper(self):
        for i in range(10):
            pass

class SoftmaxCrossEntropyLoss:
    def forward(self, Input, labels):
        rows = [row.max() for row in Input]
        i = 0
        while i < len(labels):
            i += 1
        f = np.vectorize(lambda x: x)
    def gradient_computing(self):
        for i, label in enumerate(self.labels):
            pass
'''


def test_loops_are_found_in_the_functions_students_write_only():
    findings = rules.check({'optimizer.py': LOOPS.encode(), 'loss.py': LOOPS.encode()},
                           STUDENT_FUNCTIONS)
    assert sorted((f.file, f.line) for f in findings) == [
        ('loss.py', 14), ('loss.py', 16), ('loss.py', 18), ('loss.py', 20)]
    assert all(f.rule == 'loops' for f in findings)
    assert 'in gradient_computing: a for loop' in findings[-1].message


def test_code_that_does_not_parse_is_still_read_for_imports():
    findings = rules.check({'loss.py': b'import torch\ndef broken(:\n'}, STUDENT_FUNCTIONS)
    assert [(f.rule, f.line) for f in findings] == [('framework', 1)]


# -- the judge and the output -------------------------------------------------------------------

def test_output_keeps_the_start_and_the_end():
    output = Output(10, 10)
    for chunk in (b'0123456789', b'abc' * 1000, b'the end!!!'):
        output.add(chunk)
    text = output.text()
    assert text.startswith('0123456789') and text.endswith('the end!!!')
    assert f'[... {3000} bytes not shown ...]' in text and output.total == 3020


@pytest.fixture(scope='module')
def judged():
    rubric = Rubric(DEFAULT_RUBRIC, official.TESTS, rules.RULES)
    cases = [case for case in official.all_cases(rubric) if case.group == 'loss']
    return rubric, cases, official.Judge()


def test_the_judge_explains_a_case_that_did_not_finish(judged):
    rubric, cases, judge = judged
    results = {case.name: ({key: case.expected[key] for key in ('loss', 'acc')},
                           'in gradient_computing: it took longer than 30 s')
               for case in cases}
    assert judge.judge('loss', cases, results)[0]
    ok, message = judge.judge('grad_W', cases, results)
    assert not ok and 'it took longer than 30 s' in message and '6 cases failed' in message


def test_the_judge_copes_with_outputs_of_any_kind(judged):
    rubric, cases, judge = judged
    results = {case.name: ({'loss': np.array(['a string']), 'acc': np.ones((3, 3))}, None)
               for case in cases}
    for test in ('loss', 'accuracy', 'grad_b'):
        ok, message = judge.judge(test, cases, results)
        assert not ok and message.startswith('Failed:')
    assert 'grad_b was not set' in judge.judge('grad_b', cases, results)[1]


# Each optimizer mistake of tools/mistakes/ and the hint its feedback must give.
OPTIMIZER_HINTS = {
    'weights_before_velocity': 'W moved by the old velocity',
    'momentum_ignores_learning_rate': 'the new velocity lacks the learning rate',
    'momentum_sign_flipped': 'the old velocity enters with a minus sign',
    'momentum_adds_the_gradient': 'the gradient is added',
    'bias_not_updated': 'b never changes',
    'weights_never_move': 'W never changes',
    'velocity_not_stored': 'it is what plain SGD gives',
    'momentum_as_moving_average': 'it is a moving average of the gradients',
}


def steps_of(mutant, case):
    """{'W', 'b'} after each step of case, with mutant's body as SGD.step."""
    code = compile(''.join(mutant.body), mutant.name, 'exec')
    layer = SimpleNamespace(W=case.inputs['W0'].copy(), b=case.inputs['b0'].copy())
    layer.diff_W, layer.diff_b = np.zeros_like(layer.W), np.zeros_like(layer.b)
    optimizer = SimpleNamespace(learning_rate=case.meta['learning_rate'],
                                momentum=case.meta['momentum'])
    after = {'W': [], 'b': []}
    for layer.grad_W, layer.grad_b in zip(case.inputs['grad_W'], case.inputs['grad_b']):
        exec(code, {'np': np}, {'layer': layer, 'self': optimizer})
        for name in after:
            after[name].append(getattr(layer, name).copy())
    return {name: np.stack(values) for name, values in after.items()}


def test_each_optimizer_mistake_gets_its_hint(judged):
    rubric, _, judge = judged
    cases = [case for case in official.all_cases(rubric) if case.group == 'sgd']
    mutants = {mutant.name: mutant for mutant in check_tests.load_mutants()
               if mutant.file == 'optimizer.py' and mutant.kind == 'mistake'}
    assert set(mutants) == set(OPTIMIZER_HINTS)
    for name, hint in OPTIMIZER_HINTS.items():
        results = {case.name: (steps_of(mutants[name], case), None) for case in cases}
        feedback = '\n'.join(judge.judge(test, cases, results)[1] for test in
                             rubric.items['optimizer']['tests'])
        assert any(line.startswith('Hint: ') and hint in line
                   for line in feedback.splitlines()), (name, feedback)
    right = check_tests.Mutant(KIT / 'tools' / 'mistakes' / 'ok_in_place_momentum.py')
    results = {case.name: (steps_of(right, case), None) for case in cases}
    assert all(judge.judge(test, cases, results)[0] for test in rubric.items['optimizer']['tests'])


# -- whole runs ---------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def graded(tmp_path_factory):
    """Two submissions graded once: the solutions, and the release's stubs."""
    tmp = tmp_path_factory.mktemp('graded')
    release.build(tmp / 'release')
    for name, source in (('ann', KIT), ('bob', tmp / 'release')):
        (tmp / 'class' / name).mkdir(parents=True)
        for file in ('loss.py', 'optimizer.py'):
            (tmp / 'class' / name / file).write_bytes((source / file).read_bytes())
    first = grade(tmp / 'class', '-j', '2', '--out', tmp / 'grades')
    return tmp, first


def test_a_run_writes_results_a_gradebook_and_a_table(graded):
    tmp, first = graded
    assert first.returncode == 0, first.stderr
    with open(tmp / 'grades' / 'gradebook.csv', newline='') as stream:
        rows = list(csv.DictReader(stream))
    assert [(row['submission'], float(row['score'])) for row in rows] == [('ann', 100),
                                                                         ('bob', 0)]
    assert rows[0]['gradients'] == '30.0' and rows[1]['rule_loops'] == '0'
    table = first.stdout.splitlines()
    assert any(line.split()[:2] == ['ann', '20/20'] and '100/100' in line for line in table)
    results = json.loads((tmp / 'grades' / 'bob' / 'results.json').read_text())
    assert results['score'] == 0 and results['max_score'] == 100
    assert [test['name'] for test in results['tests']] == [
        item['title'] for item in Rubric(DEFAULT_RUBRIC, official.TESTS, rules.RULES)
        .items.values()]


def test_a_second_run_skips_what_is_graded_and_grades_what_changed(graded):
    tmp, _ = graded
    before = (tmp / 'grades' / 'ann' / 'results.json').stat().st_mtime_ns
    again = grade(tmp / 'class', '--out', tmp / 'grades')
    assert again.returncode == 0 and '2 already graded, skipped' in again.stdout
    assert (tmp / 'grades' / 'ann' / 'results.json').stat().st_mtime_ns == before
    (tmp / 'class' / 'bob' / 'optimizer.py').write_bytes((KIT / 'optimizer.py').read_bytes())
    (tmp / 'class' / 'cat').mkdir()  # a new one, with an optimizer.py that never returns
    (tmp / 'class' / 'cat' / 'optimizer.py').write_text('while True:\n    pass\n')
    run = subprocess.Popen(GRADE + [str(tmp / 'class'), '--out', str(tmp / 'grades')], cwd=KIT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):  # stopped while it grades: bob's stale grade must not stay
        if not (tmp / 'grades' / 'bob' / 'results.json').exists() and \
                not (tmp / 'grades' / 'cat' / 'results.json').exists():
            break
        time.sleep(0.05)
    time.sleep(0.5)
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=120)
    with open(tmp / 'grades' / 'gradebook.csv', newline='') as stream:
        shown = {row['submission']: float(row['score']) for row in csv.DictReader(stream)}
    assert shown.get('bob') in (None, 25.0) and shown['ann'] == 100  # never bob's old 0
    shutil.rmtree(tmp / 'class' / 'cat')
    changed = grade(tmp / 'class', '--out', tmp / 'grades')
    assert '1 already graded' in changed.stdout and '[1/1] bob: 25/100' in changed.stdout
    forced = grade(tmp / 'class' / 'ann', '--out', tmp / 'grades', '--regrade')
    assert '[1/1] ann: 100/100' in forced.stdout
    assert (tmp / 'grades' / 'gradebook.csv').read_text().count('\n') == 3


def test_results_for_gradescope_land_where_asked(tmp_path):
    (tmp_path / 'submission' / 'nested').mkdir(parents=True)
    (tmp_path / 'submission' / 'nested' / 'loss.py').write_bytes((KIT / 'loss.py').read_bytes())
    done = grade(tmp_path / 'submission', '--results', tmp_path / 'results' / 'results.json',
                 '--out', tmp_path / 'grades')
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / 'results' / 'results.json').read_text())
    assert results['score'] == 60  # no optimizer.py: the optimizer and training items fail
    assert 'optimizer.py is missing' in results['output']


def test_without_root_isolation_the_run_still_kills_what_the_code_left(tmp_path):
    """The 'none' level: the code runs as this user; a child in a new session and a
    double-forked daemon are still found (we are their subreaper) and killed."""
    marker = f'none-level-{os.getpid()}'
    spawn = (f"import os, subprocess, sys\n"
             f"SLEEP = [sys.executable, '-c', 'import time; time.sleep(600)', '{marker}']\n"
             f"subprocess.Popen(SLEEP, start_new_session=True)\n"
             f"if os.fork() == 0:\n"
             f"    os.setsid()\n"
             f"    if os.fork() == 0:\n"
             f"        os.execv(SLEEP[0], SLEEP)\n"
             f"    os._exit(0)\n")
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'loss.py').write_text(spawn + (KIT / 'loss.py').read_text())
    (tmp_path / 'sub' / 'optimizer.py').write_bytes((KIT / 'optimizer.py').read_bytes())
    done = grade(tmp_path / 'sub', '--isolation', 'none', '--out', tmp_path / 'grades')
    assert done.returncode == 0, done.stderr
    assert "isolation 'none'" in done.stderr and '100/100' in done.stdout
    left = [entry.name for entry in Path('/proc').iterdir() if entry.name.isdigit()
            and marker.encode() in _cmdline(entry)]
    assert left == []


def _cmdline(entry):
    try:
        return (entry / 'cmdline').read_bytes()
    except OSError:
        return b''


def test_two_graders_at_once_leave_each_other_alone(tmp_path):
    """Each grader's processes run as uids of its own, so one's clean-up kills nothing of the
    other's: here the first grades a slow submission while the second cleans up after quick
    ones (with one shared uid, the second killed the first's runs)."""
    (tmp_path / 'slow' / 'ann').mkdir(parents=True)
    (tmp_path / 'slow' / 'ann' / 'loss.py').write_text(
        'import time\ntime.sleep(2)\n' + (KIT / 'loss.py').read_text())
    (tmp_path / 'slow' / 'ann' / 'optimizer.py').write_bytes((KIT / 'optimizer.py').read_bytes())
    release.build(tmp_path / 'release')
    for name in ('bob', 'cat', 'dan', 'eve'):
        (tmp_path / 'quick' / name).mkdir(parents=True)
        for file in ('loss.py', 'optimizer.py'):
            (tmp_path / 'quick' / name / file).write_bytes((tmp_path / 'release' / file)
                                                           .read_bytes())
    runs = [subprocess.Popen(GRADE + [str(tmp_path / folder), '--out', str(tmp_path / out)],
                             cwd=KIT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for folder, out in (('slow', 'slow-grades'), ('quick', 'quick-grades'))]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert '[1/1] ann: 100/100' in outputs[0], outputs[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="the memory cgroup of a run needs root")
def test_all_the_processes_of_a_run_share_one_memory_limit(tmp_path):
    """Three children of 400 MiB each fit the per-process limit, not 512 MiB together."""
    from tools.grading.grader import CHILD_ENV
    from tools.grading.sandbox import Sandbox
    box = Sandbox('namespace')
    assert box.memory_root, "no memory cgroup here: the limit would be per process only"
    code = ("import os, time\n"
            "pids = []\n"
            "for _ in range(3):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        block = bytearray(400 << 20)\n"  # zero-filled: every page is touched
            "        time.sleep(1)\n"
            "        os._exit(0)\n"
            "    pids.append(pid)\n"
            "print('killed', sum(os.waitpid(pid, 0)[1] == 9 for pid in pids))\n")
    os.chmod(tmp_path, 0o711)
    for limit, killed in ((512 << 20, 'killed 2'), (2048 << 20, 'killed 0')):
        job = tmp_path / f'job{limit}'
        job.mkdir()
        box.prepare(job, 0)
        output = Output(4096, 4096)
        status, _ = box.run(job, [sys.executable, '-I', '-c', code], 0,
                            {'memory': limit, 'cpu': 30}, CHILD_ENV, lambda: False, output)
        assert status == 0 and killed in output.text(), (limit, output.text())


def test_an_interrupted_run_keeps_what_it_graded_and_the_next_run_does_the_rest(tmp_path):
    for name in ('s1', 's2', 's3', 's4', 's5', 's6'):
        (tmp_path / 'class' / name).mkdir(parents=True)
        for file in ('loss.py', 'optimizer.py'):
            (tmp_path / 'class' / name / file).write_bytes((KIT / file).read_bytes())
    out = tmp_path / 'grades'
    run = subprocess.Popen(GRADE + [str(tmp_path / 'class'), '--out', str(out)], cwd=KIT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if len(list(out.glob('*/results.json'))) >= 2 or run.poll() is not None:
            break
        time.sleep(0.1)
    run.send_signal(signal.SIGINT)  # Ctrl-C
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 130 and 'interrupted: what was graded is saved' in stderr, stderr
    graded = len(list(out.glob('*/results.json')))
    assert 2 <= graded < 6
    again = grade(tmp_path / 'class', '--out', out)
    assert f'{graded} already graded, skipped' in again.stdout
    with open(out / 'gradebook.csv', newline='') as stream:
        assert [float(row['score']) for row in csv.DictReader(stream)] == [100.0] * 6


STUBBORN = """import os, signal, subprocess, sys, time
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(number, signal.SIG_IGN)
harness = sys.modules['__main__']
os.write(harness.PIPE, b'R\\x00\\x00')  # half a message: the grader's reader waits for more
IGNORE = 'import signal, time\\nfor n in (1, 2, 15): signal.signal(n, signal.SIG_IGN)\\n'
subprocess.Popen([sys.executable, '-c', IGNORE + 'time.sleep(600)', '{marker}'],
                 start_new_session=True, pass_fds=(harness.PIPE,))  # holds the pipe open
if os.fork() == 0:
    os.setpgid(0, 0)  # a process group of its own
    os.execv(sys.executable, [sys.executable, '-c', IGNORE + 'time.sleep(600)', '{marker}'])
time.sleep(600)
"""


def test_ctrl_c_stops_a_run_within_seconds_whatever_the_code_does(tmp_path):
    """The graded code ignores signals, starts a new session and a process group of its own,
    and leaves the grader's pipe half a message, held open by its children."""
    marker = f'stubborn-{os.getpid()}'
    (tmp_path / 'class' / 'ann').mkdir(parents=True)
    (tmp_path / 'class' / 'ann' / 'loss.py').write_text(STUBBORN.format(marker=marker))
    (tmp_path / 'class' / 'ann' / 'optimizer.py').write_bytes((KIT / 'optimizer.py').read_bytes())
    run = subprocess.Popen(GRADE + [str(tmp_path / 'class'), '--out', str(tmp_path / 'grades')],
                           cwd=KIT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(1200):  # until the stubborn processes run
        if len(marked(marker)) >= 2 or run.poll() is not None:
            break
        time.sleep(0.1)
    assert len(marked(marker)) >= 2, run.communicate()
    time.sleep(1)
    asked = time.monotonic()
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    took = time.monotonic() - asked
    assert run.returncode == 130 and 'interrupted' in stderr, stderr
    assert took < 10, f"Ctrl-C took {took:.1f} s"
    assert marked(marker) == []


def marked(marker):
    """pids of the processes whose command line holds marker."""
    return [int(entry.name) for entry in Path('/proc').iterdir()
            if entry.name.isdigit() and marker.encode() in _cmdline(entry)]


def test_a_submission_the_grader_cannot_save_is_reported_and_the_others_are_graded(tmp_path):
    for name in ('ann', 'bob'):
        (tmp_path / 'class' / name).mkdir(parents=True)
        for file in ('loss.py', 'optimizer.py'):
            (tmp_path / 'class' / name / file).write_bytes((KIT / file).read_bytes())
    (tmp_path / 'grades').mkdir()
    (tmp_path / 'grades' / 'ann').write_text('a file where the folder of results should be')
    done = grade(tmp_path / 'class', '--out', tmp_path / 'grades')
    assert done.returncode == 1 and 'could not grade ann, which stays ungraded' in done.stderr
    assert "1 could not be graded (ann)" in done.stderr
    assert json.loads((tmp_path / 'grades' / 'bob' / 'results.json').read_text())['score'] == 100
