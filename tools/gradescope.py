"""Build the Gradescope autograder: one zip that grades each submission on Gradescope's machines.

    python tools/gradescope.py [--out autograder.zip] [--rubric tools/rubric.toml]

Upload the zip on the assignment's "Configure Autograder" page. Gradescope unzips it into
/autograder/source and runs its setup.sh once, as root, when it builds the image (Ubuntu): that
installs a Python of 3.11 or later with the grader's two packages (requirements-grader.txt,
numpy and pytest, at the minimums of the kit's requirements.txt). For each submission it runs
run_autograder, as root, with the student's files in /autograder/submission. run_autograder
makes /autograder/source unreadable to the graded code (which runs as another user), runs
tools/grade.py on the submission with the release in the zip, and writes
/autograder/results/results.json; if grade.py fails, it writes a score of 0 whose output says
the autograder failed, with the last lines of its output, so the student sees something and the
staff can act. AUTOGRADER_ROOT (default /autograder) and PYTHON change where it looks and which
Python runs the grader.

The zip holds, at their paths in this kit: tools/grade.py, tools/grading/*.py, the rubric as
tools/rubric.toml, tests/reference_check.py, tests/fixtures/reference.npz, dataloader.py and
the kit/idx.py it imports; and release/, the student release (tools/release.py: stubs where the
solutions are), whose data/ is the one the grader uses. It never holds the solutions: the zip is
checked for them before it is written.
"""
import argparse
import os
import re
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT / 'tools'))
import release  # noqa: E402

SOLUTION_FILES = ('loss.py', 'optimizer.py')  # where the solutions are in the kit
MNIST = ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
         't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')
GRADER_PACKAGES = ('numpy', 'pytest')  # all the grader imports beyond the standard library
REQUIREMENTS = 'requirements-grader.txt'
GRADER_PYTHON = '/opt/grader-python'  # the virtual environment setup.sh makes
DATE = (2000, 1, 1, 0, 0, 0)  # every entry's date, so that the same kit gives the same zip

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu). It makes
# the grader's Python, @GRADER_PYTHON@, a virtual environment holding the packages of
# @REQUIREMENTS@. Written by tools/gradescope.py.
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y python3 python3-pip python3-venv

# The grader needs Python 3.11 or later (tomllib). Ubuntu 22.04, Gradescope's default base
# image, has 3.10: there, take python3.11 from Ubuntu's own repositories.
PY=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y python3.11 python3.11-venv
    PY=python3.11
fi

# pip installs into the virtual environment, not into the system's Python (which Ubuntu 24.04
# refuses without --break-system-packages), so the same lines work on every Ubuntu.
"$PY" -m venv @GRADER_PYTHON@
@GRADER_PYTHON@/bin/python -m pip install --no-cache-dir -r "$SOURCE/@REQUIREMENTS@"
chmod -R a+rX @GRADER_PYTHON@  # the graded code runs as another user, with this Python
@GRADER_PYTHON@/bin/python -c 'import sys, numpy, pytest, tomllib; print("grader:", sys.version)'
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for each submission, as root: it grades /autograder/submission and writes
# /autograder/results/results.json. Written by tools/gradescope.py.
# AUTOGRADER_ROOT stands for /autograder, and PYTHON for the Python that runs the grader
# (default: @GRADER_PYTHON@/bin/python, which setup.sh makes, or else python3).
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    if [ -x @GRADER_PYTHON@/bin/python ]; then PYTHON=@GRADER_PYTHON@/bin/python; fi
fi
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"

# The graded code runs as another user: it must not read the grader, the rubric (its seed draws
# the hidden cases) or anything else here. The grader runs as root and copies what the graded
# code needs into the code's own job folder.
chmod -R go-rwx "$ROOT/source"

# A submission uploaded as one zip (pack_submission.py's submission.zip) is graded from the zip.
SUBMISSION="$ROOT/submission"
if [ -z "$(find "$SUBMISSION" -name loss.py -o -name optimizer.py 2>/dev/null | head -n 1)" ]; then
    ZIPS=("$SUBMISSION"/*.zip)
    if [ "${#ZIPS[@]}" -eq 1 ] && [ -f "${ZIPS[0]}" ]; then SUBMISSION="${ZIPS[0]}"; fi
fi

SCRATCH="$(mktemp -d)"  # mode 700: the grades and the log, out of the graded code's reach
trap 'rm -rf "$SCRATCH"' EXIT
"$PYTHON" "$ROOT/source/tools/grade.py" "$SUBMISSION" --results "$RESULTS" \
    --release "$ROOT/source/release" --out "$SCRATCH/grades" --regrade 2>&1 | tee "$SCRATCH/log"
STATUS="${PIPESTATUS[0]}"

if [ "$STATUS" -ne 0 ] || [ ! -s "$RESULTS" ]; then
    # No grade: say so, with the end of grade.py's output, as JSON written without Python (which
    # may be what failed): printable ASCII only, any other byte becomes '?'.
    TAIL="$(tail -n 25 "$SCRATCH/log" | LC_ALL=C tr -c '\11\12\40-\176' '?' \
            | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | awk '{printf "%s\\n", $0}')"
    MESSAGE="The autograder failed (grade.py exited with status $STATUS and wrote no grade), so"
    MESSAGE="$MESSAGE this submission was not graded: this is not your grade. Please tell the"
    MESSAGE="$MESSAGE course staff. The last lines of its output:"
    { printf '{"score": 0, "output": "%s\\n\\n%s",' "$MESSAGE" "$TAIL"
      printf ' "visibility": "visible", "stdout_visibility": "hidden"}\n'; } > "$RESULTS"
    echo "run_autograder: grade.py failed (status $STATUS); wrote a score of 0 to $RESULTS" >&2
fi
exit 0
"""


def script(text):
    """A script above with its placeholders filled in."""
    return text.replace('@GRADER_PYTHON@', GRADER_PYTHON).replace('@REQUIREMENTS@', REQUIREMENTS)


def grader_requirements(source=KIT):
    """The lines of source's requirements.txt that name the grader's packages (numpy, pytest)."""
    lines = {}
    for line in (source / 'requirements.txt').read_text(encoding='utf-8').splitlines():
        line = line.split('#')[0].strip()
        name = re.match(r'[A-Za-z0-9._-]*', line).group().lower()
        if name in GRADER_PACKAGES:
            lines[name] = line
    missing = [package for package in GRADER_PACKAGES if package not in lines]
    if missing:
        raise ValueError(f"{source / 'requirements.txt'} does not name {', '.join(missing)}")
    return ''.join(f"{lines[package]}\n" for package in GRADER_PACKAGES)


def kit_files(source=KIT):
    """[(path in the zip, path in source)] of the grader's files, the rubric aside."""
    tools = source / 'tools'
    paths = [tools / 'grade.py'] + sorted((tools / 'grading').glob('*.py'))
    paths += [source / 'tests' / 'reference_check.py',
              source / 'tests' / 'fixtures' / 'reference.npz', source / 'dataloader.py']
    paths += [source / 'kit' / '__init__.py', source / 'kit' / 'idx.py']  # dataloader.py's
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise ValueError(f"the grader needs {', '.join(missing)}, which is not there")
    return [(path.relative_to(source).as_posix(), path) for path in paths]


def check_rubric(path):
    """ValueError naming the file and the key at fault, unless the rubric can be used."""
    from grading import official, rules
    from grading.rubric import Rubric, RubricError
    try:
        Rubric(path, official.TESTS, rules.RULES)
    except RubricError as err:
        raise ValueError(str(err)) from None


def contents(source=KIT, rubric=None):
    """{path in the zip: bytes}: everything the autograder holds."""
    rubric = Path(rubric) if rubric else source / 'tools' / 'rubric.toml'
    check_rubric(rubric)
    files = {name: path.read_bytes() for name, path in kit_files(source)}
    files['tools/rubric.toml'] = rubric.read_bytes()
    files[REQUIREMENTS] = grader_requirements(source).encode()
    files['setup.sh'] = script(SETUP_SH).encode()
    files['run_autograder'] = script(RUN_AUTOGRADER).encode()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / 'release'
        release.build(out, source=source)
        for path in sorted(out.rglob('*')):
            if path.is_file():
                files[f'release/{path.relative_to(out).as_posix()}'] = path.read_bytes()
    return files


def check_no_solutions(files):
    """ValueError unless files ({path in the zip: bytes}) are free of the solutions: no
    loss.py or optimizer.py at the top, and no file holding a solution marker."""
    leaks = [name for name in SOLUTION_FILES if name in files]
    leaks += [name for name, data in files.items()
              if release.BEGIN.encode() in data or release.END.encode() in data]
    if leaks:
        raise ValueError(f"the autograder would hold the solutions ({', '.join(sorted(set(leaks)))}"
                         f"); nothing was written")
    for name in SOLUTION_FILES:
        if release.STUB_PHRASE.encode() not in files.get(f'release/{name}', b''):
            raise ValueError(f"release/{name} holds no stub: is it the student release? "
                             f"nothing was written")


def check_out_path(out, source=KIT):
    """Refuse to write over the kit, a folder, or a file that is not a zip."""
    out, source = Path(out).resolve(), Path(source).resolve()
    if out == source or out in source.parents or out.is_dir():
        raise ValueError(f"refusing to write the autograder to {out}: a folder")
    if out.suffix != '.zip':
        raise ValueError(f"refusing to write the autograder to {out}: its name must end in .zip")
    if out.exists() and not zipfile.is_zipfile(out):
        raise ValueError(f"refusing to write the autograder over {out}: it is not a zip")


def write_zip(out, files):
    """Write files into the zip out, atomically; setup.sh and run_autograder are executable."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f'.{out.name}.', suffix='.tmp')
    try:
        with os.fdopen(handle, 'wb') as stream, zipfile.ZipFile(stream, 'w') as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, DATE)
                info.create_system = 3  # Unix: unzip then applies the mode below
                mode = 0o755 if name in ('setup.sh', 'run_autograder') else 0o644
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = (zipfile.ZIP_STORED if name.endswith(('.gz', '.npz'))
                                      else zipfile.ZIP_DEFLATED)
                archive.writestr(info, files[name])
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def build(out, source=KIT, rubric=None):
    """Write the autograder zip to out; returns {path in the zip: bytes}.

    Everything is gathered and checked first: on an error, out is left as it was.
    """
    check_out_path(out, source)
    files = contents(source, rubric)
    check_no_solutions(files)
    write_zip(out, files)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=Path('autograder.zip'),
                        help='the zip to write (default: autograder.zip)')
    parser.add_argument('--rubric', type=Path, default=None,
                        help='the rubric to grade with (default: tools/rubric.toml); it goes '
                             'into the zip as tools/rubric.toml')
    args = parser.parse_args(argv)
    try:
        files = build(args.out, rubric=args.rubric)
    except (OSError, ValueError) as err:
        sys.exit(f"gradescope.py: {err}")
    size = args.out.stat().st_size
    print(f"wrote {args.out}: {size / 1e6:.1f} MB, {len(files)} files (release/ holds "
          f"{sum(name.startswith('release/') for name in files)}); upload it on the "
          f"assignment's \"Configure Autograder\" page")


if __name__ == '__main__':
    main()
