"""Build the Gradescope autograder: one zip that grades each submission on Gradescope's machines.

    python tools/gradescope.py [--out autograder.zip] [--rubric tools/rubric.toml]

Upload the zip on the assignment's "Configure Autograder" page. Gradescope unzips it into
/autograder/source and runs its setup.sh once, as root, when it builds the image (Ubuntu): that
installs a Python of 3.11 or later with the grader's two packages (requirements-grader.txt,
numpy and pytest, at the minimums of the kit's requirements.txt). For each submission it runs
run_autograder, as root, with the student's files in /autograder/submission. run_autograder
makes /autograder/source unreadable to the graded code (which runs as another user), runs
`python tools/grade.py` there on the submission with the release in the zip, and writes
/autograder/results/results.json; if the grader fails, it writes a score of 0 whose output says
the autograder failed, with the last lines of its output, so the student sees something and the
staff can act. AUTOGRADER_ROOT (default /autograder) and PYTHON change where it looks and which
Python runs the grader.

The zip holds, at their paths in this kit, the grader's files (tools/grading/__init__.py lists
them: tools/grade.py, tools/grading/*.py, the checks and expected values it shares with the
tests, dataloader.py and the kit/ modules it imports), the rubric as tools/rubric.toml; and
release/, the student release (tools/release.py: stubs where the solutions are), whose data/ is
the one the grader uses. It never holds the solutions: the zip is
checked for them before it is written. setup.sh and run_autograder are written from their
templates, tools/templates/gradescope_setup.sh and gradescope_run_autograder.sh, with
@GRADER_PYTHON@ and @REQUIREMENTS@ filled in. The same kit gives the same zip, byte for byte.

tools/gradescope_trial.py tries the zip on a bare Debian, as Gradescope runs it.
"""
if not __package__:  # run as python tools/gradescope.py: see tools/_as_module.py
    import _as_module  # noqa: F401
import argparse
import os
import re
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

from tools import KIT, release
from tools.grading import grader_files
from tools.grading.submissions import STUDENT_FILES  # where the solutions are in the kit

GRADER_PACKAGES = ('numpy', 'pytest')  # all the grader imports beyond the standard library
REQUIREMENTS = 'requirements-grader.txt'
GRADER_PYTHON = '/opt/grader-python'  # the virtual environment setup.sh makes
DATE = (2000, 1, 1, 0, 0, 0)  # every entry's date, so that the same kit gives the same zip
TEMPLATES = Path('tools', 'templates')  # in the kit: the scripts, placeholders to fill in
SCRIPTS = {'setup.sh': 'gradescope_setup.sh', 'run_autograder': 'gradescope_run_autograder.sh'}


def script(name, source=KIT):
    """The text of the script name ('setup.sh' or 'run_autograder'): its template in
    source/tools/templates/ with the placeholders filled in."""
    template = source / TEMPLATES / SCRIPTS[name]
    text = template.read_text(encoding='utf-8')
    for placeholder, value in (('@GRADER_PYTHON@', GRADER_PYTHON),
                               ('@REQUIREMENTS@', REQUIREMENTS)):
        text = text.replace(placeholder, value)
    left = sorted(set(re.findall(r'@[A-Z_]+@', text)))
    if left:
        raise ValueError(f"{template} has placeholders nothing fills in: {', '.join(left)}")
    return text


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
    return [(path.relative_to(source).as_posix(), path) for path in grader_files(source)]


def check_rubric(path):
    """ValueError naming the file and the key at fault, unless the rubric can be used."""
    from tools.grading import official, rules
    from tools.grading.rubric import Rubric, RubricError
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
    for name in SCRIPTS:
        files[name] = script(name, source).encode()
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
    leaks = [name for name in STUDENT_FILES if name in files]
    leaks += [name for name, data in files.items()
              if release.BEGIN.encode() in data or release.END.encode() in data]
    if leaks:
        raise ValueError(f"the autograder would hold the solutions ({', '.join(sorted(set(leaks)))}"
                         f"); nothing was written")
    for name in STUDENT_FILES:
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
                mode = 0o755 if name in SCRIPTS else 0o644
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = (zipfile.ZIP_STORED if name.endswith(('.gz', '.npz'))
                                      else zipfile.ZIP_DEFLATED)
                archive.writestr(info, files[name])
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def extract(path, folder):
    """Unzip the autograder at path into folder as Gradescope does, with each entry's mode."""
    folder = Path(folder)
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            target = folder / info.filename
            if not target.resolve().is_relative_to(folder.resolve()):
                raise ValueError(f"{path}: its entry {info.filename} would land outside {folder}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            os.chmod(target, (info.external_attr >> 16) & 0o777 or 0o644)


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
