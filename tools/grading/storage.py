"""What a graded run stores: measured while it runs (its quota), removed once it is over.

A run may keep DISK_QUOTA bytes in DISK_FILES files and folders. At the uid level, where nothing
can be mounted, the sandbox measures what the run's uid owns in the places it may write (its
scratch folder, the job's writable paths, and the folders everyone may write: /tmp, /var/tmp,
/dev/shm...), plus the files it deleted but holds open and its SysV shared memory and message
queues, and kills the run past the quota. After the run, what the uid left is removed (its SysV
objects by sandbox.py, as the uid: only their owner may remove them where root lacks
CAP_SYS_ADMIN, as in Docker).

Every walk here is iterative, bounded, opens nothing but folders (so a FIFO cannot block it) and
goes through no symlink (every step is relative to an open folder, with O_NOFOLLOW).
"""
import ctypes
import itertools
import os
import stat
from pathlib import Path

DISK_QUOTA = 512 << 20  # bytes a run may keep in files (more than sandbox.FILE_SIZE_LIMIT)
DISK_FILES = 10000  # files and folders a run may keep
MAX_DEPTH = 64  # folders a run may nest (each level of a walk holds a descriptor open)
MAX_WALK = 200000  # entries one measurement looks at, at most
FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
SYSV = {'shm': 'shmid', 'msg': 'msqid', 'sem': 'semid'}  # /proc/sysvipc/<kind>: its id column


def writable_places():
    """The folders everyone may write, where any user can leave files: /tmp and the others at the
    top of /, /var, /run and /dev (/var/tmp, /dev/shm, /run/lock, /dev/mqueue...). Found once;
    folders deeper down that everyone may write (rare) are not among them."""
    places = set()
    for top in ('/', '/var', '/run', '/dev'):
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False) and \
                        entry.stat(follow_symlinks=False).st_mode & stat.S_IWOTH:
                    places.add(entry.path)
            except OSError:
                continue
    return sorted(places)


def _walk(top, uid):
    """(folder's descriptor, name, lstat, depth) of each entry under the folder top that uid may
    have made. The walk goes into folders that uid owns or that everyone may write (every folder
    if uid is None), at most MAX_DEPTH deep. The caller may remove the entry it was given."""
    try:
        fd = os.open(top, FOLDER)
    except OSError:
        return
    stack = [(fd, os.scandir(fd), 1)]
    try:
        while stack:
            fd, entries, depth = stack[-1]
            try:
                entry = next(entries, None)
            except OSError:  # the folder went bad under us: what it held is not seen
                entry = None
            if entry is None:
                stack.pop()
                entries.close()
                os.close(fd)
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield fd, entry.name, info, depth
            if stat.S_ISDIR(info.st_mode) and depth < MAX_DEPTH and (
                    uid is None or info.st_uid == uid or info.st_mode & stat.S_IWOTH):
                try:
                    child = os.open(entry.name, FOLDER, dir_fd=fd)
                except OSError:
                    continue  # removed by the caller, or replaced by a symlink
                try:
                    stack.append((child, os.scandir(child), depth + 1))
                except OSError:
                    os.close(child)
    finally:
        for fd, entries, _ in stack:
            entries.close()
            os.close(fd)


class Usage:
    """What a run stores: bytes (allocated), files and folders, and whether its folders nest
    MAX_DEPTH deep (deeper ones would go unseen)."""

    def __init__(self):
        self.bytes, self.files, self.too_deep, self.seen = 0, 0, False, set()

    def add(self, info):
        if (info.st_dev, info.st_ino) in self.seen:  # a hard link to a file already counted
            return
        if info.st_nlink > 1:
            self.seen.add((info.st_dev, info.st_ino))
        self.bytes += info.st_blocks * 512
        self.files += 1


def measure(uid, places, pids=(), sysv=False, max_files=DISK_FILES):
    """The Usage of uid (everything, if uid is None) in places (folders or files), in the files
    the processes pids deleted but hold open, and if sysv in SysV shared memory and message
    queues. Stops counting files past max_files, and entries past MAX_WALK."""
    usage, walked = Usage(), 0
    for place in places:
        try:
            info = os.lstat(place)
        except OSError:
            continue
        if uid is None or info.st_uid == uid:
            usage.add(info)
        if not stat.S_ISDIR(info.st_mode):
            continue
        for _, _, info, depth in _walk(place, uid):
            walked += 1
            if uid is None or info.st_uid == uid:
                usage.add(info)
                usage.too_deep |= stat.S_ISDIR(info.st_mode) and depth >= MAX_DEPTH
            if usage.files > max_files or walked > MAX_WALK:
                return usage
    if uid is not None:
        usage.bytes += held_deleted(pids, uid)
    if sysv:
        usage.bytes += sum(size for _, _, size in sysv_objects(uid))
    return usage


def held_deleted(pids, uid):
    """Bytes of the regular files (memfd ones too) that pids hold open after deleting them.
    /proc/PID/fd of another user's process needs CAP_SYS_PTRACE, which root lacks in Docker:
    this thread looks as uid (setfsuid, which changes this thread only), as the owner may."""
    libc, total, seen = ctypes.CDLL(None, use_errno=True), 0, set()
    libc.setfsgid(uid)
    libc.setfsuid(uid)
    try:
        for pid in pids:
            try:
                names = os.listdir(f'/proc/{pid}/fd')
            except OSError:
                continue
            for name in names:
                try:
                    info = os.stat(f'/proc/{pid}/fd/{name}')  # the open file; never opened
                except OSError:
                    continue
                key = (info.st_dev, info.st_ino)
                if stat.S_ISREG(info.st_mode) and info.st_nlink == 0 and key not in seen:
                    seen.add(key)
                    total += info.st_blocks * 512
    finally:
        libc.setfsuid(0)
        libc.setfsgid(0)
    return total


def sysv_objects(uid):
    """[(kind, id, bytes held)] of the SysV shared memory segments ('shm'), message queues
    ('msg') and semaphore sets ('sem') that uid made or owns (in this IPC namespace)."""
    found = []
    for kind, id_column in SYSV.items():
        try:
            lines = Path('/proc/sysvipc', kind).read_text().splitlines()
        except OSError:
            continue
        header = lines[0].split()
        for line in lines[1:]:
            row = dict(zip(header, line.split()))
            if uid in (int(row['uid']), int(row['cuid'])):
                size = int(row.get('rss', 0)) + int(row.get('swap', 0)) + int(row.get('cbytes', 0))
                found.append((kind, int(row[id_column]), size))
    return found


def remove_owned(places, uid):
    """Remove everything uid owns under places (folders everyone may write); returns the paths
    that could not be removed (each with why)."""
    failed = []
    for place in places:
        for fd, name, info, _ in _walk(place, uid):
            if info.st_uid == uid:
                try:
                    _remove(fd, name)
                except OSError as err:
                    failed.append(f"{place}/.../{name}: {err.strerror}")
    return failed


def remove_tree(path):
    """Remove path (a file, a symlink or a folder and everything in it). No symlink is followed
    and no depth is too deep: see _empty. Nothing there is fine."""
    parent, name = os.path.split(os.path.abspath(path))
    fd = os.open(parent, FOLDER)
    try:
        _remove(fd, name)
    finally:
        os.close(fd)


def _remove(parent, name):
    """Remove name from the open folder parent, and all it holds."""
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=parent)
        return
    fd = os.open(name, FOLDER, dir_fd=parent)
    try:
        _empty(fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)


def _empty(fd):
    """Empty the open folder fd: remove its files, and move what each subfolder holds up into fd
    (then remove the subfolder), until nothing is left. However deep the tree, this needs no
    recursion and two descriptors; each entry moves up once per level it was nested."""
    numbers = itertools.count()

    def free_name():
        while True:
            name = f'.removing-{next(numbers)}'
            try:
                os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return name

    while True:
        names = os.listdir(fd)
        if not names:
            return
        progress, error = False, None
        for name in names:
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISDIR(info.st_mode):
                    os.unlink(name, dir_fd=fd)
                else:
                    sub = os.open(name, FOLDER, dir_fd=fd)
                    try:
                        for inner in os.listdir(sub):
                            os.rename(inner, free_name(), src_dir_fd=sub, dst_dir_fd=fd)
                    finally:
                        os.close(sub)
                    os.rmdir(name, dir_fd=fd)
                progress = True
            except FileNotFoundError:
                progress = True
            except OSError as err:
                error = err
        if not progress:
            raise error
