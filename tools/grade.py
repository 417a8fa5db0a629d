"""Grade submissions against the official tests, with the rubric's points, limits and rules.

    python tools/grade.py SUBMISSION... [-j 2] [--out grades/] [--rubric tools/rubric.toml]
                          [--regrade] [--isolation auto|namespace|uid|none]

Each SUBMISSION is a folder or a .zip, or a folder of them. Each gets OUT/<name>/results.json
(Gradescope's format, with feedback for the student); OUT/gradebook.csv has every grade in OUT,
and a table is printed. A submission already graded with the same files, rubric and grader is
skipped unless --regrade, so an interrupted run loses nothing. docs/instructors.md, "Grading",
says more.
"""
if not __package__:  # run as python tools/grade.py: see tools/_as_module.py
    import _as_module  # noqa: F401
import argparse
import csv
import hashlib
import io
import json
import os
import queue
import resource
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tools import KIT
from tools.grading import grader_files, official, rules, sandbox, submissions
from tools.grading.grader import CHILD_ENV, Grader, Stopped, remove_tree
from tools.grading.rubric import DEFAULT_RUBRIC, Rubric, RubricError, round_points


def grader_digest(rubric):
    """Changes when the rubric, the official tests or the grader's code change."""
    digest = hashlib.sha256(rubric.digest.encode())
    for path in grader_files(KIT):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def write_atomically(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.')
    with os.fdopen(handle, 'w', encoding='utf-8', newline='') as stream:
        stream.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def choose_isolation(wanted, tmp_root, limits):
    """(Sandbox, its level, why stronger levels were passed over): the wanted level, or for
    'auto' the strongest that runs python with numpy here, within the rubric's limits.
    ValueError if none does."""
    if wanted == 'auto':
        candidates = ['namespace', 'uid'] if os.geteuid() == 0 else ['none']
    else:
        candidates = [wanted]
    failures = []
    for mode in candidates:
        if mode != 'none' and os.geteuid() != 0:
            failures.append(f"{mode}: needs root")
            continue
        box = sandbox.Sandbox(mode)
        job = Path(tempfile.mkdtemp(dir=tmp_root))
        box.prepare(job, 0)
        output = sandbox.Output(limits['output_head_kib'] << 10, limits['output_tail_kib'] << 10)
        status, _ = box.run(job, [sys.executable, '-I', '-c', 'import numpy'], 0,
                            {'memory': limits['memory_mib'] << 20,
                             'cpu': limits['seconds_per_test']}, CHILD_ENV,
                            lambda: False, output)
        remove_tree(job)
        if status == 0:
            return box, mode, failures
        last = output.text().strip().splitlines()[-1:] or [f'exit status {status}']
        failures.append(f"{mode}: {last[0]}")
    raise ValueError(f"isolation {wanted}: no level works here ({'; '.join(failures)})")


def points_by_part(results):
    """{item: points, 'rule_<name>': penalty (negative)} of one results.json."""
    parts = {}
    for test in results['tests']:
        tags = test.get('tags', ['?'])
        part = 'rule_' + tags[1] if tags[0] == 'rule' else tags[0]
        parts[part] = round_points(parts.get(part, 0) + test['score'])
    return parts


def gradebook(out, rubric):
    """Every grade in out as CSV text: one row per submission."""
    rows = []
    for path in sorted(Path(out).glob('*/results.json')):
        try:
            results = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        parts = points_by_part(results)
        rows.append([path.parent.name, round_points(results['score']), results['max_score']]
                    + [parts.get(item, 0) for item in rubric.items]
                    + [parts.get('rule_' + rule, 0) for rule in rubric.rules]
                    + [results['execution_time']])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator='\n')
    writer.writerow(['submission', 'score', 'max_score'] + list(rubric.items)
                    + [f'rule_{rule}' for rule in rubric.rules] + ['seconds'])
    writer.writerows(rows)
    return text.getvalue()


def table(out, names, rubric):
    """The terminal table of the named submissions' grades."""
    header = ['submission'] + list(rubric.items) + ['rules', 'score', 'seconds']
    lines = []
    for name in names:
        results = json.loads((Path(out) / name / 'results.json').read_text())
        parts = points_by_part(results)
        penalty = round_points(sum(points for part, points in parts.items()
                                   if part.startswith('rule_')))
        lines.append([name] + [f"{parts.get(item, 0):g}/{rubric.items[item]['points']:g}"
                               for item in rubric.items]
                     + [f"{penalty:g}", f"{round_points(results['score']):g}/"
                        f"{results['max_score']:g}",
                        f"{results['execution_time']:.1f}"])
    widths = [max(len(str(row[i])) for row in [header] + lines) for i in range(len(header))]
    return '\n'.join('  '.join(str(cell).ljust(width) for cell, width in zip(row, widths))
                     for row in [header] + lines)


def grade_all(args, rubric, todo, out, digest, tmp_root):
    """Grade the submissions todo, args.jobs at once, saving each one's results as it is done;
    returns the names of those the grader itself failed on (they stay ungraded).

    On Ctrl-C, the runs under way are killed (those submissions stay ungraded), the others are
    not started, and KeyboardInterrupt goes on up.
    """
    release = args.release
    if release is None:
        from tools import release as release_tool  # here: Gradescope's grader gives --release
        release = tmp_root / 'release'
        release_tool.build(release)
        os.chmod(release, 0o755)
    try:
        box, mode, passed_over = choose_isolation(args.isolation, tmp_root, rubric.limits)
    except ValueError as err:
        sys.exit(f"grade.py: {err}")
    for why in passed_over:
        print(f"note: isolation {why}; using {mode}", file=sys.stderr)
    if mode == 'none':
        print("warning: isolation 'none': the graded code runs as you and can read your "
              "files (run as root for the namespace or uid levels)", file=sys.stderr)
    grader = Grader(rubric, release, box, tmp_root)
    slots = queue.Queue()
    for slot in range(args.jobs):
        slots.put(slot)
    counter, failed = iter(range(1, len(todo) + 1)), []

    def grade(submission):
        slot = slots.get()
        try:
            results = grader.grade(submission, slot)
            folder = out / submission.name
            write_atomically(folder / 'results.json', json.dumps(results, indent=1))
            write_atomically(folder / 'grading.json', json.dumps(
                {'submission': submission.digest, 'grader': digest}))
        except Stopped:
            return
        except Exception:  # the grader's own fault (a disk error, a bug): grade the others
            failed.append(submission.name)
            print(f"grade.py: could not grade {submission.name}, which stays ungraded:\n"
                  f"{traceback.format_exc()}", file=sys.stderr)
            return
        finally:
            slots.put(slot)
        print(f"[{next(counter)}/{len(todo)}] {submission.name}: {results['score']:g}/"
              f"{results['max_score']:g} in {results['execution_time']:.1f} s", flush=True)

    started = time.monotonic()
    pool = ThreadPoolExecutor(args.jobs)
    try:
        for future in as_completed([pool.submit(grade, submission) for submission in todo]):
            future.result()
    except KeyboardInterrupt:
        grader.stop.set()  # the runs under way are killed; those submissions stay ungraded
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if todo:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
        print(f"graded {len(todo) - len(failed)} in {time.monotonic() - started:.1f} s with -j "
              f"{args.jobs}, isolation {mode}; the grader's peak memory was {peak} MiB")
    return failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('submissions', nargs='+', type=Path,
                        help='folders or zips, or folders of them')
    parser.add_argument('-j', '--jobs', type=int, default=1, help='grade this many at once')
    parser.add_argument('--out', type=Path, default=Path('grades'),
                        help='where results go (default: grades/)')
    parser.add_argument('--rubric', type=Path, default=DEFAULT_RUBRIC)
    parser.add_argument('--release', type=Path, default=None,
                        help='the student release to run submissions in (default: built from '
                             'this kit into a temporary folder)')
    parser.add_argument('--regrade', action='store_true',
                        help='grade again the submissions that are already graded')
    parser.add_argument('--results', type=Path, default=None,
                        help='grade the one SUBMISSION folder given (wherever its loss.py lies '
                             'inside) and also write its results.json here (Gradescope)')
    parser.add_argument('--isolation', choices=('auto',) + sandbox.MODES, default='auto',
                        help='how the submitted code is kept apart (docs/instructors.md, '
                             '"Grading")')
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"-j {args.jobs}: must be at least 1")
    if args.results and len(args.submissions) != 1:
        parser.error("--results takes exactly one SUBMISSION")
    try:
        rubric = Rubric(args.rubric, official.TESTS, rules.RULES)
        digest = grader_digest(rubric)
        found = ([submissions.Submission(args.submissions[0])] if args.results
                 else submissions.find(args.submissions))
    except (RubricError, ValueError) as err:
        sys.exit(f"grade.py: {err}")
    out = args.out.resolve()
    todo, skipped = [], []
    for submission in found:
        record = out / submission.name / 'grading.json'
        try:
            done = json.loads(record.read_text())
        except (OSError, ValueError):
            done = {}
        if not args.regrade and done == {'submission': submission.digest, 'grader': digest} \
                and (out / submission.name / 'results.json').is_file():
            skipped.append(submission)
        else:
            todo.append(submission)
    if skipped:
        print(f"{len(skipped)} already graded, skipped (--regrade grades them again)")
    for submission in todo:  # their old grades are stale: never let one reach the gradebook
        for name in ('grading.json', 'results.json'):
            try:
                (out / submission.name / name).unlink(missing_ok=True)
            except OSError:
                pass  # saving its new grade will fail too, and say so

    interrupted = False
    tmp_root = Path(tempfile.mkdtemp(prefix='grade-'))
    os.chmod(tmp_root, 0o711)  # the sandboxed user may pass through, to its own job folder only
    failed = []
    try:
        failed = grade_all(args, rubric, todo, out, digest, tmp_root)
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: what was graded is saved; run the same command again to grade the "
              "rest", file=sys.stderr)
    finally:
        remove_tree(tmp_root)
    graded = [sub.name for sub in found if (out / sub.name / 'results.json').is_file()]
    if args.results and graded:
        write_atomically(args.results, (out / found[0].name / 'results.json').read_text())
    write_atomically(out / 'gradebook.csv', gradebook(out, rubric))
    print(table(out, graded, rubric))
    print(f"wrote {out / 'gradebook.csv'}; {len(graded)} of the {len(found)} submissions given "
          f"have a results.json in {out}")
    if interrupted:
        sys.exit(130)
    if failed:
        sys.exit(f"grade.py: {len(failed)} could not be graded ({', '.join(failed)}); see above")


if __name__ == '__main__':
    main()
