"""pack_submission.py: what goes into submission.zip, and when it warns."""
import json
import shutil
import subprocess
import sys
import zipfile

import pytest

import pack_submission
from pack_submission import MESSAGES, pack

STUB = 'raise NotImplementedError("step (optimizer.py): not written yet, see the TODO above")'


def notebook(outputs, execution_count=1):
    """A one-cell notebook with these outputs."""
    cell = {'cell_type': 'code', 'execution_count': execution_count, 'id': 'c1',
            'metadata': {}, 'outputs': outputs, 'source': ['print(1)']}
    return json.dumps({'cells': [cell], 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5})


PRINTED = [{'output_type': 'stream', 'name': 'stdout', 'text': ['1\n']}]


@pytest.fixture
def kit(tmp_path):
    """A student's folder, finished: code, an executed notebook, a report, and what stays out."""
    (tmp_path / 'loss.py').write_text('def forward():\n    return 1\n')
    (tmp_path / 'optimizer.py').write_text('def step():\n    return 2\n')
    (tmp_path / 'runner.ipynb').write_text(notebook(PRINTED))
    (tmp_path / 'report.pdf').write_bytes(b'%PDF-1.4 report')
    for left_out in ('data/train-images-idx3-ubyte.gz', 'tests/test_loss.py',
                     '__pycache__/loss.cpython-311.pyc', 'figures/loss.png', 'results/run.json',
                     '.ipynb_checkpoints/runner-checkpoint.ipynb'):
        (tmp_path / left_out).parent.mkdir(exist_ok=True)
        (tmp_path / left_out).write_bytes(b'x')
    (tmp_path / 'submission.zip').write_bytes(b'an old one')
    return tmp_path


def test_packs_the_code_the_notebook_and_the_report_only(kit, tmp_path):
    names, warnings = pack(kit, tmp_path / 'out.zip')
    assert names == ['loss.py', 'optimizer.py', 'report.pdf', 'runner.ipynb']
    assert warnings == []
    with zipfile.ZipFile(tmp_path / 'out.zip') as archive:
        assert archive.namelist() == names
        assert archive.read('runner.ipynb') == (kit / 'runner.ipynb').read_bytes()


def test_warns_about_a_stub_left_in_place(kit):
    (kit / 'optimizer.py').write_text(f'def step():\n    {STUB}\n')
    _, warnings = pack(kit)
    assert warnings == [MESSAGES['stub'].format(file='optimizer.py', line=2)]


@pytest.mark.parametrize('outputs, execution_count, warning', [
    ([], None, MESSAGES['no_outputs'].format(file='runner.ipynb')),
    ([], 3, MESSAGES['no_outputs'].format(file='runner.ipynb')),
    ([{'output_type': 'error', 'ename': 'NameError', 'evalue': "name 'x' is not defined",
       'traceback': []}], 1,
     MESSAGES['error'].format(file='runner.ipynb', error="NameError: name 'x' is not defined")),
])
def test_warns_about_a_notebook_not_run_through(kit, outputs, execution_count, warning):
    (kit / 'runner.ipynb').write_text(notebook(outputs, execution_count))
    _, warnings = pack(kit)
    assert warnings == [warning]


def test_warns_about_unrun_cells(kit):
    cells = json.loads(notebook(PRINTED))
    cells['cells'].append({**cells['cells'][0], 'id': 'c2', 'execution_count': None,
                           'outputs': []})
    (kit / 'runner.ipynb').write_text(json.dumps(cells))
    _, warnings = pack(kit)
    assert warnings == [MESSAGES['unrun_cells'].format(file='runner.ipynb', unrun=1, cells=2)]


def test_warns_when_the_notebook_is_missing(kit):
    (kit / 'runner.ipynb').unlink()
    names, warnings = pack(kit)
    assert 'runner.ipynb' not in names and warnings == [MESSAGES['no_notebook']]


def run_packer(kit):
    shutil.copy(pack_submission.__file__, kit)
    return subprocess.run([sys.executable, 'pack_submission.py'], cwd=kit, capture_output=True,
                          text=True)


def test_command_line_warns_writes_the_zip_and_fails(kit):
    (kit / 'report.pdf').unlink()
    (kit / 'loss.py').write_text(f'def forward():\n    {STUB}\n')
    result = run_packer(kit)
    assert result.returncode == 1, result.stderr
    zip_file = kit / 'submission.zip'
    assert result.stdout.splitlines() == [
        MESSAGES['wrote'].format(out=zip_file,
                                 names='loss.py, optimizer.py, pack_submission.py, runner.ipynb'),
        MESSAGES['no_pdf'],
        MESSAGES['warning'].format(warning=MESSAGES['stub'].format(file='loss.py', line=2)),
        MESSAGES['warned'].format(out=zip_file, count=1)]
    with zipfile.ZipFile(kit / 'submission.zip') as archive:
        assert archive.namelist() == ['loss.py', 'optimizer.py', 'pack_submission.py',
                                      'runner.ipynb']


def test_command_line_without_warnings_succeeds(kit):
    result = run_packer(kit)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [MESSAGES['wrote'].format(
        out=kit / 'submission.zip',
        names='loss.py, optimizer.py, pack_submission.py, report.pdf, runner.ipynb')]


def test_packs_this_kit_without_its_data(tmp_path):
    names, _ = pack(out=tmp_path / 'out.zip')
    assert {'loss.py', 'optimizer.py', 'runner.ipynb'} <= set(names)
    assert all('/' not in name and name.endswith(('.py', '.ipynb', '.pdf')) for name in names)
