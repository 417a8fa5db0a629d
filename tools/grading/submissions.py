"""Find submissions (folders or zips, or folders of them) and read their files safely.

A submission's files are read into memory, never extracted: names come from the submission's
folder holding loss.py (at the top, or the one folder inside that does), each file at most
MAX_FILE_BYTES. Only .py and .ipynb files are read; the grader uses loss.py and optimizer.py
and reads the others for the rules.
"""
import hashlib
import re
import zipfile
from pathlib import Path, PurePosixPath

STUDENT_FILES = ('loss.py', 'optimizer.py')
READ_SUFFIXES = ('.py', '.ipynb')
MAX_FILE_BYTES = 1 << 20
SKIPPED_PARTS = ('__MACOSX', '__pycache__', '.ipynb_checkpoints', '.git')


class Submission:
    """name, source (its path), files {name: bytes}, problems [str] and digest."""

    def __init__(self, source):
        self.source = Path(source)
        self.name = safe_name(self.source.stem if self.source.suffix == '.zip'
                              else self.source.name)
        self.files, self.problems = {}, []
        try:
            entries = (zip_entries(self.source) if self.source.suffix == '.zip'
                       else folder_entries(self.source))
            self.files, self.problems = pick_files(entries)
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, ValueError) as err:
            self.problems.append(f"{self.source.name} could not be read ({err}); hand in the zip "
                                 f"that pack_submission.py writes")
        digest = hashlib.sha256()
        for name, data in sorted(self.files.items()):
            digest.update(name.encode() + b'\0' + hashlib.sha256(data).digest())
        self.digest = digest.hexdigest()


def safe_name(text):
    return re.sub(r'[^A-Za-z0-9._-]+', '_', text).strip('._') or 'submission'


def is_submission(path):
    path = Path(path)
    if path.suffix == '.zip' and path.is_file():
        return True
    return path.is_dir() and any(
        not any(part in SKIPPED_PARTS for part in found.relative_to(path).parts)
        for name in STUDENT_FILES for found in path.rglob(name))


def find(paths):
    """[Submission] for paths: each a zip, a submission folder, or a folder of them.

    ValueError naming the path for one that is none of these, or for two with the same name.
    """
    found = []
    for path in map(Path, paths):
        if not path.exists():
            raise ValueError(f"{path}: no such file or folder")
        if path.suffix == '.zip' and path.is_file():
            found.append(path)
        elif path.is_dir() and any((path / name).is_file() for name in STUDENT_FILES):
            found.append(path)
        elif path.is_dir():
            inside = [child for child in sorted(path.iterdir())
                      if not child.name.startswith('.') and is_submission(child)]
            if not inside:
                raise ValueError(f"{path}: holds no loss.py or optimizer.py and no submission "
                                 f"(a folder or a .zip) inside")
            found += inside
        else:
            raise ValueError(f"{path}: not a folder or a .zip")
    submissions, names = [], {}
    for path in found:
        submission = Submission(path)
        if submission.name in names:
            raise ValueError(f"{names[submission.name]} and {path} would both be graded as "
                             f"{submission.name!r}; rename one")
        names[submission.name] = path
        submissions.append(submission)
    return submissions


def folder_entries(folder):
    """[(relative posix path, size, read())] of the files under folder."""
    entries = []
    for path in sorted(Path(folder).rglob('*')):
        if path.is_file() and not path.is_symlink():
            entries.append((path.relative_to(folder).as_posix(), path.stat().st_size,
                            lambda path=path: _read_limited(path.open('rb'))))
    return entries


def zip_entries(source):
    archive = zipfile.ZipFile(source)
    return [(info.filename, info.file_size, lambda info=info: _read_limited(archive.open(info)))
            for info in archive.infolist() if not info.is_dir()]


def _read_limited(stream):
    with stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"a file is over {MAX_FILE_BYTES >> 20} MiB")
    return data


def pick_files(entries):
    """({name: bytes}, problems): the .py and .ipynb files of the folder holding loss.py."""
    entries = [(PurePosixPath(name), size, read) for name, size, read in entries
               if not any(part in SKIPPED_PARTS or part.startswith('._')
                          for part in PurePosixPath(name).parts)]
    homes = sorted({path.parent for path, _, _ in entries if path.name in STUDENT_FILES},
                   key=lambda folder: (len(folder.parts), str(folder)))
    problems = []
    if not homes:
        return {}, ["the submission holds neither loss.py nor optimizer.py"]
    home = homes[0]
    files = {}
    for path, size, read in entries:
        if path.parent != home or path.suffix not in READ_SUFFIXES:
            continue
        if size > MAX_FILE_BYTES:
            problems.append(f"{path.name} is {size} bytes, over the {MAX_FILE_BYTES >> 20} MiB "
                            f"a file may have; it was not read")
            continue
        try:
            files[path.name] = read()
        except ValueError as err:
            problems.append(f"{path.name}: {err}; it was not read")
    for name in STUDENT_FILES:
        if name not in files:
            problems.append(f"{name} is missing from the submission (looked in "
                            f"{str(home) if str(home) != '.' else 'its top folder'})")
    return files, problems
