"""tools/release.py --classroom: GitHub Classroom's workflow, and that its commands grade.

Each command of the workflow is run as the command grader runs it (a shell, in the repository's
folder, with little more than PATH and HOME): in the untouched release it must fail, and in the
same release with the kit's loss.py and optimizer.py in it, pass. The commands run a few at a
time; the notebook's takes about a minute.

The release here is the Chinese one (--lang zh), whose workflow and tests are the English one's:
its solved notebook command is also the check that the Chinese notebook runs top to bottom (the
English notebook runs in tests/test_notebook.py, and a notebook run is the slowest check there is).
"""
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from test_release import TODO_TESTS
from tools import release

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with jupyter (requirements.txt)
    yaml = None

KIT = Path(__file__).resolve().parents[2]
COMMAND_GRADER = 'classroom-resources/autograding-command-grader@v1'
REPORTER = 'classroom-resources/autograding-grading-reporter@v1'


def load_workflow(path):
    if yaml is None:
        pytest.fail("PyYAML is not installed (it comes with jupyter: pip install -r "
                    "requirements.txt); the workflow cannot be checked without it")
    return yaml.safe_load(path.read_text(encoding='utf-8'))


@pytest.fixture(scope='module')
def releases(tmp_path_factory):
    """{'stubs': the Chinese release built with classroom=True, 'solved': the same with the
    solutions}."""
    root = tmp_path_factory.mktemp('classroom')
    release.build(root / 'stubs', classroom=True, lang='zh')
    shutil.copytree(root / 'stubs', root / 'solved')
    for name in ('loss.py', 'optimizer.py'):
        shutil.copyfile(KIT / name, root / 'solved' / name)
    return {'stubs': root / 'stubs', 'solved': root / 'solved'}


@pytest.fixture(scope='module')
def workflow(releases):
    return load_workflow(releases['stubs'] / release.CLASSROOM_WORKFLOW)


def grader_steps(workflow):
    steps = workflow['jobs']['run-autograding-tests']['steps']
    return [step for step in steps if step.get('uses') == COMMAND_GRADER]


def test_the_workflow_is_in_the_release_only_with_classroom(releases, tmp_path):
    stubs = releases['stubs']
    assert (stubs / release.CLASSROOM_WORKFLOW).read_bytes() == \
        release.CLASSROOM_TEMPLATE.read_bytes()
    files = {path.relative_to(stubs).as_posix() for path in stubs.rglob('*') if path.is_file()}
    shipped = {path.as_posix() for path in release.release_files(KIT)}
    assert files == shipped | {'README.md', '.github/workflows/classroom.yml'}

    release.build(tmp_path / 'plain')
    assert not (tmp_path / 'plain' / '.github').exists()
    release.main(['--out', str(tmp_path / 'flag'), '--classroom'])
    assert (tmp_path / 'flag' / release.CLASSROOM_WORKFLOW).is_file()


def test_the_workflow_is_classrooms_with_one_graded_step_per_todo_test_file(workflow):
    # Classroom reads the scores only from this workflow name and this one job.
    assert workflow['name'] == 'Autograding Tests'
    assert list(workflow['jobs']) == ['run-autograding-tests']
    triggers = workflow.get('on', workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert 'push' in triggers
    steps = workflow['jobs']['run-autograding-tests']['steps']
    uses = [step.get('uses') for step in steps]
    assert uses[:2] == ['actions/checkout@v4', 'actions/setup-python@v5']
    assert str(steps[1]['with']['python-version']) == '3.11'
    assert uses[-1] == REPORTER

    graders = grader_steps(workflow)
    assert len(graders) + 3 == len(steps)
    ids = [step['id'] for step in graders]
    assert len(set(ids)) == len(ids) and all(id_.isalnum() for id_ in ids), ids
    for step in graders:
        inputs = step['with']
        assert set(inputs) == {'test-name', 'setup-command', 'command', 'timeout', 'max-score'}
        assert inputs['setup-command'] == 'python -m pip install -r requirements.txt'
        assert isinstance(inputs['max-score'], int) and inputs['max-score'] > 0
        assert isinstance(inputs['timeout'], int) and 0 < inputs['timeout'] <= 60
    assert sum(step['with']['max-score'] for step in graders) == 100

    reporter = steps[-1]
    assert reporter['with']['runners'].split(',') == ids
    assert reporter['env'] == {f'{id_.upper()}_RESULTS': f'${{{{ steps.{id_}.outputs.result }}}}'
                               for id_ in ids}

    commands = ' '.join(step['with']['command'] for step in graders)
    assert [name for name in TODO_TESTS if f'tests/{name}.py' not in commands] == []


def run(command, folder):
    """(exit code, output) of command run as the command grader runs it, in folder."""
    env = {'PATH': os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
           'HOME': os.environ.get('HOME', '/tmp'), 'FORCE_COLOR': 'true'}
    done = subprocess.run(command, shell=True, cwd=folder, env=env, capture_output=True,
                          text=True, errors='replace', timeout=900)
    return done.returncode, done.stdout[-3000:] + done.stderr[-2000:]


def test_every_command_fails_in_the_untouched_release_and_passes_with_the_solutions(
        releases, workflow):
    commands = [step['with']['command'] for step in grader_steps(workflow)]
    jobs = [(command, which) for command in commands for which in ('solved', 'stubs')]
    jobs.sort(key=lambda job: 'notebook' not in job[0])  # the longest (about a minute) first
    with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(lambda job: run(job[0], releases[job[1]]), jobs))
    wrong = []
    for (command, which), (code, output) in zip(jobs, results):
        if (code == 0) != (which == 'solved'):
            wrong.append(f"`{command}` exited with {code} in the release "
                         f"{'with the solutions' if which == 'solved' else 'as released'}:\n"
                         f"{output}")
        elif which == 'solved' and re.search(r'\d+ skipped', output):
            # a step whose tests skip would give its points for nothing checked
            wrong.append(f"`{command}` skipped tests in the release with the solutions:\n{output}")
    assert wrong == [], '\n\n'.join(wrong)
