"""Find submissions (folders or zips, or folders of them) and read their files safely.

A submission's files are read into memory only while it is graded, never extracted: names come
from its folder holding loss.py or optimizer.py (at the top, or the shallowest folder inside
that does). Only .py and .ipynb files there are read; the grader runs loss.py and optimizer.py
and reads the others for the rules.

Whatever a submission holds, reading it is bounded: MAX_ENTRIES files and folders looked at,
MAX_DEPTH levels of folders, MAX_FILE_BYTES a file and MAX_SUBMISSION_BYTES in all, counted as
they are read (a zip's headers are not trusted). Symlinks are never followed, and only regular
files are opened. A zip entry with an absolute path, '..', a symlink, encryption or a name
another entry has too is skipped. What is skipped is said in the submission's problems; loss.py
and optimizer.py are read first, so they are graded if they can be found at all.
"""
import hashlib
import os
import re
import stat
import zipfile
from collections import deque
from pathlib import Path, PurePosixPath

STUDENT_FILES = ('loss.py', 'optimizer.py')
READ_SUFFIXES = ('.py', '.ipynb')
MAX_FILE_BYTES = 1 << 20
MAX_SUBMISSION_BYTES = 8 << 20
MAX_ENTRIES = 5000
MAX_DEPTH = 8
MAX_ZIP_DIRECTORY = 4 << 20  # bytes of a zip's central directory
MAX_PROBLEMS = 10  # problems listed for one submission; the rest are counted
SKIPPED_PARTS = ('__MACOSX', '__pycache__', '.ipynb_checkpoints', '.git')


class Contents:
    """What was read of a submission: files {name: bytes}, problems [str] and digest."""

    def __init__(self, files, problems):
        self.files, self.problems = files, problems
        digest = hashlib.sha256()
        for name, data in sorted(files.items()):
            digest.update(name.encode() + b'\0' + hashlib.sha256(data).digest())
        self.digest = digest.hexdigest()


class Submission:
    """name, source (its path) and digest (of its files as last read). read() reads its
    files again: they are kept in memory only while it is graded."""

    def __init__(self, source):
        self.source = Path(source)
        self.name = safe_name(self.source.stem if self.source.suffix == '.zip'
                              else self.source.name)
        self.digest = self.read().digest

    def read(self):
        """The Contents of the submission (never raises for what the submission holds)."""
        problems = Problems()
        files = {}
        try:
            if self.source.suffix == '.zip':
                check_zip_directory(self.source)
                with zipfile.ZipFile(self.source) as archive:
                    files = pick_files(zip_entries(archive, problems), problems)
            else:
                files = pick_files(folder_entries(self.source, problems), problems)
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, ValueError,
                EOFError, NotImplementedError) as err:
            problems.add(f"{self.source.name} could not be read ({err}); hand in the zip that "
                         f"pack_submission.py writes")
        contents = Contents(files, problems.listed())
        self.digest = contents.digest
        return contents


class Problems(list):
    """The problems found reading one submission, the first MAX_PROBLEMS in full."""

    def add(self, text):
        self.append(text)

    def listed(self):
        more = len(self) - MAX_PROBLEMS
        return self[:MAX_PROBLEMS] + ([f"... and {more} more problems like these"]
                                      if more > 0 else [])


def safe_name(text):
    """A name for the grades folder: letters, digits, '.', '_', '-'. A name that is not UTF-8
    gets a short hash of its bytes, so that two such names stay apart."""
    name = re.sub(r'[^A-Za-z0-9._-]+', '_', text).strip('._') or 'submission'
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        name += '-' + hashlib.sha256(os.fsencode(text)).hexdigest()[:8]
    return name


def walk(folder, problems=None):
    """(relative posix path, path, size) of the regular files under folder, shallow first, the
    student's files of each folder before the others: at most MAX_ENTRIES entries looked at and
    MAX_DEPTH levels, no symlink followed, no recursion."""
    queue, seen = deque([(Path(folder), ())]), 0
    while queue:
        path, parts = queue.popleft()
        for name in STUDENT_FILES:  # found whatever else the folder holds
            try:
                found = os.lstat(path / name)
            except OSError:
                continue
            if stat.S_ISREG(found.st_mode):
                yield '/'.join(parts + (name,)), str(path / name), found.st_size
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    seen += 1
                    if seen > MAX_ENTRIES:
                        if problems is not None:
                            problems.add(f"it holds more than {MAX_ENTRIES} files and folders; "
                                         f"the rest were not looked at")
                        return
                    if not _utf8(entry.name):
                        if problems is not None:
                            problems.add(f"a file name that is not UTF-8 was skipped: "
                                         f"{os.fsencode(entry.name)[:60]!r}")
                        continue
                    if entry.name in SKIPPED_PARTS or entry.name.startswith('._') or \
                            entry.name in STUDENT_FILES:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if len(parts) + 1 < MAX_DEPTH:
                            queue.append((Path(entry.path), parts + (entry.name,)))
                        elif problems is not None:
                            problems.add(f"folders deeper than {MAX_DEPTH} levels were not "
                                         f"looked at ({'/'.join(parts + (entry.name,))[:80]})")
                    elif entry.is_file(follow_symlinks=False):
                        yield ('/'.join(parts + (entry.name,)), entry.path,
                               entry.stat(follow_symlinks=False).st_size)
        except OSError:
            continue


def _utf8(name):
    try:
        name.encode('utf-8')
        return True
    except UnicodeEncodeError:
        return False


def is_submission(path):
    path = Path(path)
    if path.suffix == '.zip' and path.is_file():
        return True
    return path.is_dir() and any(name.rpartition('/')[2] in STUDENT_FILES
                                 for name, _, _ in walk(path))


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


def folder_entries(folder, problems):
    """[(relative posix path, size, read())] of the regular files under folder."""
    return [(name, size, lambda path=path: _read_file(path))
            for name, path, size in walk(folder, problems)]


def _read_file(path):
    """The bytes of a regular file (never a FIFO, device or symlink), at most one over the cap."""
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    with os.fdopen(handle, 'rb') as stream:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise ValueError("it is not a regular file")
        return stream.read(MAX_FILE_BYTES + 1)


def check_zip_directory(source):
    """ValueError if the zip declares more entries, or a larger directory, than a submission
    may have: checked from its end record, before its directory is parsed."""
    with open(source, 'rb') as stream:
        end = zipfile._EndRecData(stream)
    if end is None:
        raise zipfile.BadZipFile("File is not a zip file")
    if end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ENTRIES or end[zipfile._ECD_SIZE] > MAX_ZIP_DIRECTORY:
        raise ValueError(f"it holds {end[zipfile._ECD_ENTRIES_TOTAL]} entries, more than the "
                         f"{MAX_ENTRIES} a submission may have")


def zip_entries(archive, problems):
    """[(posix path, size, read())] of an open zip's files, past the checks of the module's
    doc."""
    entries, count = {}, {}
    for info in archive.infolist():
        name = info.filename.replace('\\', '/')
        count[name] = count.get(name, 0) + 1
        if info.is_dir():
            continue
        path = PurePosixPath(name)
        mode = info.external_attr >> 16
        why = ("its path is absolute" if name.startswith('/') or ':' in path.parts[0] else
               "its path holds '..'" if '..' in path.parts else
               "it is a symlink" if stat.S_ISLNK(mode) else
               "it is encrypted" if info.flag_bits & 0x1 else
               f"it is deeper than {MAX_DEPTH} folders" if len(path.parts) > MAX_DEPTH else None)
        if why:
            problems.add(f"the zip entry {name[:80]!r} was skipped: {why}")
            continue
        entries[name] = (str(path), info.file_size,
                         lambda info=info: _read_member(archive, info))
    for name, times in count.items():
        if times > 1 and name in entries:
            problems.add(f"the zip holds {name[:80]!r} {times} times; none was read")
            del entries[name]
    return list(entries.values())


def _read_member(archive, info):
    with archive.open(info) as stream:
        return stream.read(MAX_FILE_BYTES + 1)


def pick_files(entries, problems):
    """{name: bytes}: the .py and .ipynb files of the folder holding loss.py, loss.py and
    optimizer.py first, within MAX_SUBMISSION_BYTES read in all."""
    entries = [(PurePosixPath(name), size, read) for name, size, read in entries
               if not any(part in SKIPPED_PARTS or part.startswith('._')
                          for part in PurePosixPath(name).parts)]
    homes = sorted({path.parent for path, _, _ in entries if path.name in STUDENT_FILES},
                   key=lambda folder: (len(folder.parts), str(folder)))
    if not homes:
        problems.add("the submission holds neither loss.py nor optimizer.py")
        return {}
    home = homes[0]
    mine = sorted((entry for entry in entries
                   if entry[0].parent == home and entry[0].suffix in READ_SUFFIXES),
                  key=lambda entry: (entry[0].name not in STUDENT_FILES, entry[0].name))
    files, total = {}, 0
    for path, size, read in mine:
        if size > MAX_FILE_BYTES:
            problems.add(f"{path.name} is {size} bytes, over the {MAX_FILE_BYTES >> 20} MiB a "
                         f"file may have; it was not read")
            continue
        try:
            data = read()
        except (OSError, ValueError, zipfile.BadZipFile, RuntimeError, EOFError,
                NotImplementedError) as err:
            problems.add(f"{path.name} could not be read ({err}); it was skipped")
            continue
        if len(data) > MAX_FILE_BYTES:
            problems.add(f"{path.name} is over the {MAX_FILE_BYTES >> 20} MiB a file may have; "
                         f"it was not read")
            continue
        if total + len(data) > MAX_SUBMISSION_BYTES:
            problems.add(f"{path.name} was not read: the files read came to over "
                         f"{MAX_SUBMISSION_BYTES >> 20} MiB")
            continue
        total += len(data)
        files[path.name] = data
    for name in STUDENT_FILES:
        if name not in files and not any(path.name == name for path, _, _ in mine):
            problems.add(f"{name} is missing from the submission (looked in "
                         f"{str(home) if str(home) != '.' else 'its top folder'})")
    return files
