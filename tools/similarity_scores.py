"""Fingerprints of what students wrote, and how much two documents share beyond the class.

Fingerprints are copydetect's k-grams (the MOSS method). Code, one statement a line as
ast.unparse writes it, is tokenised by Pygments: every name becomes V, every string S, and
spacing goes, so renaming and reformatting change no fingerprint; the k-grams are taken within
each statement, so reordering statements changes none either. Text is lower-cased, with each run
of punctuation and spaces as one space. Every k-gram is kept (a window of 1): these documents are
short, and winnowing, which keeps the smallest of Python's string hashes, would keep other
k-grams on each run. The release's own fingerprints are dropped.

A fingerprint weighs log((N + 1) / df), where df of the N documents hold it: one that nearly every
student wrote weighs almost nothing, one that two students share weighs much. A pair's code (or
text) score is the weight of the fingerprints both hold over the weight of those either holds
(weighted Jaccard, 0 to 1). An identical sentence of eight words or more that few others wrote
is strong evidence on its own: the text score is at least sentence_score(how many). The pair's
score is 1 - (1 - code) * (1 - text): high when either is.
"""
import functools
import io
import math
import re

import numpy as np
from copydetect import CodeFingerprint

CODE_K = 20  # characters of tokenised code: a short statement, 'V=V.V(V,V=1,V=True)'
TEXT_K = 20  # characters of normalised text (three or four English words, a Chinese clause)
MIN_SENTENCE_WORDS = 8  # words of letters (numbers do not count), a CJK character half a word
SENTENCE_DOUBT = 0.7  # each identical sentence few others wrote leaves this share of doubt
SENTENCE_END = re.compile(r'(?<=[.!?;:。！？；：])\s+|(?<=[。！？；：])|\n+')
CJK = re.compile(r'[\u3400-\u9fff\uf900-\ufaff]')
WORD = re.compile(r'[^\W\d_]+')
RARE_SHARE = 0.1  # marked dark: a fingerprint held by at most this share of the documents (or 2)


def normalised(text):
    """(normalised text, positions): letters and digits lower-cased, each run of anything else as
    one space; positions[i] is where the normalised text's i-th character is in text."""
    chars, positions = [], []
    for index, char in enumerate(text):
        if char.isalnum():
            lower = char.lower()
            chars.append(lower if len(lower) == 1 else char)
            positions.append(index)
        elif chars and chars[-1] != ' ':
            chars.append(' ')
            positions.append(index)
    return ''.join(chars), positions


def normalise(text):
    return normalised(text)[0].strip()


def code_fingerprints(text, boilerplate=frozenset()):
    """{fingerprint: [(start, end) in text]} of Python code, one statement a line (as
    ast.unparse writes it), without those in boilerplate.

    The k-grams are taken within each line, so that reordering statements changes none; a line
    shorter than CODE_K once tokenised is one fingerprint.
    """
    prints, at = {}, 0
    for line in text.splitlines(keepends=True):
        for value, spans in line_fingerprints(line).items():
            if value not in boilerplate:
                prints.setdefault(value, []).extend((at + start, at + end) for start, end in spans)
        at += len(line)
    return prints


@functools.lru_cache(maxsize=1 << 16)  # students write many of the same lines
def line_fingerprints(line):
    """{fingerprint: [(start, end) in line]} of one line of code (not to be changed: cached)."""
    found = CodeFingerprint('written.py', CODE_K, 1, language='python', fp=io.StringIO(line))
    if not found.filtered_code.strip():
        return {}
    if len(found.filtered_code) < CODE_K:
        return {hash(found.filtered_code): [(0, len(line.rstrip()))]}
    offsets = found.offsets
    prints = {}
    for value, starts in found.hash_idx.items():
        starts = np.asarray(starts)
        ends = starts + CODE_K
        if len(offsets):  # back from the tokenised code to the text, as copydetect does
            at = offsets[:, 1]
            starts = starts + at[np.clip(np.searchsorted(offsets[:, 0], starts), 0, len(at) - 1)]
            ends = ends + at[np.clip(np.searchsorted(offsets[:, 0], ends), 0, len(at) - 1)]
        prints[value] = list(zip(starts.tolist(), ends.tolist()))
    return prints


def text_fingerprints(text, boilerplate=frozenset()):
    """{fingerprint: [(start, end) in text]} of prose, without those in boilerplate."""
    plain, positions = normalised(text)
    if len(plain) < TEXT_K:
        return {}
    found = CodeFingerprint('written.txt', TEXT_K, 1, filter=False, fp=io.StringIO(plain))
    return {value: [(positions[start], positions[start + TEXT_K - 1] + 1) for start in starts]
            for value, starts in found.hash_idx.items() if value not in boilerplate}


def sentences(text):
    """The normalised sentences of text long enough to count (MIN_SENTENCE_WORDS): quoting the
    same numbers in the same few words is what every student does."""
    found = set()
    for sentence in SENTENCE_END.split(text):
        words = len(WORD.findall(CJK.sub(' ', sentence))) + len(CJK.findall(sentence)) / 2
        if words >= MIN_SENTENCE_WORDS:
            found.add(normalise(sentence))
    return found


class Weights:
    """Each fingerprint's weight, log((N + 1) / df), over the N documents' fingerprint dicts."""

    def __init__(self, documents):
        counts = {}
        for prints in documents:
            for value in prints:
                counts[value] = counts.get(value, 0) + 1
        self.count = counts
        self.rare = max(2, int(RARE_SHARE * len(documents)))
        self.weight = {value: math.log((len(documents) + 1) / count)
                       for value, count in counts.items()}

    def total(self, values):
        return math.fsum(self.weight[value] for value in values)  # fsum: the same in any order


def similarity(a, b, weights, a_total, b_total):
    """Weighted Jaccard of the fingerprint dicts a and b, whose weights total a_total and
    b_total: the weight of the fingerprints both hold over the weight of those either holds."""
    shared = weights.total(a.keys() & b.keys())
    either = a_total + b_total - shared
    return shared / either if either > 0 else 0.0


def sentence_score(count):
    """The text score that count identical sentences, each written by few others, are worth on
    their own: 0.3 for one, 0.51 for two, 0.66 for three, 0.83 for five."""
    return 1 - SENTENCE_DOUBT ** count


def combined(code, text):
    return 1 - (1 - code) * (1 - text)


def marks(prints, other, weights):
    """[(start, end, 'rare' or 'common')] of the fingerprints in prints that other holds too."""
    found = []
    for value in prints.keys() & other.keys():
        level = 'rare' if weights.count[value] <= weights.rare else 'common'
        found += [(start, end, level) for start, end in prints[value]]
    return found
