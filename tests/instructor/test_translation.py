"""tools/i18n and the catalog tools/i18n/zh.toml: every text a student reads has its Chinese,
no Chinese is left without its English, a changed English text is never missed, and the Chinese
release differs from the source in those texts only.

The release's own checks in Chinese (its files, stubs, leaks, the untouched release, the notebook)
are in test_release.py; the mutation check in Chinese is in test_mutations.py.
"""
import ast
import copy
import io
import json
import shutil
import tokenize

import nbformat
import pytest

import pack_submission
from tools import KIT, release
from tools.check_tests import fill_regions
from tools.i18n.catalog import Catalog
from tools.i18n.texts import (
    MESSAGE_FILES,
    matches,
    placeholders,
    texts_of,
    unclassified_strings,
)


@pytest.fixture(scope='module')
def catalog():
    return Catalog('zh')


@pytest.fixture(scope='module')
def texts():
    return release.student_texts()


def named(file, found):
    return f"{file}:{found.line or ''}: {found.text!r}"


def test_every_text_a_student_reads_has_its_chinese_and_every_chinese_its_english(
        catalog, texts):
    missing, leftover = catalog.compare(texts)
    assert [named(file, found) for file, found in missing] == [], \
        f"texts with no translation in {catalog.path}"
    assert [f"{file}: {english!r}" for file, english in leftover] == [], \
        f"entries of {catalog.path} whose English the source no longer has"


def test_the_texts_are_found_where_a_student_reads_them(texts):
    """The enumerator misses none: every markdown cell, a TODO comment above each solution
    region, the stub, every message of the packer; and no prose string of the tests or the
    packer is left unclassified (a message written where the enumerator does not look)."""
    notebook = nbformat.read(KIT / 'runner.ipynb', as_version=4)
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == 'markdown']
    assert [found.text for found in texts['runner.ipynb']] == markdown
    for path in ('loss.py', 'optimizer.py'):
        text = (KIT / path).read_text(encoding='utf-8')
        todo_lines = [found.line for found in texts[path] if found.kind == 'comment']
        regions = release.find_regions(path, text)
        assert len(todo_lines) == len(regions) and all(
            line < region.start + 1 for line, region in zip(todo_lines, regions)), path
    assert [found.text for found in texts[release.HERE]] == [release.STUB_MESSAGE]
    assert set(pack_submission.MESSAGES.values()) <= \
        {found.text for found in texts['pack_submission.py']}
    assert 'tests/conftest.py' in texts and 'tests/reference_check.py' in texts
    unclassified = {}
    for relative in release.release_files(KIT):
        if relative.suffix == '.py' and matches(relative.as_posix(), MESSAGE_FILES):
            found = unclassified_strings((KIT / relative).read_text(encoding='utf-8'))
            if found:
                unclassified[relative.as_posix()] = found
    assert unclassified == {}, "prose strings that are neither messages, code nor docstrings"


def source_copy(folder):
    """The source's files that hold texts (and README.md), copied into folder."""
    for relative in release.release_files(KIT):
        if relative.suffix in ('.py', '.ipynb'):
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(KIT / relative, folder / relative)
    shutil.copy(KIT / 'README.md', folder / 'README.md')
    return folder


def change_a_text(folder, file, kind):
    """Change one word of the first text of kind in folder's copy of file; (old, new) text."""
    path = folder / file
    text = path.read_text(encoding='utf-8')
    before = texts_of(file, text)
    found = next(found for found in before if found.kind == kind)
    if kind == 'markdown':
        notebook = json.loads(text)
        cell = notebook['cells'][found.layout['cell']]
        cell['source'] = ''.join(cell['source']).replace('the', 'THE', 1)
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + '\n',
                        encoding='utf-8')
    else:
        word = next(word for word in found.text.split() if word.isalpha() and len(word) > 3)
        changed = text[found.start:found.end].replace(word, word.upper(), 1)
        path.write_text(text[:found.start] + changed + text[found.end:], encoding='utf-8')
    after = texts_of(file, path.read_text(encoding='utf-8'))
    changed = [(old.text, new.text) for old, new in zip(before, after) if old.text != new.text]
    assert len(after) == len(before) and changed == [(found.text, changed[0][1])]
    return changed[0]


@pytest.mark.parametrize('file, kind', [('tests/reference_check.py', 'message'),
                                        ('tests/test_optimizer.py', 'message'),
                                        ('loss.py', 'comment'),
                                        ('runner.ipynb', 'markdown')])
def test_changing_an_english_text_fails_until_its_translation_is_updated(tmp_path, file, kind):
    source = source_copy(tmp_path / 'source')
    old, new = change_a_text(source, file, kind)
    catalog = Catalog('zh')
    missing, leftover = catalog.compare(release.student_texts(source))
    assert [(missing_file, found.text) for missing_file, found in missing] == [(file, new)]
    assert leftover == [(file, old)]
    with pytest.raises(ValueError) as error:  # and the release is not built
        release.build(tmp_path / 'out', source=source, catalog=catalog)
    assert f"[[{file!r}]] {old!r}" in str(error.value)
    assert not (tmp_path / 'out').exists()


def test_a_translation_that_drops_a_placeholder_is_named(tmp_path, catalog):
    file = 'tests/test_optimizer.py'
    english = next(english for english in catalog.entries[file] if placeholders(english))
    dropped = catalog.entries[file][english].replace(placeholders(english)[0], '', 1)
    toml = tmp_path / 'zh.toml'
    toml.write_text(''.join(
        f"[[{json.dumps(file)}]]\nen = {json.dumps(english, ensure_ascii=False)}\n"
        f"zh = {json.dumps(chinese, ensure_ascii=False)}\n" for file, english, chinese in [
            (release.HERE, release.STUB_MESSAGE, release.stub_message(catalog)),
            (file, english, dropped)]), encoding='utf-8')
    with pytest.raises(ValueError, match='placeholders') as error:
        release.build(tmp_path / 'out', catalog=Catalog('zh', path=toml))
    assert file in str(error.value) and repr(english) in str(error.value)


def test_a_malformed_catalog_is_named(tmp_path):
    toml = tmp_path / 'zh.toml'
    toml.write_text('[["loss.py"]]\nen = "x"\n', encoding='utf-8')
    with pytest.raises(ValueError, match=r"zh\.toml: entry 1 of \[\['loss\.py'\]\] needs"):
        Catalog('zh', path=toml)
    toml.write_text('[["loss.py"]\n', encoding='utf-8')
    with pytest.raises(ValueError, match='is not valid TOML'):
        Catalog('zh', path=toml)


@pytest.fixture(scope='module')
def zh_solved(tmp_path_factory, catalog):
    """The Chinese release with the solutions put back."""
    out = tmp_path_factory.mktemp('zh') / 'release'
    fill_regions(out, release.build(out, catalog=catalog))
    return out


def comments(text):
    return [token.string for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.COMMENT]


def test_translating_the_zh_release_back_gives_the_source(zh_solved, catalog, texts):
    """Every text of the Chinese release is a translation, and each one put back to its English
    gives the source: byte for byte, but for the line breaks of a long message's literals (then
    the code as Python reads it and every comment are the same)."""
    back = copy.copy(catalog)
    back.entries = {file: {chinese: english for english, chinese in entries.items()}
                    for file, entries in catalog.entries.items()}
    for file, entries in catalog.entries.items():
        assert len(back.entries[file]) == len(entries), f"{file}: two texts, one translation"
    back.used, back.missing = set(), []
    rewrapped = []
    for relative in release.release_files(KIT):
        file, translated = relative.as_posix(), zh_solved / relative
        source = (KIT / relative).read_bytes()
        if file not in texts:
            assert translated.read_bytes() == (
                release.clear_outputs(source) if relative.suffix == '.ipynb' else source), file
            continue
        english = back.translate(file, translated.read_text(encoding='utf-8')).encode('utf-8')
        if relative.suffix == '.ipynb':
            assert english == release.clear_outputs(source), file
        elif english != source:
            rewrapped.append(file)
            assert ast.dump(ast.parse(english)) == ast.dump(ast.parse(source)), file
            assert comments(english.decode('utf-8')) == comments(source.decode('utf-8')), file
    readme = copy.copy(back)
    readme.used, readme.missing = set(), []
    readme.entries = {'README.md': {**back.entries['README.md'],
                                    **back.entries['tools/student_README.md']}}
    english = readme.translate_readme('README.md', (zh_solved / 'README.md').read_text('utf-8'))
    assert english == release.student_readme(KIT)
    assert [named(file, found) for file, found in back.missing + readme.missing] == [], \
        "texts of the zh release that are no translation (English left, or a text changed)"
    assert len(rewrapped) < len(texts)  # most files come back byte for byte
