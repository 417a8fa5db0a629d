"""What a student wrote, as tools/similarity.py compares it: their code and their text.

Code: the bodies of the functions the release leaves as stubs, every function the release does not
have, and the whole of any .py file it does not have; the release's own lines (docstrings, TODO
comments, the _check_batch call) are left out. Text: the "✎ Your observations" cells of
runner.ipynb without the release's own lines (its prompts). Both come as sections, [(label, text)].
"""
import ast
import json
import re
import textwrap
from pathlib import Path

from grading.rules import function_spans, notebook_code, student_functions

NOTEBOOK = 'runner.ipynb'
OBSERVATIONS = '✎ Your observations'
OBSERVATIONS_LABEL = re.compile(r'[*_\s]*✎ Your observations\s*(\([^)\n]{1,20}\))?[*_:\s]*')
MARK_AT_START = re.compile(r'\s*[#>*_\s]*✎ Your observations')
MAX_SECTION_CHARS = 20_000  # a TODO region's solution is about 1,000 characters
MAX_SECTIONS = 100
SHORTEST_BOILERPLATE_LINE = 8  # shorter lines ("else:", ")") are kept even if the release has them
UNPARSABLE = (SyntaxError, ValueError, RecursionError, MemoryError)  # too deep, NUL bytes...


class Release:
    """The student release's own code and text, which never count as similarity."""

    def __init__(self, release_dir):
        release_dir = Path(release_dir)
        self.stubs = student_functions(release_dir)  # {file name: [qualified names]}
        self.code = {path.name: path.read_text(encoding='utf-8')
                     for path in sorted(release_dir.glob('*.py'))}
        self.functions = {name: {span[0] for span in function_spans(ast.parse(text))}
                          for name, text in self.code.items()}
        self.code_lines = {name: boilerplate_lines(text.splitlines())
                           for name, text in self.code.items()}
        cells = notebook_cells((release_dir / NOTEBOOK).read_bytes())
        self.markdown = [text for kind, text in cells if kind == 'markdown']
        self.text_lines = boilerplate_lines(line for cell in self.markdown
                                            for line in cell.splitlines())


def boilerplate_lines(lines):
    """The set of lines, stripped, that are long enough to count as the release's own."""
    return {line.strip() for line in lines if len(line.strip()) >= SHORTEST_BOILERPLATE_LINE}


def without_lines(lines, known):
    """The lines not in known (compared stripped), dedented, as one text."""
    return textwrap.dedent('\n'.join(line for line in lines if line.strip() not in known)).strip()


def docstring_lines(tree):
    """The numbers of the lines that hold a docstring in tree."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                and ast.get_docstring(node, clean=False) is not None:
            found.update(range(node.body[0].lineno, node.body[0].end_lineno + 1))
    return found


def decode(data):
    return data.decode('utf-8', errors='replace')


def written_code(files, release):
    """(sections, notes): the code in files ({name: bytes}) that the release does not have."""
    sections, notes = [], []
    for name, data in sorted(files.items()):
        if name.endswith('.ipynb') and name != NOTEBOOK:
            try:
                text = notebook_code(data)
            except (ValueError, AttributeError, TypeError, RecursionError) as err:
                notes.append(f"{name} is not a notebook that can be read ({err}); left out")
                continue
            sections.append((f'{name} (code cells)', text))
        if not name.endswith('.py'):
            continue
        text, known = decode(data), release.code_lines.get(name, set())
        if name not in release.code:
            sections.append((name, without_lines(text.splitlines(), known)))
            continue
        try:
            tree = ast.parse(text)
            spans = sorted(function_spans(tree), key=lambda span: span[1])
            docstrings = docstring_lines(tree)
        except UNPARSABLE:
            notes.append(f"{name} is not valid Python: compared whole, without the release's lines")
            sections.append((f'{name} (whole file)', without_lines(text.splitlines(), known)))
            continue
        lines, taken_to = text.splitlines(), 0
        for function, first, last in spans:
            if first <= taken_to:  # inside a function already taken
                continue
            if function in release.stubs.get(name, ()) or function not in release.functions[name]:
                body = [line for number, line in enumerate(lines[first - 1:last], first)
                        if number not in docstrings]
                sections.append((f'{name}: {function}', without_lines(body, known)))
                taken_to = last
    return bounded(sections, notes, 'code')


def notebook_cells(data):
    """[(cell type, source text)] of a notebook's bytes; ValueError if it is not a notebook."""
    notebook = json.loads(data)
    cells = notebook.get('cells') if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise ValueError("it has no list of cells")
    found = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get('source', '')
        if isinstance(source, list):
            source = ''.join(part for part in source if isinstance(part, str))
        found.append((cell.get('cell_type'), source if isinstance(source, str) else ''))
    return found


def label(cell_text):
    """'✎ Your observations (a)' from the cell that holds it."""
    match = OBSERVATIONS_LABEL.search(cell_text)
    return f"{OBSERVATIONS} {match.group(1) or ''}".strip()


def observation_text(files, release, normalise):
    """(sections, notes): what the student wrote in the observation cells of runner.ipynb.

    Each observation cell runs from a markdown cell that begins with "✎ Your observations"
    through the markdown cells after it, up to the next code cell or heading. Without any marked cell, every markdown
    cell the release does not have is taken. Lines the release has (compared after normalise)
    are left out, and so is the mark itself.
    """
    if NOTEBOOK not in files:
        return [], [f"no {NOTEBOOK}: no observations to compare"]
    try:
        cells = notebook_cells(files[NOTEBOOK])
    except (ValueError, RecursionError) as err:  # RecursionError: JSON nested too deep
        return [], [f"{NOTEBOOK} could not be read as a notebook ({err}); its observations "
                    f"are not compared"]
    groups = []
    for index, (kind, text) in enumerate(cells):
        if kind == 'markdown' and MARK_AT_START.match(text):
            group = [text]
            for next_kind, next_text in cells[index + 1:]:
                if (next_kind != 'markdown' or next_text.lstrip().startswith('#')
                        or MARK_AT_START.match(next_text)):
                    break
                group.append(next_text)
            groups.append((label(text), '\n'.join(group)))
    notes = []
    if not groups:
        notes.append(f"{NOTEBOOK} has no cell marked '{OBSERVATIONS}': every markdown cell the "
                     f"release does not have is compared")
        groups = [('markdown cells', '\n'.join(text for kind, text in cells
                                               if kind == 'markdown'
                                               and text not in release.markdown))]
    known = {normalise(line) for line in release.text_lines} - {''}
    sections = []
    for name, text in groups:
        text = '\n'.join(line for line in text.splitlines() if normalise(line) not in known)
        sections.append((name, OBSERVATIONS_LABEL.sub('\n', text).strip()))
    return bounded(sections, notes, 'text')


def bounded(sections, notes, what):
    """sections without empty ones, each cut at MAX_SECTION_CHARS, at most MAX_SECTIONS; notes
    say what was cut."""
    kept = [(name, text) for name, text in sections if text.strip()]
    if len(kept) > MAX_SECTIONS:
        notes.append(f"only the first {MAX_SECTIONS} of its {len(kept)} {what} sections are "
                     f"compared")
        kept = kept[:MAX_SECTIONS]
    for index, (name, text) in enumerate(kept):
        if len(text) > MAX_SECTION_CHARS:
            notes.append(f"{name}: only its first {MAX_SECTION_CHARS} characters are compared")
            kept[index] = (name, text[:MAX_SECTION_CHARS])
    return kept, notes
