"""Are the student tests good enough? Put each usual mistake into the kit and run them.

    python tools/check_tests.py [--fast] [--jobs N] [--lang zh] [NAME ...]

Each file of tools/mistakes/ replaces one solution region with its own body:

    # mistake: the gradient is not divided by the batch size     (or "# correct: ...")
    # region: loss.py gradient_computing
    # expect: did you divide by the batch size?                   (mistakes only)
    <the body, written at column 0; it is indented to the region's level>

It goes into a fresh copy of the student release whose other regions hold the solutions. A
mistake must be caught: a student test fails, and the message the student reads (pytest's "E"
lines) contains the expect text. A correct alternative must pass every student test. A
mistake runs the tests of its file (tests/test_loss.py for loss.py: a second or so); correct
alternatives and the solutions themselves run the whole student suite (training on MNIST and
the notebook), or FAST_TESTS with --fast. Prints a table; exits with 1 unless every row is OK.

With --lang zh the mutants go into the Chinese release (tools/release.py --lang zh), and a
mistake's message must hold the Chinese of its expect text: the translation, in the catalog, of
the student tests' message whose own words show the expect text best (a message from outside
the kit, such as numpy's, stays as it is).
"""
if not __package__:  # run as python tools/check_tests.py: see tools/_as_module.py
    import _as_module  # noqa: F401
from kit.threads import every_blas

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tools import KIT, release
from tools.i18n.catalog import LANGUAGES, Catalog, coverage, shown

MISTAKES = KIT / 'tools' / 'mistakes'
FAST_TESTS = ('tests/test_loss.py', 'tests/test_optimizer.py', 'tests/test_solver.py')
ALL_TESTS = ('tests',)  # in a release, tests/ holds the student tests only
HEADER = re.compile(r'# (mistake|correct|region|expect): (.+)')
MIN_COVERED = 8  # characters of an expect text a message's own words must give, to be its hint


class Mutant:
    """One file of tools/mistakes/: a replacement body for one solution region."""

    def __init__(self, path):
        self.name, self.fields, lines = path.stem, {}, path.read_text(encoding='utf-8').splitlines()
        while lines and HEADER.fullmatch(lines[0]):
            key, value = HEADER.fullmatch(lines.pop(0)).groups()
            self.fields[key] = value.strip()
        self.kind = 'mistake' if 'mistake' in self.fields else 'correct'
        self.description = self.fields.get(self.kind)
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        self.body = [line + '\n' for line in lines]
        required = ['region'] + (['expect'] if self.kind == 'mistake' else [])
        region = self.fields.get('region', '').split()
        if ('mistake' in self.fields) == ('correct' in self.fields) or len(region) != 2 or \
                any(key not in self.fields for key in required) or not self.body:
            raise ValueError(f"{path}: needs a '# mistake: ...' or a '# correct: ...' line, then "
                             f"'# region: FILE FUNCTION', '# expect: TEXT' (mistakes), and a body")
        self.file, self.function = region
        self.expect = self.fields.get('expect')

    def replaces(self, region):
        return Path(region.path) == Path(self.file) and \
            region.function.split('.')[-1] == self.function


def load_mutants(folder=MISTAKES):
    return [Mutant(path) for path in sorted(Path(folder).glob('*.py'))]


def fill_regions(kit, regions, mutant=None):
    """Put the solutions back into kit's stubs, mutant's body in place of the region it names."""
    if mutant and not any(mutant.replaces(region) for region in regions):
        raise ValueError(f"{mutant.name}: no solution region {mutant.file} {mutant.function}")
    for path in sorted({region.path for region in regions}):
        bodies = []
        for region in (region for region in regions if region.path == path):
            if mutant and mutant.replaces(region):
                bodies.append([region.indent + line if line.strip() else line
                               for line in mutant.body])
            else:
                bodies.append(region.lines)
        text = (kit / path).read_bytes().decode('utf-8')
        (kit / path).write_bytes(release.restore_solutions(path, text, bodies).encode('utf-8'))


def run_pytest(kit, tests, timeout=900):
    """Run the student tests in kit; {test id: (outcome, message the student reads)}.

    Third-party pytest plugins are not loaded, and BLAS uses one thread: several of these runs
    share the machine at once.
    """
    env = {**os.environ, 'PYTEST_DISABLE_PLUGIN_AUTOLOAD': '1', 'MPLBACKEND': 'Agg',
           **every_blas(1)}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / 'report.xml'
        command = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                   f'--junitxml={report}', *tests]
        try:
            run = subprocess.run(command, cwd=kit, env=env, capture_output=True, text=True,
                                 timeout=timeout)
        except subprocess.TimeoutExpired:
            return {'pytest': ('error', f'timed out after {timeout} s')}
        if not report.exists():
            return {'pytest': ('error', run.stdout + run.stderr)}
        outcomes = {}
        for case in ET.parse(report).getroot().iter('testcase'):
            test_id = f"{case.get('classname')}::{case.get('name')}"
            outcomes[test_id] = ('passed', '')
            for child in case:
                if child.tag in ('failure', 'error', 'skipped'):
                    message = child.get('message') or ''
                    shown = [line[1:].strip() for line in (child.text or '').splitlines()
                             if line.startswith('E ') and line[1:].strip() not in message]
                    message = '\n'.join([message] + shown)
                    outcomes[test_id] = ({'failure': 'failed'}.get(child.tag, child.tag), message)
        return outcomes


def expectations(mutant, catalog=None, texts=None):
    """Regular expressions one of which the message of a test must match to point at a mistake:
    its expect text; with a catalog, the translations of the student tests' messages (texts:
    release.student_texts()) that show the expect text best, or the expect text itself if no
    message of the kit shows it. An empty list: the messages that show it are not translated."""
    if catalog is None:
        return [re.compile(re.escape(mutant.expect))]
    scores = [(coverage(found.text, mutant.expect), file, found.text)
              for file, found_texts in (texts or release.student_texts()).items()
              if file.startswith('tests/') for found in found_texts if found.kind == 'message']
    best = max((score for score, _, _ in scores), default=0)
    if best < min(len(mutant.expect), MIN_COVERED):
        return [re.compile(re.escape(mutant.expect))]
    return [shown(catalog.entries[file][english]) for score, file, english in scores
            if score == best and english in catalog.entries.get(file, {})]


class Result:
    """What the student tests said about one mutant (None: the solutions themselves); expected
    as expectations() gives (by default, the mutant's expect text)."""

    def __init__(self, mutant, outcomes, expected=None):
        self.mutant, self.outcomes = mutant, outcomes
        self.failed = {test: message for test, (outcome, message) in outcomes.items()
                       if outcome in ('failed', 'error')}
        # a test that skips (with its reason shown by pytest, e.g. one that needs a non-root
        # user) neither catches a mistake nor rejects a correct answer
        self.skipped = sum(outcome == 'skipped' for outcome, _ in outcomes.values())
        if mutant is not None and mutant.kind == 'mistake':
            self.expected = expectations(mutant) if expected is None else expected
            self.pointed = [test for test, message in self.failed.items()
                            if any(pattern.search(message) for pattern in self.expected)]
            self.ok = bool(self.pointed)
        else:
            self.ok = bool(outcomes) and not self.failed

    def summary(self):
        if self.mutant is not None and self.mutant.kind == 'mistake':
            if not self.failed:
                return f"NOT CAUGHT: all {len(self.outcomes)} tests pass"
            if not self.expected:
                return f"caught by {len(self.failed)} tests, but the messages that say " \
                       f"'{self.mutant.expect}' have no translation in the catalog"
            said = self.mutant.expect if self.expected[0].pattern == re.escape(
                self.mutant.expect) else f"{self.mutant.expect}, translated"
            result = f"caught by {len(self.failed)} tests, {len(self.pointed)} saying '{said}'"
            return result if self.ok else f"{result}; the messages were:\n" + '\n'.join(
                f"    {test}: {message}" for test, message in self.failed.items())
        if self.ok:
            skipped = f" ({self.skipped} skipped)" if self.skipped else ''
            return f"passes all {len(self.outcomes) - self.skipped} tests{skipped}"
        return f"REJECTED by {len(self.failed)} of {len(self.outcomes)} tests:\n" + '\n'.join(
            f"    {test}: {message}" for test, message in self.failed.items())


def tests_for(mutant, kit, fast):
    """A mistake runs the tests of its file (tests/test_loss.py for loss.py), where the hints
    are; a correct alternative, and the solutions, run FAST_TESTS if fast, else ALL_TESTS."""
    if mutant is not None and mutant.kind == 'mistake':
        own = Path('tests', f'test_{Path(mutant.file).stem}.py')
        return [own.as_posix()] if (kit / own).exists() else FAST_TESTS
    return FAST_TESTS if fast else ALL_TESTS


def check(mutants, fast=False, jobs=None, solutions=True, lang='en'):
    """Results of the solutions (if solutions) and of each mutant, run in parallel in the
    release in language lang."""
    catalog = Catalog(lang) if lang != 'en' else None
    texts = release.student_texts() if catalog else None
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / 'release'
        regions = release.build(base, catalog=catalog)
        runs = ([None] if solutions else []) + list(mutants)

        def run(mutant):
            kit = Path(tmp) / (mutant.name if mutant else 'solutions')
            shutil.copytree(base, kit, ignore=lambda folder, names:
                            ['data'] if Path(folder) == base else [])
            try:  # the data, only read, is shared rather than copied for each run
                (kit / 'data').symlink_to(base / 'data', target_is_directory=True)
            except OSError:
                shutil.copytree(base / 'data', kit / 'data')
            fill_regions(kit, regions, mutant)
            expected = expectations(mutant, catalog, texts) \
                if mutant and mutant.kind == 'mistake' else None
            return Result(mutant, run_pytest(kit, tests_for(mutant, kit, fast)), expected)

        with ThreadPoolExecutor(jobs or os.cpu_count() or 2) as pool:
            return list(pool.map(run, runs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('names', nargs='*', help='only these files of tools/mistakes/ (stems)')
    parser.add_argument('--fast', action='store_true',
                        help=f"correct alternatives run only {', '.join(FAST_TESTS)}")
    parser.add_argument('--jobs', type=int, default=None, help='parallel runs (default: cores)')
    parser.add_argument('--show', action='store_true',
                        help='print the messages the student reads for each caught mistake')
    parser.add_argument('--lang', choices=sorted(LANGUAGES), default='en',
                        help='check the release in this language (tools/release.py --lang)')
    args = parser.parse_args(argv)
    mutants = sorted((mutant for mutant in load_mutants()
                      if not args.names or mutant.name in args.names),
                     key=lambda mutant: (mutant.kind != 'mistake', mutant.name))
    try:
        results = check(mutants, fast=args.fast, jobs=args.jobs, lang=args.lang)
    except ValueError as err:
        sys.exit(f"check_tests.py: {err}")
    width = max(len(mutant.name) for mutant in mutants) if mutants else 10
    for result in results:
        mutant = result.mutant
        kind, name, region = ('solution', 'the solutions', '') if mutant is None else \
            (mutant.kind, mutant.name, f'{mutant.file} {mutant.function}')
        print(f"{'ok ' if result.ok else 'BAD'}  {kind:8}  {name:{width}}  {region:29}  "
              f"{result.summary()}")
        if args.show and result.ok and mutant is not None and mutant.kind == 'mistake':
            test = result.pointed[0]
            print(f"    ({mutant.description})\n    {test}:\n" + ''.join(
                f"      | {line}\n" for line in result.failed[test].splitlines()))
    bad = sum(not result.ok for result in results)
    print(f"\n{len(results) - bad} of {len(results)} OK" + (f", {bad} BAD" if bad else ''))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
