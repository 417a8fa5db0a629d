"""A message written back into Python source as string literals, wrapped to the line length.

The message is a template as texts.py reads it from the source: escapes as written (\\n), and
for an f-string its {placeholders}. It takes the place of the English literals: on one line if
it fits, else split into adjacent literals, one per line, aligned under the first (in
parentheses when it is not already inside brackets). Widths count a Chinese character as two
columns, as it is shown.
"""
import re
import unicodedata

from i18n.texts import split_template

WIDTH = 100
ATOM = re.compile(r'`[^`]*`|\\.|\{\{|\}\}|[^\s\\{}`\u0080-\U0010ffff]+|.', re.DOTALL)


def width(text):
    """Columns text takes on screen: two for a wide (Chinese) character, one for the others."""
    return sum(2 if unicodedata.east_asian_width(char) in 'WF' else 1 for char in text)


def atoms(template, quote):
    """The template cut where a line may break (never inside a placeholder, an escape, a word
    or a `code` span), with quote escaped outside the placeholders."""
    found = []
    for is_placeholder, part in split_template(template):
        if is_placeholder:
            if quote in part or '\\' in part:
                raise ValueError(f"the placeholder {part} holds a {quote} or a backslash: "
                                 f"it cannot go into a {quote}-quoted f-string")
            found.append(part)
        else:
            found += [atom if atom.startswith('\\') else atom.replace(quote, '\\' + quote)
                      for atom in ATOM.findall(part)]
    return found


def choose_quote(template, preferred):
    """preferred ('"' or "'"), unless a placeholder holds it."""
    inside = ''.join(part for is_placeholder, part in split_template(template) if is_placeholder)
    if preferred not in inside:
        return preferred
    other = "'" if preferred == '"' else '"'
    if other in inside:
        raise ValueError(f"the placeholders of {template!r} hold both kinds of quotes")
    return other


def python_literal(template, is_f, quote, prefix, depth, trailing, newline='\n'):
    """Source text of the literals for template, to start after prefix (the line's text before
    it), at bracket depth depth, with trailing after it on its last line."""
    quote = choose_quote(template, quote if quote in ('"', "'") else '"')
    pieces = atoms(template, quote)

    def literal(part):
        body = ''.join(part)
        marker = 'f' if is_f and ('{' in body or '}' in body) else ''
        return f'{marker}{quote}{body}{quote}'

    column = width(prefix)
    single = literal(pieces)
    if column + width(single) + width(trailing) <= WIDTH:
        return single
    parenthesised = depth == 0
    indent = column + parenthesised
    room = WIDTH - indent - len('f""')
    lines, line = [], []
    for atom in pieces:
        if line and width(''.join(line + [atom])) > room:
            lines.append(line)
            line = []
        line.append(atom)
    last_room = room - width(trailing) - parenthesised  # what follows it on its line
    moved = []
    while len(line) > 1 and width(''.join(line)) > last_room:
        moved.insert(0, line.pop())
    lines += [line, moved] if moved else [line]
    text = (newline + ' ' * indent).join(literal(line) for line in lines)
    return f'({text})' if parenthesised else text
