"""The grader against hostile and broken submissions (tests/instructor/samples/, its README).

One run of tools/grade.py -j 2 grades every sample, with the kit's rubric but shorter limits.
Each must get exactly the points its sample.toml gives, within its time; afterwards nothing a
sample started may still run, no kit file may have changed, the server these tests run on
127.0.0.1 must have heard from no one, and the grader's own peak memory (which grade.py reports)
must have stayed under 1 GiB, whatever the samples sent it.

That run happens at two isolation levels: 'namespace', and 'uid' (Gradescope's) when
GRADER_UID_PYTHON names a Python, with numpy and pytest, that other users may run (.ci/run
makes one; the kit's Python here lives in /root, which they may not enter). At the uid level,
files everyone may read stay readable, so reads_secrets is left out there: it finds this kit's
solutions (README, "Grading": keep the grader's files private, as run_autograder does).
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
import zlib
from pathlib import Path

import pytest

from tools import KIT, release
from tools.sample_submissions import NAMES, NOT_AT_UID_LEVEL, Listener, leftovers, spec, write

MARKER = f'grader-sample-{uuid.uuid4().hex[:12]}'
LIMITS = {'seconds_per_test = 30': 'seconds_per_test = 5',
          'seconds_per_submission = 180': 'seconds_per_submission = 60'}
WATCHED = ['loss.py', 'optimizer.py', 'solver.py', 'dataloader.py', 'tools/rubric.toml',
           'tests/fixtures/reference.npz', 'data/train-images-idx3-ubyte.gz',
           'tools/grading/harness.py']

LEVELS = ('namespace', 'uid')
UID_PYTHON = os.environ.get('GRADER_UID_PYTHON')

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason=(
    "hostile samples need the grader's root isolation levels (namespace or uid); as another "
    "user the graded code runs as you"))


def digests():
    return {name: hashlib.sha256((KIT / name).read_bytes()).hexdigest() for name in WATCHED}


@pytest.fixture(scope='module', params=LEVELS)
def run(request, tmp_path_factory):
    level, python = request.param, sys.executable
    names = NAMES
    if level == 'uid':
        if not UID_PYTHON:
            pytest.skip("set GRADER_UID_PYTHON to a Python with numpy and pytest that other "
                        "users may run, as .ci/run does, to test the uid level")
        python, names = UID_PYTHON, [name for name in NAMES if name not in NOT_AT_UID_LEVEL]
    tmp = tmp_path_factory.mktemp(f'samples-{level}')
    stubs = tmp / 'release'
    release.build(stubs)
    os.chmod(stubs, 0o755)
    listener = Listener()
    for name in names:
        write(name, tmp / 'submissions' / name, stubs, listener.port, MARKER)
    rubric = (KIT / 'tools' / 'rubric.toml').read_text()
    for old, new in LIMITS.items():
        assert old in rubric, f"tools/rubric.toml no longer says {old!r}: update LIMITS here"
        rubric = rubric.replace(old, new)
    (tmp / 'rubric.toml').write_text(rubric)
    before = digests()
    done = subprocess.run(
        [python, '-m', 'tools.grade', str(tmp / 'submissions'), '-j', '2',
         '--rubric', str(tmp / 'rubric.toml'), '--out', str(tmp / 'grades'),
         '--release', str(stubs), '--isolation', level],
        cwd=KIT, capture_output=True, text=True, timeout=900)
    return {'level': level, 'names': names, 'done': done, 'grades': tmp / 'grades',
            'heard': listener.heard,
            'changed': [name for name, digest in digests().items() if before[name] != digest],
            'leftovers': leftovers(MARKER)}


def test_the_run_goes_on_and_grades_every_sample(run):
    done = run['done']
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"isolation {run['level']}" in done.stdout, done.stdout
    rows = (run['grades'] / 'gradebook.csv').read_text().splitlines()
    assert sorted(row.split(',')[0] for row in rows[1:]) == run['names']


def test_the_grader_itself_stays_under_a_gib(run):
    """Whatever the samples send back (balloons_outputs, floods_messages, floods_output...)."""
    summary = next(line for line in run['done'].stdout.splitlines() if line.startswith('graded '))
    print(f"\n{run['level']}: {summary}")
    peak = int(re.search(r"the grader's peak memory was (\d+) MiB", summary).group(1))
    assert peak < 1024, summary


def test_nothing_a_sample_started_is_left_running(run):
    assert run['leftovers'] == [], f"processes still running: {run['leftovers']}"


def test_no_kit_file_changed(run):
    assert run['changed'] == []


def test_no_sample_reached_the_network(run):
    assert run['heard'] == []


@pytest.mark.parametrize('name', NAMES)
def test_the_sample_gets_its_expected_points(run, name):
    if name not in run['names']:
        pytest.skip(f"not run at the {run['level']} level (see the module's docstring)")
    expect = spec(name)['expect']
    path = run['grades'] / name / 'results.json'
    results = json.loads(path.read_text())
    items = {test['tags'][0]: test['score'] for test in results['tests'] if test['tags'][0]
             != 'rule'}
    for item, points in items.items():
        assert items[item] == pytest.approx(expect[item], abs=1e-3), \
            f"{item}: {points} points, expected {expect[item]}\n" + \
            next(t['output'] for t in results['tests'] if t['tags'][0] == item)
    assert results['score'] == pytest.approx(expect['score'], abs=1e-3)
    broken = sorted({test['tags'][1] for test in results['tests'] if test['tags'][0] == 'rule'})
    assert broken == sorted(expect['rules'])
    feedback = results['output'] + ''.join(test['output'] for test in results['tests'])
    for text in expect['feedback']:
        assert text in feedback, f"the feedback does not say {text!r}:\n{feedback[:3000]}"
    for text in expect.get('absent', []):
        assert text not in feedback, f"the feedback says {text!r}:\n{feedback[:3000]}"
    assert results['execution_time'] <= expect['max_seconds']
    assert path.stat().st_size < 64 << 10  # however much the sample printed
    for test in results['tests']:
        assert {'name', 'score', 'max_score', 'output', 'visibility',
                'execution_time'} <= set(test)


# -- what the samples leave: leaves_things_behind and fills_disk_with_files name all they make
# after MARKER, in /tmp, /var/tmp, /dev/shm, their scratch folder and SysV IPC.

SHARED_FOLDERS = ('/tmp', '/var/tmp', '/dev/shm', '/dev/mqueue')


def marked_sysv_keys():
    """The SysV keys leaves_things_behind uses (its loss.py computes the same)."""
    key = zlib.crc32(MARKER.encode()) & 0x3FFFFFFF
    return {key, key + 1, key + 2}


def test_no_file_a_sample_made_is_left_where_everyone_may_write(run):
    left = [str(path) for folder in SHARED_FOLDERS if os.path.isdir(folder)
            for path in Path(folder).iterdir() if MARKER in path.name]
    assert left == []


def test_no_ipc_object_a_sample_made_is_left(run):
    keys, left = marked_sysv_keys(), []
    for kind in ('shm', 'msg', 'sem'):
        for line in Path('/proc/sysvipc', kind).read_text().splitlines()[1:]:
            if int(line.split()[0]) in keys:
                left.append(f'{kind}: {line.split()[:2]}')
    assert left == []
