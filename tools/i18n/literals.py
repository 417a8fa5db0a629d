"""A message written back into Python source as string literals, wrapped to the line length.

The message is a template as texts.py reads it from the source: escapes as written (\\n), and
for an f-string its {placeholders}. It takes the place of the English literals: on one line if
it fits, else split into adjacent literals, one per line, aligned under the first (in
parentheses when it is not already inside brackets). Widths count a Chinese character as two
columns, as it is shown.
"""
import re
import unicodedata

from tools.i18n.texts import split_template

WIDTH = 100
NO_START = '，。、；：？！）》」』”’,.;:?!)]}'
NO_END = '（《「『“‘([{'
PAUSES = '，。、；：？！ '
NEAR = 12  # columns: a line may end this much early to end at a pause
MIN_ROOM = 50  # columns: with less room after its start, a message hangs on lines of its own
HANG = 4
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


def break_at(line, room=None):
    """Where to end a line of atoms that is too wide (the index of the first atom of the next
    line): as late as fits in room (all but the last atom if None), after a space or a
    punctuation mark if one is near the end, and never before a closing mark or after an
    opening one."""
    room = width(''.join(line[:-1])) if room is None else room
    fits = [cut for cut in range(1, len(line)) if width(''.join(line[:cut])) <= room] or [1]
    allowed = [cut for cut in fits if line[cut][0] not in NO_START and
               line[cut - 1][-1] not in NO_END] or fits
    late = max(allowed)
    near = [cut for cut in allowed if line[cut - 1][-1] in PAUSES and
            width(''.join(line[cut:late])) <= NEAR]
    return max(near) if near else late


def choose_quote(template, preferred):
    """preferred ('"' or "'"), unless a placeholder holds it."""
    inside = ''.join(part for is_placeholder, part in split_template(template) if is_placeholder)
    if preferred not in inside:
        return preferred
    other = "'" if preferred == '"' else '"'
    if other in inside:
        raise ValueError(f"the placeholders of {template!r} hold both kinds of quotes")
    return other


def python_literal(template, is_f, quote, prefix, depth, trailing, hanging=None, newline='\n'):
    """Source text of the literals for template, to start after prefix (the line's text before
    it), at bracket depth depth, with trailing after it on its last line. Several lines are
    aligned under the first literal, or, when the English hung them under an opening
    parenthesis (hanging: their column) or there is little room left on the line, hung under a
    parenthesis four columns in from the statement."""
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
    if parenthesised and (hanging is not None or column > WIDTH - MIN_ROOM):
        indent = hanging if hanging is not None else \
            width(prefix) - width(prefix.lstrip()) + HANG
        lines = wrap(pieces, WIDTH - indent - len('f""'), width(trailing) + 1)
        return '(' + newline + ''.join(' ' * indent + literal(line) + newline
                                       for line in lines).rstrip(newline) + ')'
    indent = column + parenthesised
    lines = wrap(pieces, WIDTH - indent - len('f""'), width(trailing) + parenthesised)
    text = (newline + ' ' * indent).join(literal(line) for line in lines)
    return f'({text})' if parenthesised else text


def wrap(pieces, room, last_taken):
    """The atoms as lines of at most room columns; the last line leaves last_taken columns
    for what follows it."""
    lines, line = [], []
    for atom in pieces:
        if line and width(''.join(line + [atom])) > room:
            cut = break_at(line + [atom])
            lines.append(line[:cut])
            line = line[cut:]
        line.append(atom)
    if len(line) > 1 and width(''.join(line)) > room - last_taken:
        cut = break_at(line, room - last_taken)
        lines.append(line[:cut])
        line = line[cut:]
    return lines + [line]
