"""A language's catalog (tools/i18n/<lang>.toml): each English text of the release, by file,
with its translation; and the translation of a file of the release, text by text.

    [["tests/test_loss.py"]]
    en = '''forward: at logits of magnitude 1e4 acc is {acc}, expected 1/3'''
    zh = '''forward：logits 的量级为 1e4 时 acc 为 {acc}，应为 1/3'''

A file is named by its path in the source: tools/release.py for the stub's message,
tools/student_README.md and README.md for the blocks of the student README. A text with no
translation stays in English; a translation whose English is not where its file says is an
error, as is a message whose translation does not keep its {placeholders}.
"""
import re
from pathlib import Path

import nbformat

from tools.i18n.literals import python_literal
from tools.i18n.texts import markdown_texts, placeholders, readme_texts, split_template, texts_of

FOLDER = Path(__file__).resolve().parent
LANGUAGES = {'en': 'English', 'zh': '中文'}  # en, the source's own, has no catalog
ESCAPES = {'n': '\n', 't': '\t', '\\': '\\', "'": "'", '"': '"'}


def read_toml(path):
    """The TOML file at path as a dict; tomllib (Python 3.11+), or the tomli package."""
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            raise ValueError(f"reading {path} needs Python 3.11 or newer (tomllib), or the "
                             f"tomli package (pip install tomli)") from None
    try:
        with open(path, 'rb') as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path} is not valid TOML: {err}") from None


class Catalog:
    """The translations of one language: {file: {English: translation}}, in the file's order.

    Translating records which entries were used (used) and which texts had none (missing), so
    that the release can fail on entries it never found and list the texts left in English.
    """

    def __init__(self, lang, path=None):
        if lang not in LANGUAGES or lang == 'en':
            raise ValueError(f"no catalog for --lang {lang}: the languages are "
                             f"{', '.join(sorted(LANGUAGES))}")
        self.lang, self.path = lang, Path(path or FOLDER / f'{lang}.toml')
        if not self.path.is_file():
            raise ValueError(f"{self.path} is missing: the catalog of --lang {lang}")
        self.entries = {}
        for file, entries in read_toml(self.path).items():
            if not isinstance(entries, list) or not all(isinstance(entry, dict)
                                                        for entry in entries):
                raise ValueError(f"{self.path}: {file!r} is not a list of [[{file!r}]] entries")
            self.entries[file] = {}
            for number, entry in enumerate(entries, 1):
                where = f"{self.path}: entry {number} of [[{file!r}]]"
                if set(entry) != {'en', 'zh'} or not all(isinstance(value, str) and value.strip()
                                                         for value in entry.values()):
                    raise ValueError(f"{where} needs exactly two texts, en and zh; it has "
                                     f"{', '.join(sorted(entry)) or 'none'}")
                if entry['en'] in self.entries[file]:
                    raise ValueError(f"{where} repeats the English of an entry before it: "
                                     f"{entry['en']!r}")
                self.entries[file][entry['en']] = entry['zh']
        self.used, self.missing = set(), []

    def lookup(self, file, found):
        """The translation of a found Text of file, or None (then it is listed as missing)."""
        translation = self.entries.get(file, {}).get(found.text)
        if translation is None:
            self.missing.append((file, found))
            return None
        if found.kind == 'message' and placeholders(translation) != placeholders(found.text):
            raise ValueError(f"{self.path}: [[{file!r}]]: the translation of {found.text!r} "
                             f"has the placeholders {placeholders(translation)}, the English "
                             f"{placeholders(found.text)}; they must be the same")
        self.used.add((file, found.text))
        return translation

    def text(self, file, english):
        """The translation of one English text that must be in the catalog (the stub's)."""
        if english not in self.entries.get(file, {}):
            raise ValueError(f"{self.path} has no [[{file!r}]] entry for {english!r}")
        self.used.add((file, english))
        return self.entries[file][english]

    def translate(self, file, text):
        """text, the text of the release file file (a .py or a notebook), with each text that
        has a translation replaced by it."""
        if file.endswith('.ipynb'):
            notebook = nbformat.reads(text, as_version=4)
            for found in markdown_texts(text):
                translation = self.lookup(file, found)
                if translation is not None:
                    notebook.cells[found.layout['cell']].source = translation
            return nbformat.writes(notebook) + '\n'
        newline = '\r\n' if '\r\n' in text else '\n'
        return self.replace(file, text, texts_of(file, text), newline)

    def translate_readme(self, file, text):
        """A part of the student README that comes from file, with its blocks translated."""
        return self.replace(file, text, readme_texts(text), '\n')

    def replace(self, file, text, texts, newline):
        out, position = [], 0
        for found in texts:
            translation = self.lookup(file, found)
            if translation is None:
                continue
            out += [text[position:found.start], render(found, translation, newline)]
            position = found.end
        return ''.join(out) + text[position:]

    def unused(self, files=None):
        """[(file, English)] of the entries no translation used (of files only, if given)."""
        return [(file, english) for file, entries in self.entries.items()
                for english in entries if (file, english) not in self.used
                and (files is None or file in files)]

    def compare(self, texts):
        """(missing, leftover) for texts ({file: [Text]}, as release.student_texts() gives
        them): [(file, Text)] that have no translation, and [(file, English)] of the entries
        whose English none of texts is."""
        missing = [(file, found) for file, found_texts in texts.items() for found in found_texts
                   if found.text not in self.entries.get(file, {})]
        known = {(file, found.text) for file, found_texts in texts.items()
                 for found in found_texts}
        leftover = [(file, english) for file, entries in self.entries.items()
                    for english in entries if (file, english) not in known]
        return missing, leftover


def render(found, translation, newline):
    """The source text that puts translation in the place of the found Text."""
    if found.kind == 'message':
        return python_literal(translation, newline=newline, **found.layout)
    if found.kind == 'comment':
        indent = found.layout['indent']
        return ''.join(f"{indent}# {line}".rstrip() + found.layout['newline']
                       for line in translation.split('\n'))
    return translation


def literals(template):
    """The literal parts of a message template, between and around its placeholders (k
    placeholders, k + 1 parts), as they are shown: escapes read, {{ and }} as braces."""
    parts = ['']
    for is_placeholder, part in split_template(template):
        if is_placeholder:
            parts.append('')
            continue
        for piece in re.split(r'(\{\{|\}\}|\\.)', part):
            if piece in ('{{', '}}'):
                piece = piece[0]
            elif len(piece) == 2 and piece.startswith('\\'):
                piece = ESCAPES.get(piece[1], piece)
            parts[-1] += piece
    return parts


def shown(template):
    """A regular expression for what a message template shows once its placeholders are
    filled in (with anything)."""
    return re.compile('.*?'.join(map(re.escape, literals(template))), re.DOTALL)


def coverage(template, fragment):
    """How many characters of fragment the words of a message template account for (0 if the
    template cannot show it). The fragment may begin in a placeholder or before the template,
    and run on into a placeholder or past the template's end; a placeholder inside it stands
    for a value without spaces (such as W, 1 or batch_size's 9)."""
    parts, best = literals(template), 0
    for first, part in enumerate(parts):
        if fragment in part:
            return len(fragment)
        ends = [end for end in range(1, len(part)) if fragment.endswith(part[:end])]
        starts = [start for start in range(1, len(part)) if fragment.startswith(part[start:])]
        best = max([best] + ends + [len(part) - start for start in starts] +
                   ([len(part)] if part and part in fragment else []))
        for last in range(first + 1, len(parts)):
            middle = r'\S+' + ''.join(re.escape(parts[index]) + r'\S+'
                                      for index in range(first + 1, last))
            inner = sum(len(parts[index]) for index in range(first + 1, last))
            heads = [0] + [start for start in range(1, len(part) + 1)
                           if fragment.startswith(part[start:])]
            tails = [len(parts[last])] + [end for end in range(len(parts[last]))
                                          if fragment.endswith(parts[last][:end])]
            for start in heads:
                for end in tails:
                    pattern = (('.*' if start == 0 else '') + re.escape(part[start:]) + middle +
                               re.escape(parts[last][:end]) +
                               ('.*' if end == len(parts[last]) else ''))
                    if re.fullmatch(pattern, fragment, re.DOTALL):
                        best = max(best, len(part) - start + inner + end)
    return best
