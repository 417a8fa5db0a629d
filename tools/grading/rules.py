"""The assignment's rules, checked by reading the submission's code (it is never run here).

- framework: no deep-learning framework is imported, in any .py file or notebook cell. (The
  harness also refuses such an import while the code runs, however it is spelled; what it
  refused comes back here as heard_findings.)
- loops: no Python loop over samples or classes runs on behalf of the functions students write
  (those the release leaves as stubs): not in them, nor in a function or method of the
  submission they call (followed through calls by name, self.method, ClassName.method and
  module.function, transitively), nor in code they pass to exec or eval as a constant string.
  A loop is a for, while or comprehension (except over a short literal such as ('W', 'b')),
  recursion, or a call that loops in Python: map, filter, functools.reduce, itertools.starmap,
  np.vectorize, np.apply_along_axis, np.frompyfunc..., by whatever name they were imported.
  exec or eval of a string built at run time is a finding too: the rule cannot be checked.
"""
import ast
import json
import re
from collections import deque
from pathlib import Path

RULES = {'framework': "No deep-learning framework",
         'loops': "Vectorised code: no Python loop over samples or classes"}
FRAMEWORKS = ('torch', 'tensorflow', 'keras', 'jax', 'jaxlib', 'flax', 'mxnet', 'paddle',
              'mindspore', 'oneflow', 'theano', 'chainer', 'caffe', 'caffe2', 'cntk', 'tinygrad')
# Calls that loop in Python: by their full name, and (for the unambiguous ones) by the last part
# of any name, e.g. pool.map.
LOOPING_CALLS = {'map', 'filter', 'builtins.map', 'builtins.filter', 'functools.reduce',
                 'itertools.starmap', 'itertools.accumulate', 'numpy.vectorize',
                 'numpy.apply_along_axis', 'numpy.apply_over_axes', 'numpy.frompyfunc'}
LOOPING_NAMES = ('vectorize', 'apply_along_axis', 'apply_over_axes', 'frompyfunc', 'map',
                 'starmap')
RUNS_CODE = {'exec', 'eval', 'compile', 'builtins.exec', 'builtins.eval', 'builtins.compile'}
SHORT_LITERAL = 4  # a loop over a literal of at most this many items is not over samples
MAX_FOLLOWED = 200  # functions followed from the students' functions, at most
# The line tools/release.py leaves in place of each solution, in any language (--lang):
# raise NotImplementedError("forward (loss.py): <message>")
STUB_MARK = re.compile(r'raise NotImplementedError\("\w+ \(\w+\.py\): ')
VECTORISE = ("The assignment asks for vectorised numpy: work on the whole batch at once (fancy "
             "indexing such as probs[np.arange(n), labels], sums over an axis, matrix products).")


class Finding:
    def __init__(self, rule, file, line, message, module=None):
        self.rule, self.file, self.line, self.message = rule, file, line, message
        self.module = module  # the framework, for the framework rule

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
    return [(name, node.lineno, node.end_lineno) for name, node in function_nodes(tree)]


def function_nodes(tree):
    """[(qualified name, node)] of every function in tree (methods as 'Class.method')."""
    found, stack = [], [(tree, '')]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    found.append((name, child))
                stack.append((child, name + '.'))
    return sorted(found, key=lambda item: item[1].lineno)


class NotebookError(ValueError):
    """A notebook whose code cells cannot be read; the message says why."""


def notebook_code(data):
    """The code cells of a notebook as one Python text (magics and shell lines blanked);
    NotebookError for a file that is not a notebook of the usual form."""
    try:
        notebook = json.loads(data)
    except RecursionError:
        raise NotebookError("its JSON is nested too deeply to read") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise NotebookError(f"it is not JSON ({err})") from None
    cells = notebook.get('cells') if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise NotebookError("it has no list of cells")
    lines = []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            raise NotebookError(f"its cell {number} is not a cell")
        if cell.get('cell_type') != 'code':
            continue
        source = cell.get('source', '')
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = ''.join(source)
        if not isinstance(source, str):
            raise NotebookError(f"the source of its cell {number} is not text")
        lines += ['' if line.lstrip().startswith(('%', '!')) else line
                  for line in source.splitlines()]
    return '\n'.join(lines)


def check(files, functions, problems=None):
    """Findings for files ({name: bytes}); functions as student_functions gives. A notebook
    whose cells cannot be read is searched as text for imports, and said so in problems."""
    findings, modules = [], {}
    for name, data in sorted(files.items()):
        try:
            text = notebook_code(data) if name.endswith('.ipynb') else data.decode('utf-8')
        except NotebookError as err:
            if problems is not None:
                problems.append(f"{name} is not a notebook the grader can read ({err}); its "
                                f"text was searched for framework imports only")
            findings += framework_by_text(name, data.decode('utf-8', errors='replace'))
            continue
        except UnicodeDecodeError:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # too deep, NUL bytes...
            findings += framework_by_text(name, text)
            continue
        findings += framework_imports(name, tree)
        if name.endswith('.py'):
            modules[name] = Module(name, tree)
    return findings + Loops(modules).findings(functions)


def is_framework(module):
    return isinstance(module, str) and module.split('.')[0] in FRAMEWORKS


def framework_message(name, line, module):
    return (f"{name} line {line} imports {module}: the assignment forbids deep-learning "
            f"frameworks (PyTorch, TensorFlow, ...). Write it with numpy alone and remove the "
            f"import.")


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
            if is_framework(module):
                found.append(Finding('framework', name, node.lineno,
                                     framework_message(name, node.lineno, module),
                                     module.split('.')[0]))
    return found


def framework_by_text(name, text):
    """Framework imports found in text that does not parse (a quote may come before them, as
    in a notebook's JSON)."""
    pattern = re.compile(r'''(?:^|["'\s;])(?:import|from)\s+(''' + '|'.join(FRAMEWORKS)
                         + r')\b', re.M)
    found = []
    for match in pattern.finditer(text):
        line = text.count('\n', 0, match.start(1)) + 1
        found.append(Finding('framework', name, line,
                             framework_message(name, line, match.group(1)), match.group(1)))
    return found


def heard_findings(heard, found):
    """Findings for the framework imports the harness refused while the code ran
    ([{'module', 'stage'}]), but for the frameworks found already: one entry each."""
    seen = {finding.module for finding in found if finding.rule == 'framework'}
    findings = []
    for item in heard:
        module, stage = item['module'], item['stage']
        if module in seen:
            continue
        seen.add(module)
        where = f"while {stage}" if stage.startswith(('importing', 'starting')) else f"in {stage}"
        findings.append(Finding('framework', None, None, (
            f"Your code tried to import {module} as it ran ({where}), by a name the grader "
            f"could not read; the grader refused it. The assignment forbids deep-learning "
            f"frameworks (PyTorch, TensorFlow, ...): write it with numpy alone."), module))
    return findings


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


class Module:
    """One .py file of the submission: its functions, its classes' bases, and what its names
    stand for (imports and plain assignments such as r = functools.reduce)."""

    def __init__(self, name, tree):
        self.name, self.functions = name, {}
        for qualified, node in function_nodes(tree):
            self.functions.setdefault(qualified, []).append(node)
        self.bases, self.aliases = {}, {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                self.bases.setdefault(node.name, []).extend(
                    base.id for base in node.bases if isinstance(base, ast.Name))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f'{node.module}.{alias.name}'
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name) and \
                    isinstance(node.value, (ast.Name, ast.Attribute)):
                dotted = self.dotted(node.value)
                if dotted and dotted != node.targets[0].id:
                    self.aliases.setdefault(node.targets[0].id, dotted)

    def dotted(self, node):
        """'functools.reduce' for ft.reduce after `import functools as ft`; None if not a name."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id) if parts or node.id not in
                     self.functions else node.id)
        return '.'.join(reversed(parts))


class Loops:
    """The loops rule over a submission's modules ({file name: Module})."""

    def __init__(self, modules):
        self.modules = modules

    def findings(self, functions):
        """Findings for loops run on behalf of functions ({file: [qualified names]})."""
        queue, seen, found = deque(), set(), {}
        for file, names in functions.items():
            for name in names:
                if file in self.modules and name in self.modules[file].functions:
                    queue.append((file, name, name.split('.')[-1], ((file, name),)))
                    seen.add((file, name))
        while queue:
            file, name, root, path = queue.popleft()
            module = self.modules[file]
            for node in module.functions[name]:
                for inner, what, calls in self.scan(module, name, node, path):
                    if what:
                        where = name.split('.')[-1]
                        where = root if where == root else f"{where} (which {root} calls)"
                        line = getattr(inner, 'lineno', node.lineno)
                        found.setdefault((file, line, what), Finding('loops', file, line, (
                            f"{file} line {line}, in {where}: {what}. {VECTORISE}")))
                    for target in calls:
                        if target not in seen and len(seen) < MAX_FOLLOWED:
                            seen.add(target)
                            queue.append((*target, root, path + (target,)))
        return sorted(found.values(), key=lambda finding: (finding.file, finding.line))

    def scan(self, module, name, function, path):
        """(node, what it is or None, [functions it calls]) for the loops and calls of a
        function's body, and of the constant code it passes to exec or eval."""
        bodies, results = deque([(function, '')]), []
        while bodies:
            body, given = bodies.popleft()
            for inner in ast.walk(body):
                what, calls = self.loop(inner), []
                if isinstance(inner, ast.Call):
                    called = module.dotted(inner.func)
                    last = (called or getattr(inner.func, 'attr', '')).split('.')[-1]
                    if called in LOOPING_CALLS or last in LOOPING_NAMES:
                        what = f"{called or last}(), which loops in Python"
                    elif called in RUNS_CODE:
                        code = self.constant_code(inner)
                        if code is None:
                            what = (f"{called}() of a string built as the code runs, which the "
                                    f"grader cannot check; write the code itself")
                        elif code:
                            bodies.append((code, f" in the code given to {called}()"))
                    else:
                        calls = self.targets(module, name, inner)
                        if any(target in path and self.one_definition(target) for target in calls) \
                                and not self.calls_super(inner):
                            what = "recursion, which loops in Python"
                if what or calls:
                    results.append((body if given else inner, what and what + given, calls))
        return results

    def one_definition(self, target):
        """True if a single function has target's name (a class that subclasses one of its own
        name, e.g. to wrap forward, makes the name ambiguous: calling it is no recursion)."""
        file, name = target
        return len(self.modules[file].functions[name]) == 1

    @staticmethod
    def calls_super(call):
        return isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Call) \
            and getattr(call.func.value.func, 'id', None) == 'super'

    @staticmethod
    def loop(node):
        if isinstance(node, (ast.For, ast.AsyncFor)) and not _short_literal(node.iter):
            return 'a for loop'
        if isinstance(node, ast.While):
            return 'a while loop'
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) \
                and not all(_short_literal(gen.iter) for gen in node.generators):
            return 'a comprehension'
        return None

    @staticmethod
    def constant_code(call):
        """The parsed code of exec('...') or eval('...'); None if the string is not constant,
        False if there is nothing to check."""
        if not call.args:
            return False
        argument = call.args[0]
        if not (isinstance(argument, ast.Constant) and isinstance(argument.value, (str, bytes))):
            return None
        try:
            code = ast.parse(argument.value)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
        code.lineno = call.lineno
        return code

    def targets(self, module, name, call):
        """[(file, qualified name)] of the submission's functions a call may run."""
        func, owner = call.func, name.rpartition('.')[0]
        if self.calls_super(call):
            return [(module.name, f'{base}.{func.attr}') for base in module.bases.get(owner, [])
                    if f'{base}.{func.attr}' in module.functions]
        dotted = module.dotted(func)
        if not dotted:
            return []
        head, _, rest = dotted.partition('.')
        if head in ('self', 'cls') and owner:
            classes = [owner] + module.bases.get(owner, [])
            return [(module.name, f'{cls}.{rest}') for cls in classes
                    if f'{cls}.{rest}' in module.functions]
        if dotted in module.functions:
            return [(module.name, dotted)]
        other = self.modules.get(head + '.py')
        if other is not None and rest in other.functions:
            return [(other.name, rest)]
        return []
