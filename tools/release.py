"""Build the student release from this source: each solution region becomes a stub.

    python tools/release.py [--out release/] [--force] [--grader] [--classroom] [--lang zh]

A solution region is every line from `### BEGIN SOLUTION` to `### END SOLUTION`, markers
included. In the release it is replaced, at the region's indentation, by one line that fails
clearly when called, as nbgrader does:

    raise NotImplementedError("step (optimizer.py): not written yet, see the TODO above")

Everything else is copied byte for byte, except the notebooks (outputs cleared) and README.md
(written from tools/student_README.md). The release holds the top-level .py files and notebooks,
requirements.txt, pytest.ini, .gitignore, data/ (without unpacked *-ubyte copies), kit/ and tests/
without tests/hidden/, tests/instructor/ and tests/kit/ (the kit's own checks): a student's tests/
holds the tests of their code and of the data it trains on. --grader adds tests/hidden/ (the
graders' kit).
--classroom adds .github/workflows/classroom.yml (from tools/templates/classroom.yml): GitHub
Classroom's autograding, which runs the student tests of the TODOs on every push.
--lang zh writes every text a student reads in Chinese (the README, the TODO comments, the
stubs' message, the notebook's markdown, the messages of the tests and of the packer), from the
catalog tools/i18n/zh.toml; code, names and the training log stay as they are. A text the
catalog has no translation for stays in English and is listed; an entry of the catalog whose
English is not in its file stops the build. See tools/i18n/.
"""
if not __package__:  # run as python tools/release.py: see tools/_as_module.py
    import _as_module  # noqa: F401
import argparse
import ast
import shutil
import sys
from pathlib import Path

import nbformat

from tools import KIT
from tools.grading.rules import STUB_MARK, function_spans
from tools.i18n.catalog import LANGUAGES, Catalog
from tools.i18n.texts import Text, readme_texts, texts_of

HERE = Path(__file__).resolve().relative_to(KIT).as_posix()  # the stub's message is here
BEGIN, END = '### BEGIN SOLUTION', '### END SOLUTION'
STUB_PHRASE = 'see the TODO above'
STUB_MESSAGE = 'not written yet, ' + STUB_PHRASE  # tools/i18n/<lang>.toml translate it
STUB = 'raise NotImplementedError("{name} ({file}): {message}")'  # as grading.rules.STUB_MARK
STUDENT_README = KIT / 'tools' / 'student_README.md'
INCLUDE_MARK = '<!-- from README.md: '  # a template line "<!-- from README.md: Set up -->"
CLASSROOM_TEMPLATE = KIT / 'tools' / 'templates' / 'classroom.yml'
CLASSROOM_WORKFLOW = Path('.github', 'workflows', 'classroom.yml')

TOP_LEVEL = ('*.py', '*.ipynb', 'requirements.txt', 'pytest.ini', '.gitignore')
FOLDERS = ('data', 'kit', 'tests')
NEVER = ('__pycache__', '.pytest_cache', '.ipynb_checkpoints')
HIDDEN_TESTS, INSTRUCTOR_TESTS = Path('tests', 'hidden'), Path('tests', 'instructor')
KIT_TESTS = Path('tests', 'kit')


class Region:
    """One solution region: its lines (markers included), where it starts, and its function."""

    def __init__(self, path, start, lines, function):
        self.path, self.start, self.lines, self.function = path, start, lines, function
        self.indent = lines[0][:len(lines[0]) - len(lines[0].lstrip())]
        self.newline = lines[0][len(lines[0].rstrip('\r\n')):]

    def stub(self, message=STUB_MESSAGE):
        name, file = self.function.split('.')[-1], Path(self.path).name
        return self.indent + STUB.format(name=name, file=file, message=message) + self.newline


def find_regions(path, text):
    """The solution regions of text, in order; ValueError naming path:line for bad markers."""
    lines = text.splitlines(keepends=True)
    spans, begin = [], None
    for number, line in enumerate(lines, 1):
        if line.strip() == BEGIN:
            if begin is not None:
                raise ValueError(f"{path}:{number}: {BEGIN} inside the region opened at line "
                                 f"{begin}; solution regions cannot nest")
            begin = number
        elif line.strip() == END:
            if begin is None:
                raise ValueError(f"{path}:{number}: {END} without a {BEGIN} before it")
            spans.append((begin, number))
            begin = None
    if begin is not None:
        raise ValueError(f"{path}:{begin}: {BEGIN} is never closed by {END}")
    functions = function_spans(ast.parse(text)) if spans else []
    regions = []
    for begin, end in spans:
        inside = [name for name, first, last in functions if first < begin <= last]
        if not inside:
            raise ValueError(f"{path}:{begin}: the solution region is not inside a function; "
                             f"its stub would fail as soon as the module is imported")
        regions.append(Region(path, begin - 1, lines[begin - 1:end], inside[-1]))
    return regions


def strip_solutions(path, text, message=STUB_MESSAGE):
    """(release text, regions): text with each solution region replaced by its stub, which
    says message."""
    regions = find_regions(path, text)
    lines = text.splitlines(keepends=True)
    for region in reversed(regions):
        lines[region.start:region.start + len(region.lines)] = [region.stub(message)]
    return ''.join(lines), regions


def restore_solutions(path, release_text, bodies):
    """release_text with its stubs (in any language), in order, replaced by bodies (one list
    of lines each)."""
    lines = release_text.splitlines(keepends=True)
    stubs = [i for i, line in enumerate(lines) if STUB_MARK.match(line.lstrip())]
    if len(stubs) != len(bodies):
        raise ValueError(f"{path}: {len(stubs)} stubs but {len(bodies)} regions to put back")
    for index, body in reversed(list(zip(stubs, bodies))):
        lines[index:index + 1] = body
    return ''.join(lines)


def release_files(source, grader=False):
    """Paths, relative to source, of the files the release copies (README.md is written)."""
    files = {path for pattern in TOP_LEVEL for path in source.glob(pattern) if path.is_file()}
    for folder in FOLDERS:
        files |= {path for path in (source / folder).rglob('*') if path.is_file()}
    left_out = [INSTRUCTOR_TESTS, KIT_TESTS] + ([] if grader else [HIDDEN_TESTS])
    kept = []
    for path in sorted(files):
        relative = path.relative_to(source)
        if (any(part in NEVER for part in relative.parts) or relative.suffix == '.pyc'
                or any(folder in relative.parents for folder in left_out)
                or (relative.parts[0] == 'data' and relative.name.endswith('-ubyte'))):
            continue
        kept.append(relative)
    return kept


def clear_outputs(data):
    """The bytes of a notebook without outputs and execution counts (unchanged if it has none)."""
    notebook = nbformat.reads(data.decode('utf-8'), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == 'code']
    if not any(cell.outputs or cell.execution_count is not None for cell in code):
        return data
    for cell in code:
        cell.outputs, cell.execution_count = [], None
        cell.metadata.pop('execution', None)
    return nbformat.writes(notebook).encode('utf-8') + b'\n'


def readme_parts(source):
    """[(origin, text)]: tools/student_README.md in parts, each '<!-- from README.md: Title -->'
    line replaced by that '## Title' section of the source's README.md (origin 'README.md')."""
    sections, title = {}, None
    for line in (source / 'README.md').read_text(encoding='utf-8').splitlines(keepends=True):
        if line.startswith('## '):
            title = line[3:].strip()
        if title is not None:
            sections.setdefault(title, []).append(line)
    parts, template = [], STUDENT_README.relative_to(KIT).as_posix()
    for line in STUDENT_README.read_text(encoding='utf-8').splitlines(keepends=True):
        if line.startswith(INCLUDE_MARK):
            title = line[len(INCLUDE_MARK):].split('-->')[0].strip()
            if title not in sections:
                raise ValueError(f"{STUDENT_README}: README.md has no section '## {title}'")
            parts.append(('README.md', ''.join(sections[title])))
        elif parts and parts[-1][0] == template:
            parts[-1] = (template, parts[-1][1] + line)
        else:
            parts.append((template, line))
    return parts


def student_readme(source, catalog=None):
    """The release's README.md (see readme_parts), translated by catalog if one is given."""
    return ''.join(catalog.translate_readme(origin, text) if catalog else text
                   for origin, text in readme_parts(source))


def student_texts(source=KIT):
    """{file: [Text]}: every text a student reads in the release of source, by the file that
    holds its English (as the catalogs of tools/i18n/ name it)."""
    texts = {}
    for relative in release_files(source):
        if relative.suffix in ('.py', '.ipynb'):
            found = texts_of(relative.as_posix(), (source / relative).read_text(encoding='utf-8'))
            if found:
                texts[relative.as_posix()] = found
    for origin, text in readme_parts(source):
        texts.setdefault(origin, []).extend(readme_texts(text))
    texts[HERE] = [Text('message', STUB_MESSAGE)]
    return texts


def stub_message(catalog=None):
    """What the stubs say: STUB_MESSAGE, or its translation in catalog."""
    return catalog.text(HERE, STUB_MESSAGE) if catalog else STUB_MESSAGE


def check_out_folder(out, source, force):
    """Refuse a non-empty out folder unless force, and never touch the source itself."""
    out, source = out.resolve(), source.resolve()
    if out == source or out in source.parents or out == Path.home():
        raise ValueError(f"refusing to write the release into {out}")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ValueError(f"{out} is not empty; pass --force to replace it")
        shutil.rmtree(out)


def build(out, source=KIT, grader=False, force=False, classroom=False, lang='en',
          catalog=None):
    """Write the release of source into out; returns the solution regions it replaced.

    With classroom, the release also holds GitHub Classroom's workflow (CLASSROOM_WORKFLOW).
    With lang other than 'en', every text a student reads is translated by its catalog (or
    by catalog, whose missing then lists the texts left in English).
    Everything is prepared before anything is written: bad markers, or an entry of the catalog
    whose English is not in its file, leave out untouched.
    """
    if catalog is None and lang != 'en':
        catalog = Catalog(lang)
    message = stub_message(catalog)
    files, replaced = {}, []
    for relative in release_files(source, grader):
        data = (source / relative).read_bytes()
        if catalog and relative.suffix in ('.py', '.ipynb'):
            data = catalog.translate(relative.as_posix(), data.decode('utf-8')).encode('utf-8')
        if relative.suffix == '.py':
            text, regions = strip_solutions(relative, data.decode('utf-8'), message)
            data, replaced = text.encode('utf-8'), replaced + regions
        elif relative.suffix == '.ipynb':
            data = clear_outputs(data)
        files[relative] = data
    files[Path('README.md')] = student_readme(source, catalog).encode('utf-8')
    if catalog and catalog.unused():
        raise ValueError(f"{catalog.path}: the English of these entries is not where they say; "
                         f"update them to the source's text: " + '; '.join(
                             f"[[{file!r}]] {english!r}" for file, english in catalog.unused()))
    if classroom:
        files[CLASSROOM_WORKFLOW] = CLASSROOM_TEMPLATE.read_bytes()
    check_out_folder(Path(out), source, force)
    for relative, data in files.items():
        (Path(out) / relative).parent.mkdir(parents=True, exist_ok=True)
        (Path(out) / relative).write_bytes(data)
    return replaced


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=KIT / 'release',
                        help='folder to write the release into (default: release/)')
    parser.add_argument('--force', action='store_true',
                        help='delete the out folder first if it is not empty')
    parser.add_argument('--grader', action='store_true',
                        help='include the hidden tests (tests/hidden/): the kit graders use')
    parser.add_argument('--classroom', action='store_true',
                        help='add .github/workflows/classroom.yml: GitHub Classroom runs the '
                             'student tests of the TODOs on every push (docs/instructors.md, '
                             '"GitHub Classroom")')
    parser.add_argument('--lang', choices=sorted(LANGUAGES), default='en',
                        help='the language of every text a student reads (default: en); zh '
                             'translates them with tools/i18n/zh.toml')
    args = parser.parse_args(argv)
    try:
        catalog = Catalog(args.lang) if args.lang != 'en' else None
        regions = build(args.out, grader=args.grader, force=args.force,
                        classroom=args.classroom, catalog=catalog)
    except ValueError as err:
        sys.exit(f"release.py: {err}")
    if catalog and catalog.missing:
        print(f"release.py: {len(catalog.missing)} texts have no {args.lang} translation in "
              f"{catalog.path.relative_to(KIT)} and stay in English:", file=sys.stderr)
        for file, found in catalog.missing:
            print(f"  {file}" + (f":{found.line}" if found.line else '') +
                  f": {found.text.splitlines()[0][:80]!r}", file=sys.stderr)
    print(f"wrote {args.out}: {len(regions)} solution regions replaced by stubs "
          f"({', '.join(f'{region.path} {region.function}' for region in regions)})"
          + (f", and {CLASSROOM_WORKFLOW.as_posix()}" if args.classroom else ""))


if __name__ == '__main__':
    main()
