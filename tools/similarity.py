"""Which pairs of submissions share more than correct solutions naturally do: a report for graders.

    python tools/similarity.py SUBMISSION... [--out similarity/] [--reference PATH...]
                               [--release DIR | --lang zh] [--top 30]

Each SUBMISSION is a folder or a .zip, or a folder of them, as for tools/grade.py. Every pair is
compared on the code the students wrote (the functions the release leaves as stubs, and any they
added) and on their text (the "✎ Your observations" cells of runner.ipynb); the release's own
code and text never count. Each --reference (a folder of last year's submissions, or a file or a
folder holding a solution found online) is compared with every submission, and references are
not compared with one another. OUT gets report.html (the top pairs side by side, the shared parts
marked) and pairs.csv (every pair, ranked); the top pairs are printed. tools/similarity_scores.py
says how pairs are scored. A high score is a reason to look, not a finding of misconduct.
"""
if not __package__:  # run as python tools/similarity.py: see tools/_as_module.py
    import _as_module  # noqa: F401
import argparse
import csv
import itertools
import statistics
import sys
import tempfile
from pathlib import Path

from tools.grading import submissions
from tools.i18n.catalog import LANGUAGES
from tools.similarity_html import write_report
from tools.similarity_scores import (
    Weights,
    code_fingerprints,
    combined,
    sentence_score,
    sentences,
    similarity,
    text_fingerprints,
)
from tools.similarity_written import Release, observation_text, written_code

REFERENCE_PREFIX = 'ref:'
MAX_REFERENCE_FILES = 200
CSV_COLUMNS = ['rank', 'score', 'code', 'text', 'identical_sentences', 'a', 'b',
               'b_is_reference', 'a_source', 'b_source']
SHOWN_ON_TERMINAL = 10


class Document:
    """A submission or a reference as compared: its code and its text, each one string with
    sections [(label, start, end, text as written)], and notes on what could not be compared."""

    def __init__(self, name, source, files, release, problems=(), reference=False):
        self.name, self.source, self.reference = name, Path(source), reference
        code, code_notes = written_code(files, release)
        text, text_notes = observation_text(files, release)
        self.notes = list(problems) + code_notes + (text_notes if text or not reference else [])
        self.code, self.code_sections = joined(code)
        self.text, self.text_sections = joined(text)
        self.code_prints = self.text_prints = {}  # and their weights' totals, set by compare()
        self.code_total = self.text_total = 0.0
        self.sentences = set()


def joined(sections):
    """(text, [(label, start, end, as written)]) of sections [(label, compared, as written)],
    the compared texts joined with a blank line between them."""
    text, spans = '', []
    for label, part, original in sections:
        if text:
            text += '\n\n'
        spans.append((label, len(text), len(text) + len(part), original))
        text += part
    return text, spans


class Pair:
    """Two documents compared; b is the reference when one is."""
    __slots__ = ('a', 'b', 'code', 'text', 'score', 'identical')

    def __init__(self, a, b, code, text, identical):
        self.a, self.b, self.code, self.text = a, b, code, text
        self.score = combined(code, text)
        self.identical = identical  # normalised sentences both wrote


def loose_files(path):
    """{name: bytes} of the .py and .ipynb files at path (a file, or a folder searched deep)."""
    path = Path(path)
    paths = [path] if path.is_file() else sorted(
        found for found in path.rglob('*') if found.is_file() and not found.is_symlink()
        and not any(part in submissions.SKIPPED_PARTS for part in found.relative_to(path).parts))
    paths = [found for found in paths if found.suffix in submissions.READ_SUFFIXES]
    if not paths:
        raise ValueError(f"--reference {path}: holds no .py or .ipynb file")
    if len(paths) > MAX_REFERENCE_FILES:
        raise ValueError(f"--reference {path}: holds {len(paths)} .py and .ipynb files, over the "
                         f"{MAX_REFERENCE_FILES} a reference may have; name a smaller folder")
    files = {}
    for found in paths:
        if found.stat().st_size > submissions.MAX_FILE_BYTES:
            raise ValueError(f"--reference {found}: over {submissions.MAX_FILE_BYTES >> 20} MiB")
        files[found.name if found == path else found.relative_to(path).as_posix()] = \
            found.read_bytes()
    return files


def load(paths, release, reference_paths=()):
    """(documents, skipped [(name, why)]): the submissions, then the references. Each is read
    (as the grader reads it) only when its document is made, so one at a time is in memory.

    ValueError naming the path for one that cannot be read at all.
    """
    found = [(sub.name, sub.source, sub.read, False) for sub in submissions.find(paths)]
    for path in map(Path, reference_paths):
        if not path.exists():
            raise ValueError(f"--reference {path}: no such file or folder")
        try:
            subs = submissions.find([path])
        except ValueError:  # a solution found online: files of any name
            subs = None
        if subs is None:
            name = submissions.safe_name(path.stem if path.is_file() else path.name)
            files = loose_files(path)
            found.append((REFERENCE_PREFIX + name, path,
                          lambda files=files: submissions.Contents(files, []), True))
        else:
            found += [(REFERENCE_PREFIX + sub.name, sub.source, sub.read, True) for sub in subs]
    documents, skipped, names = [], [], set()
    for name, source, read, reference in found:
        while name in names:  # two references of the same name
            name += '_'
        names.add(name)
        contents = read()
        document = Document(name, source, contents.files, release, contents.problems, reference)
        if document.code or document.text:
            documents.append(document)
        else:
            skipped.append((name, '; '.join(document.notes) or 'nothing written to compare'))
    return documents, skipped


def compare(documents, release):
    """Every pair of documents but two references, best first."""
    code_boilerplate = set().union(*map(code_fingerprints, release.canonical))
    text_boilerplate = set().union(*(text_fingerprints(cell) for cell in release.markdown))
    for document in documents:
        document.code_prints = code_fingerprints(document.code, code_boilerplate)
        document.text_prints = text_fingerprints(document.text, text_boilerplate)
        document.sentences = set().union(*(sentences(document.text[start:end])
                                           for _, start, end, _ in document.text_sections))
    code_weights = Weights([document.code_prints for document in documents])
    text_weights = Weights([document.text_prints for document in documents])
    sentence_counts = Weights([document.sentences for document in documents])
    for document in documents:
        document.code_total = code_weights.total(document.code_prints)
        document.text_total = text_weights.total(document.text_prints)
    pairs = []
    for a, b in itertools.combinations(documents, 2):
        if a.reference and b.reference:
            continue
        if a.reference:
            a, b = b, a
        identical = sorted(a.sentences & b.sentences)
        rare = sum(sentence_counts.count[sentence] <= sentence_counts.rare
                   for sentence in identical)
        code = similarity(a.code_prints, b.code_prints, code_weights, a.code_total, b.code_total)
        text = similarity(a.text_prints, b.text_prints, text_weights, a.text_total, b.text_total)
        pairs.append(Pair(a, b, code, max(text, sentence_score(rare)), identical))
    pairs.sort(key=lambda pair: (-round(pair.score, 9), pair.a.name, pair.b.name))
    return pairs, code_weights, text_weights


def write_csv(path, pairs):
    with open(path, 'w', newline='', encoding='utf-8') as stream:
        writer = csv.writer(stream, lineterminator='\n')
        writer.writerow(CSV_COLUMNS)
        for rank, pair in enumerate(pairs, 1):
            writer.writerow([rank, f'{pair.score:.3f}', f'{pair.code:.3f}', f'{pair.text:.3f}',
                             len(pair.identical), pair.a.name, pair.b.name,
                             'yes' if pair.b.reference else 'no', pair.a.source, pair.b.source])


def table(pairs):
    """The terminal table of the top pairs."""
    rows = [['rank', 'score', 'code', 'text', 'sentences', 'a', 'b']]
    rows += [[str(rank), f'{pair.score:.2f}', f'{pair.code:.2f}', f'{pair.text:.2f}',
              str(len(pair.identical)), pair.a.name, pair.b.name]
             for rank, pair in enumerate(pairs[:SHOWN_ON_TERMINAL], 1)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return '\n'.join('  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('submissions', nargs='+', type=Path,
                        help='folders or zips, or folders of them')
    parser.add_argument('--out', type=Path, default=Path('similarity'),
                        help='where report.html and pairs.csv go (default: similarity/)')
    parser.add_argument('--reference', type=Path, nargs='+', action='extend', default=[],
                        help='known solutions each submission is compared with too: a folder of '
                             "last year's submissions, or a file or folder found online")
    parser.add_argument('--release', type=Path, default=None,
                        help='the student release whose code and text never count (default: '
                             'built from this kit into a temporary folder)')
    parser.add_argument('--lang', choices=sorted(LANGUAGES), default='en',
                        help="without --release: the language of the release the class got "
                             "(default: en), whose prompts are not the students' text")
    parser.add_argument('--top', type=int, default=30,
                        help='pairs shown side by side in report.html (default: 30)')
    args = parser.parse_args(argv)
    if args.top < 0:
        parser.error(f"--top {args.top}: must be at least 0")
    if args.release and args.lang != 'en':
        parser.error("--lang builds the release to compare against: give --release or --lang")
    with tempfile.TemporaryDirectory(prefix='similarity-') as scratch:
        release_dir = args.release
        if release_dir is None:
            from tools import release as release_tool
            release_dir = Path(scratch) / 'release'
            release_tool.build(release_dir, lang=args.lang)
        try:
            release = Release(release_dir)
        except (OSError, ValueError, SyntaxError) as err:
            sys.exit(f"similarity.py: --release {release_dir} is not a student release ({err}); "
                     f"build one with python tools/release.py")
        if not release.stubs:
            sys.exit(f"similarity.py: --release {release_dir} has no function left as a stub; "
                     f"build the release with python tools/release.py")
    try:
        documents, skipped = load(args.submissions, release, args.reference)
    except (OSError, ValueError) as err:
        sys.exit(f"similarity.py: {err}")
    pairs, code_weights, text_weights = compare(documents, release)
    scores = [pair.score for pair in pairs]
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(args.out / 'pairs.csv', pairs)
        write_report(args.out / 'report.html', documents, skipped, pairs[:args.top],
                     code_weights, text_weights,
                     {'pairs': len(pairs), 'median': statistics.median(scores) if scores else 0})
    except OSError as err:
        sys.exit(f"similarity.py: cannot write the report into --out {args.out} ({err})")
    for name, why in skipped:
        print(f"skipped {name}: {why}")
    print(table(pairs))
    compared = sum(not document.reference for document in documents)
    print(f"compared {compared} submissions and {len(documents) - compared} references: "
          f"{len(pairs)} pairs; wrote {args.out / 'report.html'} and {args.out / 'pairs.csv'}. "
          f"A high score is a reason to look, not a finding of misconduct.")


if __name__ == '__main__':
    main()
