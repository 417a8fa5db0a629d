"""What a student wrote, as tools/similarity.py compares it: their code and their text.

Code: the bodies of the functions the release leaves as stubs (without the release's own
statements, such as the _check_batch call) and every function the release does not have. It is
compared as Python reads it (ast.unparse): comments, docstrings of the stubs, spacing, line
breaks and redundant parentheses do not count. Text: the "✎ Your observations" cells of
runner.ipynb without the release's own lines (its prompts). Both come as sections
[(label, compared text, text as written)].
"""
import ast
import json
import re
import textwrap
from pathlib import Path

from tools.grading.rules import function_spans, notebook_code, student_functions
from tools.similarity_scores import normalise

NOTEBOOK = 'runner.ipynb'
# The observation cells begin with this mark and their label, in the release's language
# ('✎ Your observations (a)', '✎ 你的观察 (a)'): they are found by the mark alone.
OBSERVATIONS = '✎'
OBSERVATIONS_LABEL = re.compile(r'[*_\s]*✎[ \t]*([^\n*_:：(]{0,20})(\([^)\n]{1,20}\))?[*_:：\s]*')
MARK_AT_START = re.compile(r'\s*[#>*_\s]*✎')
MAX_CHARS = 30_000  # of code, and of text, compared per submission; a solution has about 1,500
SHORTEST_BOILERPLATE_LINE = 8  # shorter lines ("else:", ")") are kept even if the release has them
UNPARSABLE = (SyntaxError, ValueError, RecursionError, MemoryError)  # too deep, NUL bytes...


class Release:
    """The student release's own code and text, which never count as similarity."""

    def __init__(self, release_dir):
        release_dir = Path(release_dir)
        self.stubs = student_functions(release_dir)  # {file name: [qualified names]}
        self.code = {path.name: path.read_text(encoding='utf-8')
                     for path in sorted(release_dir.glob('*.py'))}
        found = [(function, node) for text in self.code.values()
                 for function, node in functions(ast.parse(text))]
        self.functions = {function for function, _ in found}
        stubs = {function for names in self.stubs.values() for function in names}
        # {stub's qualified name: the statements the release gives it}
        self.stub_statements = {function: {ast.unparse(statement) for statement in body(node)}
                                for function, node in found if function in stubs}
        self.code_lines = boilerplate_lines(line for text in self.code.values()
                                            for line in text.splitlines())
        # the release's own code as it is compared: as Python reads it
        self.canonical = [ast.unparse(ast.parse(text)) for text in self.code.values()]
        cells = notebook_cells((release_dir / NOTEBOOK).read_bytes())
        self.markdown = [text for kind, text in cells if kind == 'markdown']
        self.text_lines = {normalise(line) for line in boilerplate_lines(
            line for cell in self.markdown for line in cell.splitlines())} - {''}


def functions(tree):
    """[(qualified name, node)] of every function in tree, in the order of their lines."""
    nodes = {(node.lineno, node.end_lineno): node for node in ast.walk(tree)
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return [(name, nodes[first, last])
            for name, first, last in sorted(function_spans(tree), key=lambda span: span[1])]


def body(function):
    """The statements of a function node, without its docstring."""
    has_docstring = ast.get_docstring(function, clean=False) is not None
    return function.body[1:] if has_docstring else function.body


def boilerplate_lines(lines):
    """The set of lines, stripped, that are long enough to count as the release's own."""
    return {line.strip() for line in lines if len(line.strip()) >= SHORTEST_BOILERPLATE_LINE}


def without_lines(lines, known):
    """The lines not in known (compared stripped), dedented, as one text."""
    return textwrap.dedent('\n'.join(line for line in lines if line.strip() not in known)).strip()


def decode(data):
    return data.decode('utf-8', errors='replace')


def whole(label, text, known):
    """The section of a whole file: as Python reads it or, if it is not valid Python, its lines
    that the release does not have."""
    try:
        return label, ast.unparse(ast.parse(text)), text
    except UNPARSABLE:
        return f'{label} (not valid Python)', without_lines(text.splitlines(), known), text


def written_code(files, release):
    """(sections, notes): the code in files ({name: bytes}) that the release does not have.

    Functions are known by their qualified names, whatever file holds them, so that a solution
    found online in one file is read like a submission. A file the release does not have is
    taken whole if it has no function of its own.
    """
    sections, notes = [], []
    # the files with the TODOs first: what is cut at MAX_CHARS is the rest
    for name, data in sorted(files.items(), key=lambda item: (item[0] not in release.stubs,
                                                             item[0])):
        if name.endswith('.ipynb') and name != NOTEBOOK:
            try:
                sections.append(whole(f'{name} (code cells)', notebook_code(data), set()))
            except (ValueError, AttributeError, TypeError, RecursionError) as err:
                notes.append(f"{name} is not a notebook that can be read ({err}); left out")
        text, known = decode(data), release.code_lines
        if not name.endswith('.py') or release.code.get(name) == text:
            continue
        try:
            own = own_functions(name, text, release)
        except UNPARSABLE:
            notes.append(f"{name} is not valid Python: compared whole, without the release's lines")
            sections.append((f'{name} (whole file)', without_lines(text.splitlines(), known),
                             text))
            continue
        sections += own if own or name in release.code else [whole(name, text, known)]
    return bounded(sections, notes, 'code')


def own_functions(name, text, release):
    """The sections of the functions in text that the student wrote: the stubs' bodies without
    the release's statements, and the functions the release does not have (as written: without
    the lines the release has, such as the TODO comments)."""
    lines, sections, taken_to = text.splitlines(), [], 0
    for function, node in functions(ast.parse(text)):
        if node.lineno <= taken_to:  # inside a function already taken
            continue
        first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
        if function in release.stub_statements:
            statements = [ast.unparse(statement) for statement in body(node)]
            compared = '\n'.join(statement for statement in statements
                                 if statement not in release.stub_statements[function])
            has_docstring = len(body(node)) < len(node.body)
            first = node.body[0].end_lineno + 1 if has_docstring else node.body[0].lineno
        elif function not in release.functions:
            compared = ast.unparse(node)
        else:
            continue
        sections.append((f'{name}: {function}', compared,
                         without_lines(lines[first - 1:node.end_lineno], release.code_lines)))
        taken_to = node.end_lineno
    return sections


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
    """'✎ Your observations (a)' (or '✎ 你的观察 (a)') from the cell that holds it."""
    words, part = OBSERVATIONS_LABEL.search(cell_text).groups()
    return ' '.join(piece for piece in (OBSERVATIONS, words.strip(), part) if piece)


def observation_text(files, release):
    """(sections, notes): what the student wrote in the observation cells of runner.ipynb.

    Each observation cell runs from a markdown cell that begins with the mark ✎ (and
    "Your observations", or its translation) through the markdown cells after it, up to the
    next code cell or heading. Without any marked cell, every markdown cell the release does
    not have is taken. Lines the release has (compared normalised) are left out, and so is the
    mark with its label.
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
    sections = []
    for name, text in groups:
        text = '\n'.join(line for line in text.splitlines()
                         if normalise(line) not in release.text_lines)
        text = OBSERVATIONS_LABEL.sub('\n', text).strip()
        sections.append((name, text, text))
    return bounded(sections, notes, 'text')


def bounded(sections, notes, what):
    """sections without empty ones, cut to MAX_CHARS in all; notes say what was cut."""
    kept, room = [], MAX_CHARS
    for name, text, original in sections:
        if not text.strip():
            continue
        if room <= 0 or len(text) > room:
            notes.append(f"only the first {MAX_CHARS} characters of its {what} are compared")
            if room > 0:
                kept.append((name, text[:room], original[:room]))
            break
        kept.append((name, text, original[:MAX_CHARS]))
        room -= len(text)
    return kept, notes
