"""The sample submissions of tests/instructor/samples/, written as folders the grader takes.

    from tools.sample_submissions import NAMES, spec, write
    write('memory_hog', Path('subs/memory_hog'), stubs=Path('release'), port=8000, marker='x')

Each sample is a folder holding sample.toml and, optionally, its own loss.py and optimizer.py;
the samples' README says how those make a submission. tests/instructor/test_grade_samples.py
grades them at home and tools/gradescope_trial.py on a bare Debian, from the same files.
"""
import socket
import threading
from pathlib import Path

import tomllib

from tools import KIT, check_tests, release
from tools.grading.submissions import STUDENT_FILES

SAMPLES = KIT / 'tests' / 'instructor' / 'samples'
NAMES = sorted(path.name for path in SAMPLES.iterdir() if (path / 'sample.toml').is_file())
# At the uid level, files everyone may read stay readable: reads_secrets finds this kit's
# solutions at home (docs/instructors.md, "Grading": keep the grader's files private, as
# run_autograder does).
NOT_AT_UID_LEVEL = ('reads_secrets',)


def spec(name):
    """Sample name's sample.toml, as a dict."""
    return tomllib.loads((SAMPLES / name / 'sample.toml').read_text())


def write(name, out, stubs, port, marker, solutions=KIT):
    """Write sample name's loss.py and optimizer.py into the new folder out, and any other file
    of the sample's folder as it is (a stand-in torch.py, say).

    stubs is the student release (the files a sample lists in `release` come from it),
    solutions the kit (the files it holds no copy of); marker and port replace @MARKER@ and
    @PORT@ in the sample's own files.
    """
    this = spec(name)
    base = Path(solutions)
    if 'mistake' in this:
        base = out.parent / f'.{name}-base'
        release.build(base, source=solutions)
        mutant = next(m for m in check_tests.load_mutants() if m.name == this['mistake'])
        regions = release.build(out.parent / f'.{name}-regions', source=solutions)
        check_tests.fill_regions(base, regions, mutant)
    out.mkdir(parents=True)
    for own in sorted((SAMPLES / name).iterdir()):
        if own.name != 'sample.toml' and own.name not in STUDENT_FILES:
            (out / own.name).write_bytes(own.read_bytes())
    for file in STUDENT_FILES:
        if file in this.get('missing', []):
            continue
        text = ((Path(stubs) if file in this.get('release', []) else base) / file).read_text()
        own = SAMPLES / name / file
        if own.is_file():
            lines = []
            for line in own.read_text().splitlines(keepends=True):
                if line.strip() == '# <<base>>':
                    indent = line[:len(line) - len(line.lstrip())]
                    lines += [indent + part if part.strip() else part
                              for part in text.splitlines(keepends=True)]
                else:
                    lines.append(line.replace('@MARKER@', marker).replace('@PORT@', str(port)))
            text = ''.join(lines)
        (out / file).write_text(text)


class Listener:
    """A TCP server on 127.0.0.1 that records whoever connects (port, heard)."""

    def __init__(self):
        self.server = socket.create_server(('127.0.0.1', 0))
        self.port, self.heard = self.server.getsockname()[1], []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                self.heard.append(connection.recv(100))


def leftovers(marker):
    """pids of the processes whose command line holds marker."""
    found = []
    for entry in Path('/proc').iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / 'cmdline').read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found
