"""tools/gradescope.py: the autograder zip holds what the grader needs and never the solutions,
and its run_autograder grades a submission as Gradescope would run it.

The zip is built once. Each grading case unzips it into tmp_path/autograder/source (keeping the
modes its entries carry), copies run_autograder to tmp_path/autograder/ as Gradescope does, puts
the submission's files into tmp_path/autograder/submission, and runs `bash run_autograder` from
tmp_path/autograder with AUTOGRADER_ROOT set to it and PYTHON to this Python.
"""
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kit.idx import MNIST_SHA256
from tools import KIT, gradescope, release
from tools.grading import GRADER_FILES, official, rules
from tools.grading.rubric import Rubric

RUBRIC = KIT / 'tools' / 'rubric.toml'
EXECUTABLES = ('setup.sh', 'run_autograder')


@pytest.fixture(scope='module')
def autograder(tmp_path_factory):
    """(the zip's path, {name in the zip: bytes} as read back from it)."""
    out = tmp_path_factory.mktemp('gradescope') / 'autograder.zip'
    gradescope.build(out)
    with zipfile.ZipFile(out) as archive:
        return out, {name: archive.read(name) for name in archive.namelist()}


def run_autograder(zip_path, root, files, change=None, python=sys.executable):
    """(results.json as a dict, the CompletedProcess) of grading files ({name: bytes})."""
    gradescope.extract(zip_path, root / 'source')
    shutil.copy2(root / 'source' / 'run_autograder', root / 'run_autograder')
    (root / 'submission').mkdir()
    (root / 'results').mkdir()
    for name, data in files.items():
        (root / 'submission' / name).write_bytes(data)
    if change:
        change(root / 'source')
    env = {**os.environ, 'AUTOGRADER_ROOT': str(root), 'PYTHON': str(python)}
    done = subprocess.run(['bash', 'run_autograder'], cwd=root, env=env, capture_output=True,
                          text=True, errors='replace', timeout=300)
    said = f"run_autograder said:\n{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, said
    path = root / 'results' / 'results.json'
    assert path.is_file(), f"no results.json; {said}"
    try:
        return json.loads(path.read_text()), done
    except ValueError as err:
        pytest.fail(f"results.json is not JSON ({err}): {path.read_text()!r}; {said}")


def every_output(results):
    return '\n'.join([results.get('output', '')]
                     + [test.get('output', '') for test in results.get('tests', [])])


def kit_files(*names):
    return {name: (KIT / name).read_bytes() for name in names}


# -- the zip -----------------------------------------------------------------------------------

def test_the_zip_holds_the_grader_the_data_and_the_student_release(autograder):
    _, files = autograder
    grader = list(GRADER_FILES)
    grader += [f'tools/grading/{path.name}' for path in (KIT / 'tools' / 'grading').glob('*.py')]
    needed = ['setup.sh', 'run_autograder', 'requirements-grader.txt', 'tools/rubric.toml'] + grader
    assert sorted(set(needed) - set(files)) == []
    for name in grader:
        assert files[name] == (KIT / name).read_bytes(), name
    assert files['tools/rubric.toml'] == RUBRIC.read_bytes()
    mnist = tuple(f'{name}.gz' for name in MNIST_SHA256)
    for name in mnist + ('README.md',):  # the data, once: in the release
        assert files[f'release/data/{name}'] == (KIT / 'data' / name).read_bytes()
        assert f'data/{name}' not in files
    shipped = {f'release/{path.as_posix()}' for path in release.release_files(KIT)}
    assert {name for name in files if name.startswith('release/')} == shipped | {
        'release/README.md'}
    assert set(files) == set(needed) | shipped | {'release/README.md'}
    assert not any('__pycache__' in name or name.endswith('.pyc') for name in files)


def test_the_grader_requirements_are_numpy_and_pytest_at_the_kits_minimums(autograder):
    _, files = autograder
    lines = files['requirements-grader.txt'].decode().splitlines()
    kit = (KIT / 'requirements.txt').read_text().splitlines()
    assert [line.split('>=')[0] for line in lines] == ['numpy', 'pytest']
    assert all(line in kit for line in lines), (lines, kit)


def test_the_zip_never_holds_the_solutions(autograder):
    _, files = autograder
    assert 'loss.py' not in files and 'optimizer.py' not in files
    for name, data in files.items():
        assert b'### BEGIN SOLUTION' not in data and b'### END SOLUTION' not in data, name
    for name in ('loss.py', 'optimizer.py'):
        assert release.STUB_PHRASE.encode() in files[f'release/{name}']


def test_setup_and_run_autograder_are_executable_scripts(autograder):
    path, files = autograder
    with zipfile.ZipFile(path) as archive:
        modes = {info.filename: (info.external_attr >> 16) for info in archive.infolist()}
    for name in files:
        want = 0o755 if name in EXECUTABLES else 0o644
        assert stat.S_IMODE(modes[name]) == want and stat.S_ISREG(modes[name]), name
    for name in EXECUTABLES:
        assert files[name].startswith(b'#!/usr/bin/env bash\n')
        check = subprocess.run(['bash', '-n'], input=files[name], capture_output=True)
        assert check.returncode == 0, check.stderr.decode()


def test_the_scripts_are_their_templates_with_the_placeholders_filled_in(autograder):
    _, files = autograder
    for name, template in gradescope.SCRIPTS.items():
        text = (KIT / 'tools' / 'templates' / template).read_text()
        assert '@GRADER_PYTHON@' in text
        filled = text.replace('@GRADER_PYTHON@', gradescope.GRADER_PYTHON).replace(
            '@REQUIREMENTS@', gradescope.REQUIREMENTS)
        assert files[name].decode() == filled, name
        assert b'@GRADER_PYTHON@' not in files[name] and b'@REQUIREMENTS@' not in files[name]


def test_a_template_with_an_unknown_placeholder_or_none_at_all_stops_the_build(tmp_path):
    source = tmp_path / 'kit'
    shutil.copytree(KIT / 'tools' / 'templates', source / 'tools' / 'templates')
    template = source / 'tools' / 'templates' / gradescope.SCRIPTS['setup.sh']
    template.write_text(template.read_text() + 'echo @GRADER_VENV@\n')
    with pytest.raises(ValueError, match=r'gradescope_setup.sh has placeholders nothing fills '
                                         r'in: @GRADER_VENV@'):
        gradescope.script('setup.sh', source)
    template.unlink()
    with pytest.raises(FileNotFoundError, match='gradescope_setup.sh'):
        gradescope.script('setup.sh', source)


def test_the_same_kit_gives_the_same_zip_byte_for_byte(autograder, tmp_path):
    again = tmp_path / 'again.zip'
    gradescope.build(again)
    assert again.read_bytes() == autograder[0].read_bytes()


def test_extract_keeps_each_entrys_mode_and_refuses_entries_outside_the_folder(autograder,
                                                                              tmp_path):
    gradescope.extract(autograder[0], tmp_path / 'source')
    for name in EXECUTABLES:
        assert stat.S_IMODE((tmp_path / 'source' / name).stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / 'source' / 'tools' / 'grade.py').stat().st_mode) == 0o644
    evil = tmp_path / 'evil.zip'
    with zipfile.ZipFile(evil, 'w') as archive:
        archive.writestr('../outside.txt', 'no')
    with pytest.raises(ValueError, match='outside'):
        gradescope.extract(evil, tmp_path / 'elsewhere')
    assert not (tmp_path / 'outside.txt').exists()


def test_the_check_refuses_any_solution():
    stubs = {f'release/{name}': release.STUB_PHRASE.encode()
             for name in ('loss.py', 'optimizer.py')}
    gradescope.check_no_solutions(stubs)
    for leak in ({'loss.py': b'import numpy\n'},
                 {'optimizer.py': b''},
                 {'release/loss.py': (KIT / 'loss.py').read_bytes()},
                 {'notes/copy.txt': b'    ### BEGIN SOLUTION\n'},
                 {'release/optimizer.py': b'    ### END SOLUTION\n'},
                 {'release/loss.py': b'def forward(self):\n    pass\n'}):
        with pytest.raises(ValueError, match='solutions|no stub'):
            gradescope.check_no_solutions({**stubs, **leak})


def test_a_release_holding_the_solutions_stops_the_build_before_anything_is_written(
        tmp_path, monkeypatch):
    def leaky_build(out, source=KIT, **options):  # a release with the kit's own loss.py
        Path(out).mkdir(parents=True)
        for name in ('loss.py', 'optimizer.py'):
            shutil.copy(KIT / name, Path(out) / name)

    monkeypatch.setattr(release, 'build', leaky_build)
    out = tmp_path / 'autograder.zip'
    with pytest.raises(ValueError, match='would hold the solutions'):
        gradescope.build(out)
    assert list(tmp_path.iterdir()) == []


def test_the_kit_a_folder_or_a_file_that_is_no_zip_is_never_overwritten(tmp_path):
    other = tmp_path / 'notes.zip'
    other.write_text('not a zip')
    for out in (KIT, KIT / 'tools', KIT / 'loss.py', other, tmp_path):
        with pytest.raises(ValueError, match='refusing'):
            gradescope.check_out_path(out)
    assert other.read_text() == 'not a zip'
    gradescope.check_out_path(tmp_path / 'autograder.zip')


def test_the_command_writes_the_zip_atomically_with_the_rubric_given(tmp_path, capsys):
    rubric = tmp_path / 'spring.toml'
    rubric.write_text(RUBRIC.read_text().replace('seed = 20261125', 'seed = 7'))
    out = tmp_path / 'out' / 'autograder.zip'
    gradescope.main(['--out', str(out), '--rubric', str(rubric)])
    printed = capsys.readouterr().out
    with zipfile.ZipFile(out) as archive:
        assert archive.read('tools/rubric.toml') == rubric.read_bytes()
        count = len(archive.namelist())
    assert f"wrote {out}: {out.stat().st_size / 1e6:.1f} MB, {count} files" in printed
    assert sorted(path.name for path in out.parent.iterdir()) == ['autograder.zip']

    rubric.write_text('seed = = 7\n')
    before = out.read_bytes()
    with pytest.raises(SystemExit, match='not valid TOML'):
        gradescope.main(['--out', str(out), '--rubric', str(rubric)])
    assert out.read_bytes() == before
    assert sorted(path.name for path in out.parent.iterdir()) == ['autograder.zip']


# -- run_autograder, as Gradescope runs it -----------------------------------------------------

def test_the_reference_solution_gets_full_marks(autograder, tmp_path):
    results, _ = run_autograder(autograder[0], tmp_path / 'autograder',
                                kit_files('loss.py', 'optimizer.py'))
    max_score = Rubric(RUBRIC, official.TESTS, rules.RULES).max_score
    assert results['score'] == results['max_score'] == max_score, every_output(results)
    assert stat.S_IMODE((tmp_path / 'autograder' / 'source').stat().st_mode) & 0o077 == 0


def test_the_untouched_release_gets_zero(autograder, tmp_path):
    _, files = autograder
    results, _ = run_autograder(autograder[0], tmp_path / 'autograder',
                                {name: files[f'release/{name}']
                                 for name in ('loss.py', 'optimizer.py')})
    assert results['score'] == 0 and results['max_score'] > 0
    assert 'not written yet' in every_output(results)


def test_an_empty_submission_gets_zero_and_is_told_loss_py_is_missing(autograder, tmp_path):
    results, _ = run_autograder(autograder[0], tmp_path / 'autograder', {})
    assert results['score'] == 0
    assert 'loss.py is missing' in every_output(results), every_output(results)


def test_a_submission_zip_is_graded_from_the_zip(autograder, tmp_path):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, 'w') as archive:
        for name in ('loss.py', 'optimizer.py'):
            archive.write(KIT / name, f'submission/{name}')
    results, _ = run_autograder(autograder[0], tmp_path / 'autograder',
                                {'submission.zip': packed.getvalue()})
    assert results['score'] == results['max_score'] > 0, every_output(results)


def test_when_the_grader_crashes_the_student_is_told_and_gets_zero(autograder, tmp_path):
    def break_rubric(source):
        (source / 'tools' / 'rubric.toml').write_text('seed = = 1\n')

    results, done = run_autograder(autograder[0], tmp_path / 'autograder',
                                   kit_files('loss.py', 'optimizer.py'), change=break_rubric)
    assert results['score'] == 0
    assert results['output'].startswith('The autograder failed'), results['output']
    assert 'not valid TOML' in results['output']  # the end of grade.py's own output
    assert 'not valid TOML' in done.stdout  # and the staff see all of it in Gradescope's stdout


def test_the_failure_report_is_valid_json_whatever_the_grader_printed(autograder, tmp_path):
    """No grade.py runs here: PYTHON is a script that prints awkward text and fails."""
    fake = tmp_path / 'fake-python'
    fake.write_text('#!/bin/sh\nprintf \'quote " backslash \\\\ tab \\t bell \\a\\n\'\n'
                    'printf \'\\344\\275\\240\\345\\245\\275 (utf-8), \\377 (not)\\n\'\n'
                    'echo "the last line" >&2\nexit 3\n')
    fake.chmod(0o755)
    results, _ = run_autograder(autograder[0], tmp_path / 'autograder', {}, python=fake)
    assert results['score'] == 0
    output = results['output']
    assert 'exited with status 3' in output
    assert 'quote " backslash \\ tab \t bell ?\n' in output
    assert '?????? (utf-8), ? (not)\n' in output
    assert output.endswith('the last line\n')
