"""tools/similarity.py on a class built for it (tests/instructor/similarity_class/).

The class: 21 honest, correct submissions written in different ways, and 5 planted copies
(renamed, reformatted, reordered, observations copied, copied from a solution found online).
Every planted pair must rank above every honest pair. The report must render in headless
Chromium and escape whatever a submission holds; bad submissions are listed and skipped; the
release's own code and text never count. How long 100 submissions take is printed, not asserted.
"""
import csv
import html.parser
import itertools
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from similarity_class import make_class
from tools import KIT
from tools import release as release_tool
from tools.grading.submissions import Submission
from tools.similarity import CSV_COLUMNS, REFERENCE_PREFIX
from tools.similarity_scores import code_fingerprints, normalise
from tools.similarity_written import MAX_CHARS, Release, observation_text, written_code

CHROMIUM = Path('/usr/bin/chromium')
REPORT_TAGS = {'html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'h3', 'div', 'p',
               'strong', 'em', 'sup', 'table', 'tr', 'th', 'td', 'a', 'ul', 'li', 'pre', 'mark',
               'span', 'br', 'details', 'summary'}


def run_tool(*args):
    done = subprocess.run([sys.executable, '-m', 'tools.similarity', *map(str, args)], cwd=KIT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def read_pairs(out):
    with open(Path(out) / 'pairs.csv', newline='', encoding='utf-8') as stream:
        return list(csv.DictReader(stream))


def pair_of(row):
    return frozenset((row['a'], row['b']))


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp('similarity') / 'release'
    release_tool.build(folder)
    return folder


@pytest.fixture(scope='module')
def class_report(tmp_path_factory, release):
    """(out folder, finished process) of the tool on the class, with the online reference; the
    tool builds its own release."""
    root = tmp_path_factory.mktemp('class')
    make_class.build_class(release, root / 'class')
    out = root / 'report'
    return out, run_tool(root / 'class', '--out', out, '--reference', make_class.REFERENCE)


def test_every_planted_pair_ranks_above_every_honest_pair(class_report):
    out, _ = class_report
    rows = read_pairs(out)
    planted = {frozenset(pair) for pair in make_class.PLANTED}
    by_pair = {pair_of(row): row for row in rows}
    missing = [sorted(pair) for pair in planted if pair not in by_pair]
    assert not missing, f"planted pairs not in pairs.csv: {missing}"
    honest = [row for row in rows if pair_of(row) not in planted]
    best_honest = min(honest, key=lambda row: int(row['rank']))
    print(f"\nplanted pairs (rank, score, code, text) among {len(rows)}:")
    for original, copy in make_class.PLANTED:
        row = by_pair[frozenset((original, copy))]
        print(f"  {row['rank']:>3}  {row['score']}  {row['code']}  {row['text']}  "
              f"{original} / {copy}")
    print(f"best honest pair: rank {best_honest['rank']}, score {best_honest['score']} "
          f"({best_honest['a']} / {best_honest['b']})")
    worst_planted = max(int(by_pair[pair]['rank']) for pair in planted)
    assert worst_planted < int(best_honest['rank'])
    assert min(float(by_pair[pair]['score']) for pair in planted) > float(best_honest['score'])


def test_the_csv_ranks_every_pair_once_and_never_two_references(class_report):
    out, done = class_report
    rows = read_pairs(out)
    submissions = len(list(make_class.STUDENTS.glob('*.txt')))
    assert list(rows[0]) == CSV_COLUMNS
    assert len(rows) == submissions * (submissions - 1) // 2 + submissions  # + each with the ref
    assert len({pair_of(row) for row in rows}) == len(rows)
    assert [int(row['rank']) for row in rows] == list(range(1, len(rows) + 1))
    scores = [float(row['score']) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= float(row[column]) <= 1 for row in rows for column in ('code', 'text'))
    assert not any(row['a'].startswith(REFERENCE_PREFIX) for row in rows)
    assert {row['b'] for row in rows if row['b_is_reference'] == 'yes'} == {'ref:online_solution'}
    top = rows[0]
    assert f"{top['a']}  {top['b']}" in re.sub(r' {2,}', '  ', done.stdout)
    assert 'not a finding of misconduct' in done.stdout


class Tags(html.parser.HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parsed(path):
    page = Tags()
    page.feed(Path(path).read_text(encoding='utf-8'))
    return page


def test_the_report_is_one_file_that_needs_no_network_and_says_what_scores_mean(class_report):
    out, _ = class_report
    page = parsed(out / 'report.html')
    assert {tag for tag, _ in page.tags} <= REPORT_TAGS  # no script, link, img, iframe, font
    for tag, attributes in page.tags:
        assert not [name for name in attributes if name.startswith('on')], (tag, attributes)
        for name in ('src', 'href'):
            assert not attributes.get(name, '#').partition('#')[0], (tag, attributes)
    text = ' '.join(' '.join(page.text).split())
    assert 'correct vectorised solutions naturally look alike' in text
    assert 'weighs what is rare in this class' in text
    assert 'A high score is a reason to look at a pair, not a finding of misconduct.' in text
    top = read_pairs(out)[0]
    assert f"1. {top['a']} and {top['b']}" in text


def test_the_report_renders_in_headless_chromium(class_report, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: .ci/run installs it (apt-get install chromium)")
    out, _ = class_report
    done = subprocess.run(
        [str(CHROMIUM), '--headless', '--no-sandbox', '--disable-gpu',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--no-first-run', f'--user-data-dir={tmp_path / "profile"}', '--dump-dom',
         (out / 'report.html').resolve().as_uri()],
        capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    top = read_pairs(out)[0]
    page = Tags()
    page.feed(done.stdout)
    text = ' '.join(' '.join(page.text).split())
    assert f"1. {top['a']} and {top['b']}" in text
    assert 'loss.py: SoftmaxCrossEntropyLoss.forward' in text
    assert any(tag == 'mark' for tag, _ in page.tags)


HOSTILE = '''Hostile: HTML and script in code, comments, strings and text.
### forward
# <img src=x onerror=alert(1)> </pre></div>
banner = "</script><script>alert(2)</script>"
logits = Input @ self.W + self.b
logits = logits - logits.max(axis=1, keepdims=True)
log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
loss = -log_probs[np.arange(len(labels)), labels].mean()
acc = (logits.argmax(axis=1) == labels).mean()
self.Input, self.labels, self.probs = Input, labels, np.exp(log_probs)
return loss, acc
### gradient_computing
grad = self.probs.copy()
grad[np.arange(len(self.labels)), self.labels] -= 1
self.grad_W = self.Input.T @ grad / len(self.labels)
self.grad_b = grad.mean(axis=0, keepdims=True)
### step
layer.diff_W = self.momentum * layer.diff_W - self.learning_rate * layer.grad_W
layer.diff_b = self.momentum * layer.diff_b - self.learning_rate * layer.grad_b
layer.W += layer.diff_W
layer.b += layer.diff_b
### observations (a)
</pre><script>alert(3)</script> <b onmouseover="alert(4)">bold</b> &amp; <!-- comment -->
### observations (b)
<iframe src="http://example.invalid/"></iframe> a long enough sentence to be compared whole here.
### observations (c)
<style>body { display: none }</style>
'''


def test_everything_a_submission_holds_is_escaped(tmp_path, release):
    source = tmp_path / 'hostile.txt'
    source.write_text(HOSTILE, encoding='utf-8')
    make_class.build_class(release, tmp_path / 'class', [source], suffix='_a')
    make_class.build_class(release, tmp_path / 'class', [source], suffix='_b')
    run_tool(tmp_path / 'class', '--out', tmp_path / 'out', '--release', release)
    page = parsed(tmp_path / 'out' / 'report.html')
    assert {tag for tag, _ in page.tags} <= REPORT_TAGS
    assert sum(tag == 'style' for tag, _ in page.tags) == 1  # the report's own
    assert not any(name.startswith('on') for _, attributes in page.tags for name in attributes)
    text = ''.join(page.text)
    for shown in ('</script><script>alert(2)</script>', '<img src=x onerror=alert(1)>',
                  '</pre><script>alert(3)</script>', '<b onmouseover="alert(4)">',
                  '<iframe src="http://example.invalid/"></iframe>'):
        assert shown in text


def write_zip(path, files):
    with zipfile.ZipFile(path, 'w') as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def test_bad_submissions_are_listed_and_skipped_and_the_others_compared(tmp_path, release):
    students = make_class.HONEST[:2]
    make_class.build_class(release, tmp_path / 'class', students)
    (tmp_path / 'class' / 'not_a_zip.zip').write_bytes(b'this is not a zip archive')
    write_zip(tmp_path / 'class' / 'no_loss.zip', {'notes.txt': 'nothing here'})
    broken = tmp_path / 'class' / 'broken'
    broken.mkdir()
    (broken / 'loss.py').write_bytes(b'def forward(self:\n    return \xff\xfe (((\n')
    (broken / 'optimizer.py').write_text('x = ' + '(' * 5000 + '1' + ')' * 5000 + '\n')
    (broken / 'runner.ipynb').write_text('{"cells": [{"cell_type": "markdown", "source": ')
    (broken / 'huge.py').write_text(''.join(f'a{number} = {number}\n' for number in range(40000)))
    deep = tmp_path / 'class' / 'deep_notebook'
    deep.mkdir()
    (deep / 'loss.py').write_text((release / 'loss.py').read_text())
    (deep / 'runner.ipynb').write_text('[' * 100_000 + ']' * 100_000)
    done = run_tool(tmp_path / 'class', '--out', tmp_path / 'out', '--release', release)
    skipped = dict(re.findall(r'^skipped (\S+): (.*)$', done.stdout, re.M))
    assert set(skipped) == {'not_a_zip', 'no_loss', 'deep_notebook'}, done.stdout
    assert 'could not be read' in skipped['not_a_zip']
    assert 'holds neither loss.py nor optimizer.py' in skipped['no_loss']
    assert 'runner.ipynb could not be read' in skipped['deep_notebook']
    rows = read_pairs(tmp_path / 'out')
    assert {pair_of(row) for row in rows} == {frozenset(pair) for pair in itertools.combinations(
        [path.stem for path in students] + ['broken'], 2)}
    text = ' '.join(' '.join(parsed(tmp_path / 'out' / 'report.html').text).split())
    assert 'loss.py is not valid Python' in text and 'optimizer.py is not valid Python' in text
    assert 'could not be read' in text
    assert f'only the first {MAX_CHARS} characters of its code are compared' in text


def test_the_release_itself_is_never_similar(tmp_path, release):
    for name in ('untouched_1', 'untouched_2'):
        shutil.copytree(release, tmp_path / 'class' / name,
                        ignore=shutil.ignore_patterns('data', 'tests', 'kit'))
    done = run_tool(tmp_path / 'class', '--out', tmp_path / 'out', '--release', release)
    assert re.findall(r'^skipped (\S+): ', done.stdout, re.M) == ['untouched_1', 'untouched_2']
    assert read_pairs(tmp_path / 'out') == []


def test_a_chinese_release_is_never_similar_when_its_language_is_given(tmp_path):
    """--lang zh builds the Chinese release to compare against: its prompts are no one's text."""
    release_tool.build(tmp_path / 'release_zh', lang='zh')
    for name in ('untouched_1', 'untouched_2'):
        shutil.copytree(tmp_path / 'release_zh', tmp_path / 'class' / name,
                        ignore=shutil.ignore_patterns('data', 'tests', 'kit'))
    done = run_tool(tmp_path / 'class', '--out', tmp_path / 'out', '--lang', 'zh')
    assert re.findall(r'^skipped (\S+): ', done.stdout, re.M) == ['untouched_1', 'untouched_2']
    assert read_pairs(tmp_path / 'out') == []
    both = subprocess.run([sys.executable, '-m', 'tools.similarity', str(tmp_path / 'class'),
                           '--release', str(tmp_path / 'release_zh'), '--lang', 'zh'],
                          capture_output=True, text=True, cwd=KIT)
    assert both.returncode == 2 and 'give --release or --lang' in both.stderr


def test_references_in_any_form_are_compared_with_submissions_only(tmp_path, release):
    make_class.build_class(release, tmp_path / 'class', make_class.HONEST[:3])
    last_year = tmp_path / 'last_year'
    make_class.build_class(release, last_year, make_class.HONEST[3:5])
    online = tmp_path / 'found_online'
    online.mkdir()
    shutil.copy(make_class.REFERENCE, online / 'softmax.py')
    run_tool(tmp_path / 'class', '--out', tmp_path / 'out', '--release', release,
             '--reference', last_year, make_class.REFERENCE, '--reference', online)
    rows = read_pairs(tmp_path / 'out')
    references = {row['b'] for row in rows if row['b_is_reference'] == 'yes'}
    assert references == {REFERENCE_PREFIX + path.stem for path in make_class.HONEST[3:5]} | {
        'ref:online_solution', 'ref:found_online'}
    assert len(rows) == 3 + 3 * 4  # the three submissions' pairs, and each with each reference
    assert not any(row['a'].startswith(REFERENCE_PREFIX) for row in rows)


def test_renaming_reformatting_and_reordering_change_no_fingerprint(release):
    original = '''
def helper(scores, labels):
    top = scores.max(axis=1, keepdims=True)
    log_probs = scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))
    count = len(labels)
    return -log_probs[np.arange(count), labels].mean()
'''
    copied = '''
def helper(z, y):   # the loss
    n = len(y)
    m = z.max(axis = 1,
              keepdims = True)
    lp = (z - m) - np.log(np.exp(z-m).sum(axis=1, keepdims=True))
    return -lp[np.arange(n), y].mean()
'''
    prints = [code_fingerprints(written_code({'helpers.py': text.encode()}, Release(release))[0]
                                [0][1]) for text in (original, copied)]
    assert prints[0] and prints[0].keys() == prints[1].keys()


@pytest.mark.parametrize('lang', ['en', 'zh'])
def test_observations_are_found_however_they_were_written(tmp_path, release, lang):
    """In either language's release: the cells are found by their mark, ✎, and labelled as the
    release labels them ('✎ Your observations (a)', '✎ 你的观察 (a)')."""
    if lang != 'en':
        release = tmp_path / f'release_{lang}'
        release_tool.build(release, lang=lang)
    labels = [found.group(0).strip('*') for found in map(
        make_class.OBSERVATION_CELL.search, notebook_sources(release)) if found]
    assert len(labels) == 3 and (lang == 'en') == ('Your observations' in labels[0])
    students = make_class.HONEST[:3]  # the builder writes them in its three styles, in turn
    built = make_class.build_class(release, tmp_path / 'class', students)
    for student, path in zip(students, built):
        sections, notes = observation_text(Submission(path).read().files, Release(release))
        expected = make_class.sections(student)
        assert not notes
        assert [(label, normalise(text)) for label, text, _ in sections] == [
            (label, normalise(expected[f'observations {part}']))
            for label, part in zip(labels, ('(a)', '(b)', '(c)'))]


def notebook_sources(release):
    with open(release / 'runner.ipynb', encoding='utf-8') as stream:
        return [''.join(cell['source']) for cell in json.load(stream)['cells']
                if cell['cell_type'] == 'markdown']


def vary(code, number):
    """code with every name and word renamed (valid Python still): a copy the cache of
    fingerprinted lines does not know."""
    return re.sub(r'\b([a-z_][a-z_0-9]*)\b', lambda match: match.group(1) if
                  keyword.iskeyword(match.group(1)) else f'{match.group(1)}_{number}', code)


def test_a_class_of_100_is_timed(tmp_path, release):
    copies = 100 // len(make_class.HONEST) + 1
    for number in range(copies):
        make_class.build_class(release, tmp_path / 'class', make_class.HONEST,
                               suffix=f'_{number}',
                               change_code=lambda code, number=number: vary(code, number))
    for extra in sorted((tmp_path / 'class').iterdir())[100:]:
        shutil.rmtree(extra) if extra.is_dir() else extra.unlink()
    started = time.monotonic()
    run_tool(tmp_path / 'class', '--out', tmp_path / 'out', '--release', release)
    seconds = time.monotonic() - started
    rows = read_pairs(tmp_path / 'out')
    print(f"\nsimilarity.py on 100 submissions ({len(rows)} pairs): {seconds:.1f} s "
          f"on {os.cpu_count()} cores")
    assert len(rows) == 100 * 99 // 2
    same_student = [row for row in rows
                    if row['a'].rsplit('_', 1)[0] == row['b'].rsplit('_', 1)[0]]
    assert same_student and all(float(row['code']) == 1 for row in same_student)
