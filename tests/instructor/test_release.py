"""tools/release.py: the student release is exact, complete, and fails only where a TODO is.

The release is built once into a temporary folder in each language (--lang en, the default, and
zh), and its tests are run there as a student would run them. The Chinese release's own checks
(every text translated and nothing else changed) are in test_translation.py; its notebook runs top
to bottom with the solutions in test_classroom.py, whose release is the Chinese one.
"""
import os
import re
from pathlib import Path

import nbformat
import pytest

from tools import KIT, release
from tools.check_tests import run_pytest
from tools.i18n.catalog import Catalog

# The student test files of the TODOs: in the untouched release every one of their tests fails
# with the NotImplementedError of a stub; every other student test passes from the start.
TODO_TESTS = ('test_loss', 'test_optimizer', 'test_solver', 'test_real_training',
              'test_determinism', 'test_lr_schedule', 'test_experiment_runs', 'test_notebook')
# Tests that skip, with a visible reason, when run as root (which reads a chmod 000 file anyway).
SKIPPED_AS_ROOT = {'tests.test_idx_parser::test_an_unreadable_file_for_real'}


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """(folder, regions) of the English release."""
    out = tmp_path_factory.mktemp('release') / 'release'
    return out, release.build(out)


@pytest.fixture(scope='module')
def catalog():
    return Catalog('zh')


@pytest.fixture(scope='module')
def built_zh(tmp_path_factory, catalog):
    """(folder, regions) of the Chinese release."""
    out = tmp_path_factory.mktemp('release_zh') / 'release'
    return out, release.build(out, catalog=catalog)


@pytest.fixture(params=['en', 'zh'])
def built_in(request):
    """(folder, regions, its catalog or None) of the release in each language."""
    out, regions = request.getfixturevalue('built' if request.param == 'en' else 'built_zh')
    return out, regions, request.getfixturevalue('catalog') if request.param != 'en' else None


def files_in(folder):
    return {path.relative_to(folder).as_posix() for path in folder.rglob('*') if path.is_file()}


def test_the_release_holds_the_student_kit_and_nothing_else(built_in):
    out, _, _ = built_in
    files = files_in(out)
    for needed in ('README.md', 'requirements.txt', 'pytest.ini', 'runner.ipynb', 'loss.py',
                   'optimizer.py', 'solver.py', 'pack_submission.py', 'data/README.md',
                   'kit/__init__.py', 'kit/threads.py', 'kit/experiments.py',
                   'data/train-images-idx3-ubyte.gz', 'data/t10k-labels-idx1-ubyte.gz',
                   'tests/conftest.py', 'tests/reference_check.py', 'tests/fixtures/reference.npz',
                   'tests/test_loss.py', 'tests/test_layer_setup.py'):
        assert needed in files
    assert [path for path in files if path.startswith(('tools/', 'tests/hidden/', '.git/',
                                                       'tests/instructor/', 'tests/kit/', '.ci/',
                                                       'figures/', 'results/', 'release/'))
            or '__pycache__' in path or path.endswith('-ubyte')] == []
    shipped = {path.as_posix() for path in release.release_files(KIT)} | {'README.md'}
    assert files == shipped


def test_each_solution_region_became_a_stub(built_in):
    out, regions, catalog = built_in
    message = release.stub_message(catalog)
    by_file = {}
    for region in regions:
        by_file.setdefault(str(region.path), []).append(region)
    assert sorted(by_file) == ['loss.py', 'optimizer.py']
    for path, file_regions in by_file.items():
        text = (out / path).read_text()
        assert release.BEGIN not in text and release.END not in text
        for region in file_regions:
            assert region.stub(message) in text.splitlines(keepends=True)


def test_no_solution_line_appears_anywhere_in_the_release(built_in):
    out, regions, _ = built_in
    solution_lines = {line.strip() for region in regions for line in region.lines
                      if line.strip()}
    for path in sorted(out.rglob('*')):
        if path.is_file():
            try:
                text = path.read_bytes().decode('utf-8')
            except UnicodeDecodeError:
                continue  # .gz and .npz: no source lines in them
            leaked = [line for line in solution_lines if line in text]
            assert leaked == [], f'{path.relative_to(out)} holds solution lines'


def test_putting_the_regions_back_gives_the_source_byte_for_byte(built):
    out, regions = built
    for path in {region.path for region in regions}:
        bodies = [region.lines for region in regions if region.path == path]
        restored = release.restore_solutions(path, (out / path).read_bytes().decode(), bodies)
        assert restored.encode() == (KIT / path).read_bytes(), path


def test_putting_the_regions_back_gives_the_source_translated(built_zh, catalog):
    """Translating back gives the source: test_translation.py."""
    out, regions = built_zh
    for path in {region.path for region in regions}:
        bodies = [region.lines for region in regions if region.path == path]
        restored = release.restore_solutions(path, (out / path).read_bytes().decode(), bodies)
        source = (KIT / path).read_text(encoding='utf-8')
        assert restored == catalog.translate(Path(path).as_posix(), source), path


def test_everything_else_is_copied_byte_for_byte(built):
    out, regions = built
    changed = {Path(region.path) for region in regions}
    for relative in release.release_files(KIT):
        if relative not in changed and relative.suffix != '.ipynb':
            assert (out / relative).read_bytes() == (KIT / relative).read_bytes(), relative


def test_notebooks_are_released_without_outputs(built_in):
    out, _, catalog = built_in
    for path in out.glob('*.ipynb'):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == 'code']
        assert code and all(cell.outputs == [] and cell.execution_count is None
                            for cell in code), path.name
        source = (KIT / path.name).read_text(encoding='utf-8')
        if catalog:  # the markdown cells translated, the code cells as they are
            source = catalog.translate(path.name, source)
        assert [cell.source for cell in notebook.cells] == \
            [cell.source for cell in nbformat.reads(source, as_version=4).cells]


def test_clearing_outputs_of_an_executed_notebook():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('print(1)')])
    notebook.cells[0].execution_count = 1
    notebook.cells[0].outputs = [nbformat.v4.new_output('stream', text='1\n')]
    cleared = nbformat.reads(release.clear_outputs(nbformat.writes(notebook).encode()), 4)
    assert cleared.cells[0].outputs == [] and cleared.cells[0].execution_count is None
    assert cleared.cells[0].source == 'print(1)'


def test_the_student_readme_is_the_template_with_the_source_sections(built):
    out, _ = built
    readme = (out / 'README.md').read_text()
    assert release.INCLUDE_MARK not in readme
    source = (KIT / 'README.md').read_text()
    template = release.STUDENT_README.read_text()
    titles = re.findall(re.escape(release.INCLUDE_MARK) + r'(.+?) -->', template)
    assert 'Set up' in titles and 'Train' in titles
    for title in titles:
        section = source[source.index(f'## {title}\n'):]
        section = section[:section.find('\n## ') + 1 or None]
        assert section in readme, title
    for needed in ('## Your work', '## Check your work', '## Submit',
                   'python pack_submission.py', 'forward', 'gradient_computing', 'SGD.step'):
        assert needed in readme


def test_the_student_readme_names_only_what_the_release_has(built_in):
    out, _, catalog = built_in
    readme = (out / 'README.md').read_text(encoding='utf-8')
    assert readme == release.student_readme(KIT, catalog)
    assert 'For instructors' not in readme and 'tools/' not in readme
    # It refers only to files and folders the release has (no bench/, docs/, tools/...).
    generated = {'figures/', 'results/', 'submission.zip'}  # written by the notebook, the packer
    for path in set(re.findall(r'`([\w./-]+(?:/|\.py|\.ipynb|\.md|\.txt))`', readme)) - generated:
        assert (out / path).exists(), f"the student README names {path}, not in the release"
    for path in set(re.findall(r'\]\(([^)#]+)', readme)):  # Markdown links
        assert (out / path).exists(), f"the student README links to {path}, not in the release"
    assert '@' not in re.sub(r'\S+@\S+\.\w+', '', readme), "a placeholder is left unfilled"


def test_the_untouched_release_fails_exactly_the_tests_of_the_todos(built_in):
    out, _, catalog = built_in
    said = release.stub_message(catalog)  # 'not written yet, see the TODO above', or its zh
    outcomes = run_pytest(out, ['tests'])
    modules = {test.split('::')[0].split('.')[-1] for test in outcomes}
    shipped = {path.stem for path in (out / 'tests').glob('test_*.py')}
    errors = {test: message for test, (outcome, message) in outcomes.items() if outcome == 'error'}
    assert modules == shipped and set(TODO_TESTS) <= shipped, errors  # e.g. a collection error
    wrong = {}
    for test, (outcome, message) in outcomes.items():
        if test.split('::')[0].split('.')[-1] in TODO_TESTS:
            pointed = (outcome == 'failed' and 'NotImplementedError' in message
                       and said in message)
            if not pointed:
                wrong[test] = (outcome, message)
        elif outcome != 'passed' and not (outcome == 'skipped' and test in SKIPPED_AS_ROOT
                                          and os.geteuid() == 0):
            wrong[test] = (outcome, message)
    assert wrong == {}


def test_the_grader_kit_adds_the_hidden_tests(tmp_path):
    release.build(tmp_path / 'grader', grader=True)
    hidden = files_in(tmp_path / 'grader' / 'tests' / 'hidden')
    assert hidden and hidden == {path for path in files_in(KIT / 'tests' / 'hidden')
                                 if '__pycache__' not in path}
    assert not (tmp_path / 'grader' / 'tests' / 'instructor').exists()
    outcomes = run_pytest(tmp_path / 'grader', ['tests/hidden'])
    assert outcomes and all(outcome == 'failed' and release.STUB_PHRASE in message
                            for outcome, message in outcomes.values()), outcomes


def test_a_non_empty_folder_is_replaced_only_with_force(tmp_path, capsys):
    (tmp_path / 'notes.txt').write_text('mine')
    with pytest.raises(SystemExit, match=f'release.py: {tmp_path} is not empty; pass --force'):
        release.main(['--out', str(tmp_path)])
    assert (tmp_path / 'notes.txt').read_text() == 'mine'
    release.main(['--out', str(tmp_path), '--force'])
    assert not (tmp_path / 'notes.txt').exists() and (tmp_path / 'loss.py').exists()
    assert 'loss.py SoftmaxCrossEntropyLoss.forward' in capsys.readouterr().out


def test_the_source_itself_is_never_the_out_folder():
    with pytest.raises(ValueError, match='refusing'):
        release.check_out_folder(KIT, KIT, force=True)
    with pytest.raises(ValueError, match='refusing'):
        release.check_out_folder(KIT.parent, KIT, force=True)


GOOD = """def f():
    # TODO: do it
    ### BEGIN SOLUTION
    return 1
    ### END SOLUTION
"""


@pytest.mark.parametrize('text, message', [
    (GOOD.replace('    ### END SOLUTION\n', ''), r'loss\.py:3: .* is never closed'),
    (GOOD.replace('    ### BEGIN SOLUTION\n', ''), r'loss\.py:4: .* without a'),
    (GOOD.replace('    return 1\n', '    ### BEGIN SOLUTION\n'), r'loss\.py:4: .* cannot nest'),
    ('x = 0\n' + GOOD.replace('def f():\n', 'if True:\n'), r'loss\.py:4: .* not inside a function'),
])
def test_bad_markers_are_named_by_file_and_line(tmp_path, text, message):
    source = tmp_path / 'source'
    source.mkdir()
    (source / 'loss.py').write_text(text)
    with pytest.raises(ValueError, match=message):
        release.build(tmp_path / 'out', source=source)
    assert not (tmp_path / 'out').exists()  # nothing is written


def test_regions_keep_their_indentation_and_line_endings():
    text = GOOD.replace('\n', '\r\n')
    stripped, regions = release.strip_solutions('m.py', text)
    assert stripped == ('def f():\r\n    # TODO: do it\r\n    raise NotImplementedError('
                        '"f (m.py): not written yet, see the TODO above")\r\n')
    assert release.restore_solutions('m.py', stripped, [regions[0].lines]) == text
