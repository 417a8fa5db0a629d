"""Every text a student reads in a file of the release, found by where it is.

Four kinds of text:
- message: a string the student tests or the packer can show (in MESSAGE_FILES). A string is a
  message when it is an assert's message; an argument of a call in MESSAGE_CALLS or of a raised
  exception; a help= text; the value of a module constant named like MESSAGE_CONSTANT; the second
  item of a pair (value, hint), as in the tables of hints; a return value; or a parameter's
  default. A string inside the arguments of any other call (but str.join and str.format) is
  code, and so is any other module constant. Adjacent literals are one text; an f-string keeps
  its {placeholders}, as written. Only prose counts: a string with a word and a space in it.
- comment: a TODO comment of any .py file: its lines from the one that starts with TODO to the
  next rule of #s or the end of the comment block.
- markdown: a markdown cell of a notebook.
- readme: a block of the student README: a heading, a paragraph, a list, a table, or a fenced
  code block that holds a comment.

Each Text knows its English and where it is: offsets in the file's text (for markdown, the
cell's index), and what it takes to write another text in its place.
"""
import ast
import fnmatch
import io
import json
import keyword
import re
import tokenize

MESSAGE_FILES = ('pack_submission.py', 'tests/conftest.py', 'tests/reference_check.py',
                 'tests/test_*.py')
MESSAGE_CALLS = {'fail', 'print', 'write_line', 'write_sep', 'append', 'assert_matches',
                 'batch_size_mistakes'}
TRANSPARENT_CALLS = {'join', 'format'}
MESSAGE_CONSTANT = re.compile(r'([A-Z0-9_]*_)?(HINT|TEXT|MESSAGE)S?')
WORD = re.compile(r'(?<![\w.])(?:[A-Z]?[a-z]+|[A-Z]{2,})(?![\w(]|\.\w)')
CJK = re.compile(r'[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]')
PREFIX = re.compile(r'([A-Za-z]*)("""|\'\'\'|"|\')')
TODO = re.compile(r'\s*#\s*TODO\b')
RULE = re.compile(r'\s*#+\s*')  # a comment line of #s only


class Text:
    """One text of a file: its kind, its English (or whatever it now holds), where it is
    (start and end offsets in the file's text; for markdown, the cell), and its layout."""

    def __init__(self, kind, text, start=None, end=None, line=None, **layout):
        self.kind, self.text, self.start, self.end, self.line = kind, text, start, end, line
        self.layout = layout

    def __repr__(self):
        return f"Text({self.kind!r}, {self.text!r}, line {self.line})"


def matches(relative, patterns):
    """Whether the release path relative ('tests/test_loss.py') is one of patterns."""
    return any(fnmatch.fnmatch(relative, pattern) and relative.count('/') == pattern.count('/')
               for pattern in patterns)


def texts_of(relative, text):
    """The texts of the release file relative (a posix path) whose text is text."""
    if relative.endswith('.ipynb'):
        return markdown_texts(text)
    if not relative.endswith('.py'):
        return []
    found = comment_texts(text)
    if matches(relative, MESSAGE_FILES):
        found += message_texts(text)
    return sorted(found, key=lambda found_text: found_text.start)


# --- Python strings -------------------------------------------------------------------------

def split_template(template):
    """[(is_placeholder, part)] of an f-string or str.format template: '{x!r:>3}' parts are
    placeholders (nested brackets and quotes taken into account), '{{' and '}}' literal."""
    parts, literal, index = [], '', 0
    while index < len(template):
        char = template[index]
        if char in '{}' and template[index:index + 2] in ('{{', '}}'):
            literal, index = literal + template[index:index + 2], index + 2
            continue
        if char != '{':
            literal, index = literal + char, index + 1
            continue
        depth, quote, end = 0, None, index
        while end < len(template):
            current = template[end]
            if quote:
                quote = None if current == quote else quote
            elif current in '\'"':
                quote = current
            elif current in '{[(':
                depth += 1
            elif current in '}])':
                depth -= 1
                if depth == 0:
                    break
            end += 1
        if literal:
            parts.append((False, literal))
        parts.append((True, template[index:end + 1]))
        literal, index = '', end + 1
    if literal:
        parts.append((False, literal))
    return parts


def placeholders(template):
    """The placeholders of a template, sorted: ['{param}', '{step}']."""
    return sorted(part for is_placeholder, part in split_template(template) if is_placeholder)


def is_prose(template):
    """Whether a string is words for a reader: a word and a space outside its placeholders,
    or a Chinese character."""
    literal = ''.join(part for is_placeholder, part in split_template(template)
                      if not is_placeholder)
    return bool(CJK.search(literal)) or (' ' in literal and bool(WORD.search(literal)))


def callee(call):
    """The last name of what a call calls: 'fail' for pytest.fail(...)."""
    function = call.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, 'id', None)


def string_role(node, parents, module):
    """'message', 'code', 'doc' or None (none of these) for a string node; see the docstring of
    this module for the rules. A pair (value, hint) makes a message unless something around it
    makes it code (a comparison, the arguments of a call that is not a message's)."""
    child, pair = node, False
    while child in parents:
        parent = parents[child]
        if isinstance(parent, ast.Assert) and child is parent.msg:
            return 'message'
        if isinstance(parent, ast.keyword) and parent.arg == 'help':
            return 'message'
        if isinstance(parent, ast.Call) and child is not parent.func:
            if callee(parent) in MESSAGE_CALLS or isinstance(parents.get(parent), ast.Raise):
                return 'message'
            if callee(parent) not in TRANSPARENT_CALLS:
                return 'code'
        if isinstance(parent, (ast.Compare, ast.Subscript)) or \
                (isinstance(parent, ast.Dict) and child in parent.keys):
            return 'code'
        if isinstance(parent, ast.Tuple) and len(parent.elts) == 2 and child is parent.elts[1]:
            pair = True
        if isinstance(parent, (ast.Return, ast.arguments)):
            return 'message'
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parents.get(parent) is module:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            names = [target.id for target in targets if isinstance(target, ast.Name)]
            return 'message' if pair or any(MESSAGE_CONSTANT.fullmatch(name) for name in names) \
                else 'code'
        if isinstance(parent, ast.Expr) and not pair:
            return 'doc'
        if isinstance(parent, ast.stmt):
            return 'message' if pair else None
        child = parent
    return 'message' if pair else None


def string_nodes(tree):
    """[(node, role)] of the strings of a module that are not inside an f-string."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.JoinedStr) or
                (isinstance(node, ast.Constant) and isinstance(node.value, str))):
            continue
        ancestor = parents.get(node)
        while ancestor is not None and not isinstance(ancestor, ast.JoinedStr):
            ancestor = parents.get(ancestor)
        if ancestor is None:
            found.append((node, string_role(node, parents, tree)))
    return found


class Source:
    """A Python text with what it takes to find places in it: line offsets and tokens."""

    def __init__(self, text):
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.line_starts = [0]
        for line in self.lines:
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        self.depths, depth = [], 0  # the bracket depth before each token
        for token in self.tokens:
            self.depths.append(depth)
            if token.type == tokenize.OP and token.string in '([{':
                depth += 1
            elif token.type == tokenize.OP and token.string in ')]}':
                depth -= 1

    def offset(self, row, column):
        """The offset of a (1-based row, character column) place."""
        return self.line_starts[row - 1] + column

    def node_offsets(self, node):
        """(start, end) offsets of an AST node (whose columns count UTF-8 bytes)."""
        def chars(row, byte_column):
            return len(self.lines[row - 1].encode('utf-8')[:byte_column].decode('utf-8'))
        return (self.offset(node.lineno, chars(node.lineno, node.col_offset)),
                self.offset(node.end_lineno, chars(node.end_lineno, node.end_col_offset)))

    def token_offsets(self, index):
        token = self.tokens[index]
        return self.offset(*token.start), self.offset(*token.end)


SKIPPED = (tokenize.NL, tokenize.COMMENT)


def message_texts(text):
    """The message strings of a Python text (see this module's docstring), as Texts."""
    source = Source(text)
    found = []
    for node, role in string_nodes(ast.parse(text)):
        if role == 'message':
            message = string_text(source, node)
            if message is not None and is_prose(message.text):
                found.append(message)
    return found


def unclassified_strings(text):
    """[(line, string)]: the prose strings of a Python text that are neither messages, code nor
    docstrings by the rules of this module, and that do not compile as Python code."""
    source, found = Source(text), []
    for node, role in string_nodes(ast.parse(text)):
        if role is None:
            string = string_text(source, node)
            if string is not None and is_prose(string.text) and not compiles(node):
                found.append((node.lineno, string.text))
    return found


def compiles(node):
    """Whether a plain string holds Python code ('import json; ...')."""
    if not isinstance(node, ast.Constant):
        return False
    try:
        compile(node.value, '<string>', 'exec')
    except (SyntaxError, ValueError):
        return False
    return True


def string_text(source, node):
    """The Text of a string node (adjacent literals as one), or None for raw and bytes ones."""
    start, end = source.node_offsets(node)
    indices = [index for index, token in enumerate(source.tokens)
               if token.type == tokenize.STRING
               and start <= source.offset(*token.start) < end]
    pieces = []
    for index in indices:
        string = source.tokens[index].string
        prefix, quote = PREFIX.match(string).groups()
        pieces.append((prefix.lower(), quote, string[len(prefix) + len(quote):-len(quote)]))
    if any('r' in prefix or 'b' in prefix for prefix, _, _ in pieces):
        return None
    inside = [token for token in source.tokens[indices[0]:indices[-1]]
              if token.type == tokenize.COMMENT]
    if inside:
        raise ValueError(f"line {inside[0].start[0]}: a comment inside a string that a student "
                         f"reads; move it out of the string")
    is_f = any('f' in prefix for prefix, _, _ in pieces)
    template = ''.join(unescape_quotes(body) if 'f' in prefix or not is_f else
                       unescape_quotes(body).replace('{', '{{').replace('}', '}}')
                       for prefix, _, body in pieces)
    first, last = indices[0], indices[-1]
    depth = source.depths[first]
    before, after = neighbour(source, first, -1), neighbour(source, last, 1)
    hanging = None
    if grouping_parentheses(source, before, after):
        if source.tokens[before].start[0] < source.tokens[first].start[0]:
            hanging = source.tokens[first].start[1]
        first, last, depth = before, after, source.depths[before]
    start, end = source.token_offsets(first)[0], source.token_offsets(last)[1]
    row, column = source.tokens[first].start
    line_end = source.tokens[last].end
    return Text('message', template, start, end, line=row, is_f=is_f, quote=pieces[0][1],
                prefix=source.lines[row - 1][:column], depth=depth, hanging=hanging,
                trailing=source.lines[line_end[0] - 1][line_end[1]:].rstrip('\r\n'))


def unescape_quotes(body):
    """A literal's body with \\' and \\" written as the quote itself (other escapes kept)."""
    return re.sub(r'\\(.)', lambda match: match.group(1) if match.group(1) in '\'"'
                  else match.group(0), body, flags=re.DOTALL)


def neighbour(source, index, step):
    """The index of the nearest token before (step -1) or after (step 1) index that is not a
    line break or a comment, or None."""
    index += step
    while 0 <= index < len(source.tokens) and source.tokens[index].type in SKIPPED:
        index += step
    return index if 0 <= index < len(source.tokens) else None


def grouping_parentheses(source, before, after):
    """Whether the tokens at before and after are parentheses around the string alone (not
    those of a call)."""
    if before is None or after is None:
        return False
    opening, closing = source.tokens[before], source.tokens[after]
    if (opening.type, opening.string, closing.type, closing.string) != \
            (tokenize.OP, '(', tokenize.OP, ')'):
        return False
    previous = neighbour(source, before, -1)
    if previous is None:
        return True
    token = source.tokens[previous]
    called = (token.type == tokenize.NAME and not keyword.iskeyword(token.string)) or \
        token.type == tokenize.STRING or (token.type == tokenize.OP and token.string in ')]}')
    return not called


# --- comments, notebooks, the README --------------------------------------------------------

def comment_texts(text):
    """The TODO comments of a Python text: each one's lines without '# ', from the line that
    starts with TODO to the next rule of #s or the end of its comment block, as one Text."""
    lines, found, index = text.splitlines(keepends=True), [], 0
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    while index < len(lines):
        if not lines[index].lstrip().startswith('#'):
            index += 1
            continue
        indent = lines[index][:len(lines[index]) - len(lines[index].lstrip())]
        end = index
        while end < len(lines) and lines[end].startswith(indent + '#'):
            end += 1
        todo = [number for number in range(index, end) if TODO.match(lines[number])]
        if todo:
            first = last = todo[0]
            while last + 1 < end and not RULE.fullmatch(lines[last + 1].rstrip()):
                last += 1
            body = [lines[number].rstrip('\r\n')[len(indent) + 1:] for number in
                    range(first, last + 1)]
            newline = lines[last][len(lines[last].rstrip('\r\n')):] or '\n'
            found.append(Text('comment', '\n'.join(line[1:] if line.startswith(' ') else line
                                                  for line in body),
                              starts[first], starts[last + 1], line=first + 1, indent=indent,
                              newline=newline))
        index = end
    return found


def markdown_texts(text):
    """The markdown cells of a notebook's text, as Texts that know their cell's index."""
    cells = json.loads(text)['cells']
    return [Text('markdown', ''.join(cell['source']) if isinstance(cell['source'], list)
                 else cell['source'], cell=index)
            for index, cell in enumerate(cells) if cell['cell_type'] == 'markdown']


def readme_texts(text):
    """The blocks of a Markdown text that a student reads: headings, paragraphs, lists and
    tables (blank-line separated), and the fenced code blocks that hold a comment (' # ')."""
    lines, found, index = text.splitlines(keepends=True), [], 0
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    while index < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        end = index + 1
        if lines[index].startswith('```'):
            while end < len(lines) and not lines[end].startswith('```'):
                end += 1
            end += 1
        else:
            while end < len(lines) and lines[end].strip() and not lines[end].startswith('```'):
                end += 1
        block = ''.join(lines[index:end]).rstrip('\n')
        if not block.startswith('```') or re.search(r'\s# ', block):
            found.append(Text('readme', block, starts[index], starts[index] + len(block),
                              line=index + 1))
        index = end
    return found
