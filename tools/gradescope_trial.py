"""Try the Gradescope autograder on a bare Debian, as Gradescope runs it, against home's grades.

    sudo python tools/gradescope_trial.py [--cache DIR] [--zip autograder.zip]
         [--rubric tools/rubric.toml] [--only NAME...] [--home-python PYTHON] [-j 2]
         [--memory 768] [--cpus 0.5] [--timeout 600] [--ca-bundle FILE] [--work DIR] [--keep]

Run it as root: debootstrap, mounts and chroot need it. In order, it
1. makes a bare Debian 12 root with debootstrap (minbase, from deb.debian.org; debootstrap is
   installed with apt-get if missing), or reuses the one in --cache (a new one is kept there);
2. builds the autograder zip with tools/gradescope.py (and --rubric), unless --zip gives one,
   unpacks it into the root's /autograder/source and copies run_autograder to /autograder;
3. runs setup.sh there, as Gradescope does once when it builds the autograder's image;
4. grades each sample submission of tests/instructor/samples/ (the kit's solutions, the
   untouched release, the hostile ones; --only picks some) with /autograder/run_autograder, each
   on a fresh copy of that image with its files in /autograder/submission, within Gradescope's
   default limits (768 MiB of memory for all its processes, half a CPU: --memory, --cpus), and
   reads its grade from /autograder/results/results.json;
5. grades the same submissions at home: the zip's own tools/grade.py at the uid level, run by
   --home-python, a Python with numpy and pytest that other users may run (default:
   $GRADER_UID_PYTHON; .ci/run makes one);
6. prints a table: each submission's score there and at home, its seconds there (run_autograder
   from start to end, as Gradescope's timeout counts them) and at home (grade.py's own count),
   and its peak memory there; then each step's time and the root's size. It exits with status 1
   if a score differs, a grading failed, the grader there did not take the uid level, a sample
   reached the server it is given on 127.0.0.1, or a process a sample started is still running.

Each command in the root runs as in a Docker container (tools/bare_root.py): mount and PID
namespaces of its own, Docker's default capabilities, no cgroups in sight. Gradescope's
containers forbid namespaces, and so does this one: run_autograder's grade.py (--isolation
auto) finds it cannot make them and takes the uid level, and the trial checks grade.py says so.
reads_secrets is not graded at home: at the uid level it finds this machine's copy of the kit
(tests/instructor/test_grade_samples.py leaves it out too); its score there is checked against
its sample.toml instead. Logs and layers go to --work (default: a new folder in /var/tmp),
deleted at the end if all went well, unless --keep.
"""
if not __package__:  # run as python tools/gradescope_trial.py: see tools/_as_module.py
    import _as_module  # noqa: F401
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

from tools import bare_root, gradescope, sample_submissions
from tools.grading.sandbox import MODES, UID_LOCKS

BASE = f'debian-{bare_root.SUITE}-{bare_root.VARIANT}'  # the bare root's folder in --cache
AUTOGRADER = Path('/autograder')
SETUP_SECONDS = 1800
GRADESCOPE_MEMORY_MIB, GRADESCOPE_CPUS = 768, 0.5  # a container's defaults on Gradescope
CA_MOUNT = '/mnt'  # empty in a debootstrap root: the CA bundle's folder goes there for setup.sh


class TrialError(Exception):
    """The trial cannot go on; the message says why and where the log is."""


def tail(path, lines=15):
    text = Path(path).read_text(encoding='utf-8', errors='replace')
    return '\n'.join(text.splitlines()[-lines:])


def say(text):
    print(text, flush=True)


# -- 1 to 3: the root, the zip, the image ------------------------------------------------------

def bare_base(cache, work):
    """(the bare root's folder, debootstrap's seconds or None if it was reused from cache)."""
    base = Path(cache or work) / BASE
    if base.is_dir():
        say(f"reusing the bare root {base}")
        return base, None
    say(f"building a bare root in {base} with debootstrap ({bare_root.VARIANT}, "
        f"{bare_root.SUITE}, {bare_root.MIRROR})")
    start = time.monotonic()
    try:
        bare_root.build(base, log=Path(work) / 'debootstrap.log')
    except bare_root.RootError as err:
        raise TrialError(str(err)) from None
    seconds = time.monotonic() - start
    say(f"debootstrap took {seconds:.0f} s")
    return base, seconds


def ca_binds(ca_bundle):
    """(binds, environment) that let pip in the root trust ca_bundle (a file, or None)."""
    if not ca_bundle:
        return [], dict(bare_root.ENV)
    path = Path(ca_bundle).resolve()
    if not path.is_file():
        raise TrialError(f"--ca-bundle {ca_bundle}: no such file")
    return ([(path.parent, CA_MOUNT, True)],
            {**bare_root.ENV, 'PIP_CERT': f'{CA_MOUNT}/{path.name}'})


def make_image(zip_path, base, image, log, ca_bundle):
    """Unpack the zip into image (a layer over base) and run setup.sh there; its seconds."""
    source = image / AUTOGRADER.relative_to('/') / 'source'
    gradescope.extract(zip_path, source)
    missing = [name for name in gradescope.SCRIPTS if not (source / name).is_file()]
    if missing:
        raise TrialError(f"{zip_path} holds no {' and no '.join(missing)} at its top: is it an "
                         f"autograder zip (tools/gradescope.py)?")
    shutil.copy2(source / 'run_autograder', source.parent / 'run_autograder')
    binds, env = ca_binds(ca_bundle)
    say(f"running setup.sh in the bare root (log: {log})")
    status, seconds, _ = bare_root.run([base], image, [str(AUTOGRADER / 'source' / 'setup.sh')],
                                       log, cwd=str(AUTOGRADER / 'source'), env=env,
                                       binds=binds, timeout=SETUP_SECONDS)
    if status != 0:
        why = f"took over {SETUP_SECONDS} s" if status is None else f"exited with {status}"
        raise TrialError(f"setup.sh {why} in the bare root; the end of its log ({log}):\n"
                         f"{tail(log)}")
    say(f"setup.sh took {seconds:.0f} s")
    return seconds


# -- 4 and 5: the gradings ---------------------------------------------------------------------

def isolation_of(text):
    """The isolation level grade.py said it graded at, or None."""
    found = re.findall(rf"\bisolation ({'|'.join(MODES)})\b", text)
    return found[-1] if found else None


def read_results(path):
    """(results.json at path as a dict, or None; what was wrong with it, or None)."""
    try:
        results = json.loads(Path(path).read_text())
        float(results['score'])
        return results, None
    except FileNotFoundError:
        return None, "it wrote no results.json"
    except (OSError, ValueError, KeyError, TypeError) as err:
        return None, f"its results.json is unreadable ({type(err).__name__}: {err})"


def grade_there(name, submission, layers, runs, args):
    """(results or None, seconds, peak MiB or None, problem or None) of run_autograder on
    submission's files, with the limits and timeout args give."""
    upper = runs / name
    inside = upper / AUTOGRADER.relative_to('/')
    shutil.copytree(submission, inside / 'submission')
    (inside / 'results').mkdir()
    log = runs / f'{name}.log'
    # The host's and the root's graders share the uid locks, so that none of them ever runs
    # graded code as a uid another one uses (and kills its processes when it cleans up).
    status, seconds, peak = bare_root.run(
        layers, upper, [str(AUTOGRADER / 'run_autograder')], log, cwd=str(AUTOGRADER),
        binds=[(UID_LOCKS, UID_LOCKS, False)], timeout=args.timeout, memory_mib=args.memory,
        cpus=args.cpus)
    results, problem = read_results(inside / 'results' / 'results.json')
    level = isolation_of(log.read_text(errors='replace'))
    if status is None:
        problem = f"run_autograder took over {args.timeout:g} s and was killed"
    elif status != 0:
        problem = f"run_autograder exited with status {status}"
    elif results and results.get('output', '').startswith('The autograder failed'):
        problem = "grade.py failed: run_autograder wrote a score of 0"
    elif not problem and level != 'uid':
        problem = f"the grader took the {level} level, not uid"
    if problem:
        problem += f" (log: {log})"
    if not args.keep:
        shutil.rmtree(upper)
    return results, seconds, peak, problem


def grade_at_home(python, source, submissions, out, jobs, log):
    """{name: (results or None, problem or None)} of grading submissions (folders) at home with
    the zip's grader in source (python -m tools.grade, run there), at the uid level; and its
    seconds."""
    command = [str(python), '-m', 'tools.grade', *map(str, submissions),
               '-j', str(jobs), '--rubric', str(source / 'tools' / 'rubric.toml'),
               '--out', str(out), '--release', str(source / 'release'), '--isolation', 'uid',
               '--regrade']
    start = time.monotonic()
    with open(log, 'wb') as output:
        status = subprocess.run(command, cwd=source, stdout=output, stderr=output).returncode
    seconds = time.monotonic() - start
    level = isolation_of(log.read_text(errors='replace'))
    graded = {}
    for folder in submissions:
        results, problem = read_results(out / folder.name / 'results.json')
        if status != 0 or level != 'uid':
            problem = (f"grade.py at home exited with status {status} at the {level} level "
                       f"(log: {log})")
        graded[folder.name] = (results, problem)
    return graded, seconds


# -- 6: the table ------------------------------------------------------------------------------

def compare(rows):
    """The problems of rows ({name, there, home, home_from, problems}), one line each: a
    grading's own problems, and every score that differs between there and home."""
    problems = []
    for row in rows:
        problems += [f"{row['name']}: {problem}" for problem in row['problems']]
        if row['there'] is not None and row['home'] is not None \
                and row['there'] != row['home']:
            problems.append(f"{row['name']}: scores {row['there']:g} there but {row['home']:g} "
                            f"{'at home' if row['home_from'] == 'home' else 'in sample.toml'}")
    return problems


def table(rows):
    """The table of rows, as text."""
    def score(value):
        return '-' if value is None else f"{value:g}"

    def seconds(value):
        return '-' if value is None else f"{value:.1f}"

    header = ['submission', 'there', 'at home', 'seconds there', 'seconds at home',
              'MiB there']
    lines = [[row['name'], score(row['there']),
              score(row['home']) + ('' if row['home_from'] == 'home' else ' (sample.toml)'),
              seconds(row['seconds_there']), seconds(row['seconds_home']),
              '-' if row['peak_there'] is None else str(row['peak_there'])] for row in rows]
    widths = [max(len(line[i]) for line in [header] + lines) for i in range(len(header))]
    return '\n'.join('  '.join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in [header] + lines)


# -- the whole trial ---------------------------------------------------------------------------

def trial(args, work):
    """Run the trial in the folder work; returns the problems found (none: all agree)."""
    started = time.monotonic()
    names = args.only or sample_submissions.NAMES
    at_home = [name for name in names if name not in sample_submissions.NOT_AT_UID_LEVEL]
    base, debootstrap_seconds = bare_base(args.cache, work)
    zip_path = args.zip
    if zip_path is None:
        zip_path = work / 'autograder.zip'
        gradescope.build(zip_path, rubric=args.rubric)
        say(f"built {zip_path}")
    image = work / 'image'
    setup_seconds = make_image(zip_path, base, image, work / 'setup.log', args.ca_bundle)

    source = work / 'home' / 'source'  # the same grader, rubric and release, at home
    gradescope.extract(zip_path, source)
    submissions = work / 'submissions'
    listener, marker = sample_submissions.Listener(), f'gradescope-trial-{uuid.uuid4().hex[:12]}'
    for name in names:
        sample_submissions.write(name, submissions / name, source / 'release', listener.port,
                                 marker)

    os.makedirs(UID_LOCKS, mode=0o700, exist_ok=True)
    runs, rows, there_started = work / 'runs', [], time.monotonic()
    runs.mkdir()
    for number, name in enumerate(names, 1):
        results, seconds, peak, problem = grade_there(name, submissions / name,
                                                      [image, base], runs, args)
        score = results['score'] if results else None
        say(f"[{number}/{len(names)}] there: {name}: {'-' if score is None else f'{score:g}'} "
            f"in {seconds:.1f} s" + (f"; {problem}" if problem else ''))
        rows.append({'name': name, 'there': score, 'seconds_there': seconds, 'peak_there': peak,
                     'problems': [problem] if problem else [], 'home': None,
                     'home_from': 'home', 'seconds_home': None})
    there_seconds = time.monotonic() - there_started

    home, home_seconds = {}, 0.0
    if at_home:
        say(f"grading {len(at_home)} at home with {args.home_python} (-j {args.jobs})")
        home, home_seconds = grade_at_home(args.home_python, source,
                                           [submissions / name for name in at_home],
                                           work / 'home' / 'grades', args.jobs,
                                           work / 'home' / 'grade.log')
    for row in rows:
        if row['name'] in sample_submissions.NOT_AT_UID_LEVEL:
            row['home'] = sample_submissions.spec(row['name'])['expect']['score']
            row['home_from'] = 'sample.toml'
            continue
        results, problem = home[row['name']]
        row['home'] = results['score'] if results else None
        row['seconds_home'] = results['execution_time'] if results else None
        if problem:
            row['problems'].append(f"at home: {problem}")

    problems = compare(rows)
    if listener.heard:
        problems.append(f"the server on 127.0.0.1 heard from a sample: {listener.heard[:3]}")
    left = sample_submissions.leftovers(marker)
    if left:
        problems.append(f"processes the samples started are still running: {left}")
    say('\n' + table(rows) + '\n')
    debootstrap = ('reused' if debootstrap_seconds is None
                   else f"debootstrap took {debootstrap_seconds:.0f} s")
    say(f"bare root: {base} ({debootstrap}), {bare_root.size_mib(base)} MiB")
    say(f"setup.sh took {setup_seconds:.0f} s; the image adds {bare_root.size_mib(image)} MiB")
    limits = (f"{args.memory:g} MiB" if args.memory else "no memory limit") + ", " + (
        f"{args.cpus:g} CPU" if args.cpus else "no CPU limit")
    say(f"graded {len(names)} there in {there_seconds:.0f} s, one at a time ({limits}); "
        f"{len(at_home)} at home in {home_seconds:.0f} s (-j {args.jobs}); "
        f"the trial took {time.monotonic() - started:.0f} s")
    return problems


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cache', type=Path, default=None,
                        help=f"keep the bare root in this folder ({BASE}/) and reuse it next "
                             f"time (default: build a new one in --work)")
    parser.add_argument('--zip', type=Path, default=None,
                        help='the autograder zip to try (default: built from this kit)')
    parser.add_argument('--rubric', type=Path, default=None,
                        help='the rubric to build the zip with (default: tools/rubric.toml)')
    parser.add_argument('--only', nargs='+', metavar='NAME', default=None,
                        help='grade these samples only (default: all of them)')
    parser.add_argument('--home-python', type=Path,
                        default=os.environ.get('GRADER_UID_PYTHON') or None,
                        help='the Python that grades at home, at the uid level (default: '
                             '$GRADER_UID_PYTHON)')
    parser.add_argument('-j', '--jobs', type=int, default=2,
                        help='grade this many at once at home (default: 2); there, one at a time')
    parser.add_argument('--memory', type=float, default=GRADESCOPE_MEMORY_MIB, metavar='MIB',
                        help=f"memory each grading there may use, all its processes together "
                             f"(default: {GRADESCOPE_MEMORY_MIB}, Gradescope's default; 0: no "
                             f"limit)")
    parser.add_argument('--cpus', type=float, default=GRADESCOPE_CPUS,
                        help=f"CPUs each grading there may use (default: {GRADESCOPE_CPUS:g}, "
                             f"Gradescope's default; 0: no limit)")
    parser.add_argument('--timeout', type=float, default=600,
                        help="seconds run_autograder may take on one submission (default: 600, "
                             "Gradescope's default)")
    parser.add_argument('--ca-bundle', type=Path,
                        default=os.environ.get('PIP_CERT') or os.environ.get('SSL_CERT_FILE')
                        or None,
                        help="certificates pip trusts while setup.sh runs (default: $PIP_CERT "
                             "or $SSL_CERT_FILE): for a machine whose HTTPS goes through a "
                             "proxy of its own; Gradescope needs none")
    parser.add_argument('--work', type=Path, default=None,
                        help='the folder for logs and layers (default: a new one in /var/tmp)')
    parser.add_argument('--keep', action='store_true', help='keep --work at the end')
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only or []) - set(sample_submissions.NAMES))
    if unknown:
        parser.error(f"--only {' '.join(unknown)}: no such sample (there are: "
                     f"{', '.join(sample_submissions.NAMES)})")
    if set(args.only or sample_submissions.NAMES) - set(sample_submissions.NOT_AT_UID_LEVEL) \
            and not args.home_python:
        parser.error("the grades at home need --home-python (or GRADER_UID_PYTHON): a Python "
                     "with numpy and pytest that other users may run, since the uid level runs "
                     "the graded code as another user (.ci/run makes one in "
                     "/opt/grader-uid-python)")
    if args.home_python and not os.access(args.home_python, os.X_OK):
        parser.error(f"--home-python {args.home_python}: no such program")
    if args.jobs < 1:
        parser.error(f"-j {args.jobs}: must be at least 1")
    if args.memory < 0 or args.cpus < 0:
        parser.error("--memory and --cpus: 0 (no limit) or more")
    if args.zip and args.rubric:
        parser.error("--rubric builds a zip: give it or --zip, not both")
    if args.zip and not zipfile.is_zipfile(args.zip):
        parser.error(f"--zip {args.zip}: no such file, or not a zip")
    if args.work and args.work.exists() and any(args.work.iterdir()):
        parser.error(f"--work {args.work}: not empty; give a new or empty folder")
    return args


def main(argv=None):
    args = parse(argv)
    if os.geteuid() != 0:
        sys.exit("gradescope_trial.py: run it as root (sudo): debootstrap, its mounts and "
                 "chroot need root")
    work = args.work or Path(tempfile.mkdtemp(prefix='gradescope-trial-', dir='/var/tmp'))
    work.mkdir(parents=True, exist_ok=True)
    # On SIGTERM as on Ctrl-C: what runs in the root is killed on the way out.
    before = signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    try:
        problems = trial(args, work.resolve())
    except (TrialError, bare_root.RootError, ValueError) as err:
        sys.exit(f"gradescope_trial.py: {err}\n(logs are in {work})")
    except KeyboardInterrupt:
        sys.exit(f"gradescope_trial.py: interrupted (logs are in {work})")
    finally:
        signal.signal(signal.SIGTERM, before)
    for problem in problems:
        say(f"PROBLEM: {problem}")
    if problems or args.keep:
        say(f"kept {work} ({bare_root.size_mib(work)} MiB): its logs, layers and grades")
    else:
        bare_root.remove(work)
    if problems:
        sys.exit(f"gradescope_trial.py: {len(problems)} check{'s' * (len(problems) > 1)} "
                 f"failed (PROBLEM above)")
    say("every submission scores there as at home")


if __name__ == '__main__':
    main()
