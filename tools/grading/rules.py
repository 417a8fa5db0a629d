"""The assignment's rules, checked by reading the submission's code (it is never run here).

- framework: no deep-learning framework is imported, in any .py file or notebook cell.
- loops: the functions students write (those the release leaves as stubs) hold no Python loop
  over samples or classes: no for, while or comprehension, except over a short literal such as
  ('W', 'b'), and no np.vectorize, np.apply_along_axis, np.frompyfunc or map, which loop in
  Python too.
"""
import ast
import json
import re
from pathlib import Path

RULES = {'framework': "No deep-learning framework",
         'loops': "Vectorised code: no Python loop over samples or classes"}
FRAMEWORKS = ('torch', 'tensorflow', 'keras', 'jax', 'jaxlib', 'flax', 'mxnet', 'paddle',
              'mindspore', 'oneflow', 'theano', 'chainer', 'caffe', 'caffe2', 'cntk', 'tinygrad')
LOOPING_CALLS = ('vectorize', 'apply_along_axis', 'apply_over_axes', 'frompyfunc', 'map')
SHORT_LITERAL = 4  # a loop over a literal of at most this many items is not over samples
STUB_MARK = re.compile(r'raise NotImplementedError\(.*see the TODO above')


class Finding:
    def __init__(self, rule, file, line, message):
        self.rule, self.file, self.line, self.message = rule, file, line, message

    def __repr__(self):
        return f"Finding({self.rule!r}, {self.file!r}, {self.line}, {self.message!r})"


def student_functions(release_dir):
    """{file name: [qualified function names]} of the functions the release leaves as stubs."""
    functions = {}
    for path in sorted(Path(release_dir).glob('*.py')):
        text = path.read_text(encoding='utf-8')
        stub_lines = [number for number, line in enumerate(text.splitlines(), 1)
                      if STUB_MARK.search(line)]
        if stub_lines:
            spans = function_spans(ast.parse(text))
            # each stub belongs to the innermost function around it
            functions[path.name] = [max((span for span in spans if span[1] <= line <= span[2]),
                                        key=lambda span: span[1])[0] for line in stub_lines]
    return functions


def function_spans(tree):
    """[(qualified name, first line, last line)] of every function in tree."""
    spans = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    spans.append((name, child.lineno, child.end_lineno))
                visit(child, name + '.')

    visit(tree, '')
    return spans


def notebook_code(data):
    """The code cells of a notebook as one Python text (magics and shell lines blanked)."""
    cells = json.loads(data).get('cells', [])
    lines = []
    for cell in cells:
        if cell.get('cell_type') == 'code':
            source = cell.get('source', '')
            source = ''.join(source) if isinstance(source, list) else str(source)
            lines += ['' if line.lstrip().startswith(('%', '!')) else line
                      for line in source.splitlines()]
    return '\n'.join(lines)


def check(files, functions):
    """Findings for files ({name: bytes}); functions as student_functions gives."""
    findings = []
    for name, data in sorted(files.items()):
        try:
            text = notebook_code(data) if name.endswith('.ipynb') else data.decode('utf-8')
        except (UnicodeDecodeError, ValueError, AttributeError):
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # too deep, NUL bytes...
            findings += framework_by_text(name, text)
            continue
        findings += framework_imports(name, tree)
        if name in functions:
            findings += loops(name, tree, functions[name])
    return findings


def _framework(module):
    return isinstance(module, str) and module.split('.')[0] in FRAMEWORKS


def framework_imports(name, tree):
    found = []
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules = [node.module]
        elif isinstance(node, ast.Call) and node.args and \
                isinstance(node.args[0], ast.Constant) and \
                getattr(node.func, 'attr', getattr(node.func, 'id', None)) in \
                ('import_module', '__import__'):
            modules = [node.args[0].value]
        for module in modules:
            if _framework(module):
                found.append(Finding('framework', name, node.lineno, (
                    f"{name} line {node.lineno} imports {module}: the assignment forbids "
                    f"deep-learning frameworks (PyTorch, TensorFlow, ...). Write it with numpy "
                    f"alone and remove the import.")))
    return found


def framework_by_text(name, text):
    pattern = re.compile(r'^\s*(?:import|from)\s+(' + '|'.join(FRAMEWORKS) + r')\b', re.M)
    return [Finding('framework', name, text.count('\n', 0, match.start()) + 1,
                    f"{name} line {text.count(chr(10), 0, match.start()) + 1} imports "
                    f"{match.group(1)}: the assignment forbids deep-learning frameworks")
            for match in pattern.finditer(text)]


def _short_literal(node):
    """True for ('W', 'b'), [a, b], zip((W, b), (gW, gb)), enumerate of one, and the like."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return len(node.elts) <= SHORT_LITERAL
    if isinstance(node, ast.Dict):
        return len(node.keys) <= SHORT_LITERAL
    if isinstance(node, ast.Call) and getattr(node.func, 'id', None) in ('zip', 'enumerate',
                                                                          'reversed', 'sorted'):
        return bool(node.args) and all(_short_literal(arg) for arg in node.args)
    if isinstance(node, ast.Call) and getattr(node.func, 'attr', None) in ('items', 'keys',
                                                                            'values'):
        return _short_literal(node.func.value)
    return False


def loops(name, tree, wanted):
    found = []
    for function, first, last in function_spans(tree):
        if function not in wanted:
            continue
        node = next(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef,
                                                                 ast.AsyncFunctionDef))
                    and n.lineno == first and n.end_lineno == last)
        short = function.split('.')[-1]
        for inner in ast.walk(node):
            what = None
            if isinstance(inner, (ast.For, ast.AsyncFor)) and not _short_literal(inner.iter):
                what = 'a for loop'
            elif isinstance(inner, ast.While):
                what = 'a while loop'
            elif isinstance(inner, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) \
                    and not all(_short_literal(gen.iter) for gen in inner.generators):
                what = 'a comprehension'
            elif isinstance(inner, ast.Call) and \
                    getattr(inner.func, 'attr', getattr(inner.func, 'id', None)) in LOOPING_CALLS:
                what = f"{getattr(inner.func, 'attr', getattr(inner.func, 'id', ''))}(), " \
                       f"which loops in Python"
            if what:
                found.append(Finding('loops', name, inner.lineno, (
                    f"{name} line {inner.lineno}, in {short}: {what}. The assignment asks for "
                    f"vectorised numpy: work on the whole batch at once (fancy indexing such as "
                    f"probs[np.arange(n), labels], sums over an axis, matrix products).")))
    return found
