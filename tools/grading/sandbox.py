"""Run a submission's code in a child process it cannot escape, and leave nothing of it after.

Three levels, the strongest this machine allows (`--isolation auto`). What each guarantees:
- namespace (root, and Linux lets it make namespaces): the code runs as a uid of its own (one per
  -j slot), in new PID, network, IPC and mount namespaces, under a new root that holds the
  system folders (/usr, /etc, ...), python and its packages, read-only, a few devices (null,
  zero, full, random, urandom) and its job folder at /job: no kit, no other submission, no
  grades, no network. All it may write there (/tmp, /dev/shm and its scratch folder) is one
  tmpfs of storage.DISK_QUOTA bytes and DISK_FILES files (a write past them fails: "No space
  left on device"), gone with the namespace, as are its SysV and POSIX IPC objects; the job's
  writable paths, on the grader's disk, are watched as at the uid level. When it ends, the
  kernel kills every process it started.
- uid (root, no namespaces: a Docker container such as Gradescope's): the same uid of its own,
  without the namespaces. Its job folder is private to its slot (root's, readable by the slot's
  group only; the scratch folder and writable paths are the slot user's, mode 0700), under a
  folder others cannot list, so one slot cannot read another's code. A watcher measures what
  the uid stores (its scratch folder, the job's writable paths, /tmp, /var/tmp, /dev/shm and the
  other folders everyone may write, files it deleted but holds open, SysV shared memory and
  queues) every SWEEP_SECONDS and kills the run past the quota (bytes, files, or folders
  nested storage.MAX_DEPTH deep). After the run, every process of the uid is killed at once
  (kill(-1) as that uid, which no fork outruns), and its files in those folders and its SysV
  objects are removed. Not guaranteed: files readable by everyone stay readable (keep the
  grader's files private: tools/gradescope.py's run_autograder does); a folder everyone may
  write deeper than /tmp, /var/..., /run/... or /dev/... is not watched; what it writes between
  two looks of the watcher goes past the quota until the next.
- none (not root): limits, the quota on its scratch folder and the job's writable paths, and
  clean-up: a PID namespace of its own (in a user namespace) where the kernel allows one, else
  the grader, as subreaper, finds and kills what it started. The code runs as you and can read
  and write your files; what it leaves in /tmp or in SysV IPC is not removed (nothing tells
  its files from yours or from another slot's). Use it for your own tests, not for strangers.

Every level sets the limits (address space, CPU seconds, file size, no POSIX message queues),
refuses every socket but an unnamed socketpair(AF_UNIX) (a seccomp filter, for the code and
all it starts, whatever they run), gives the code a scratch folder as $HOME and $TMPDIR, JOB/code
as its working directory, a small environment, and kills whatever the code started once it is
over, within KILL_SECONDS, whatever it does (Ctrl-C in grade.py ends a run the same way). Where
root can make memory cgroups (not in Docker), all of a run's processes also share one memory
limit, so a submission cannot take more than it by starting many processes.

confine.py is the child side, which sets a run up and execs its command; this module is the
grader's side, which starts, watches and cleans up after it.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from . import storage
from .confine import PR_SET_CHILD_SUBREAPER, SCRATCH, libc

MODES = ('namespace', 'uid', 'none')
UID_BASE = 61000  # each slot of -j runs as a uid of its own from here up (see claim_uid)
UID_LOCKS = '/tmp/grade-uid-locks'
SWEEP_SECONDS = 0.2  # how often the watcher measures what a run stores
KILL_SECONDS = 10  # how long the clean-up may take before it gives up and says so
CONFINE = Path(__file__).resolve().with_name('confine.py')  # the child side, run alone


class Output:
    """The first head and last tail bytes of a stream, and how many bytes it held; stopped says
    why the sandbox stopped the run, if it did (the run stored more than its quota)."""

    def __init__(self, head, tail):
        self.head_limit, self.head, self.tail, self.total = head, bytearray(), deque(), 0
        self.tail_limit, self.tail_size = tail, 0
        self.stopped = None

    def add(self, data):
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail.append(bytes(data))
            self.tail_size += len(data)
            while self.tail and self.tail_size - len(self.tail[0]) >= self.tail_limit:
                self.tail_size -= len(self.tail.popleft())

    def text(self):
        tail = b''.join(self.tail)[-self.tail_limit:] if self.tail_limit else b''
        skipped = self.total - len(self.head) - len(tail)
        middle = f"\n[... {skipped} bytes not shown ...]\n".encode() if skipped else b''
        return (bytes(self.head) + middle + tail).decode('utf-8', errors='replace')


def _pump(stream, output):
    """Read stream into output until every process holding its other end has gone; then close
    it (here: closing it from another thread would wait for this read)."""
    try:
        while True:
            data = os.read(stream.fileno(), 65536)
            if not data:
                break
            output.add(data)
    except OSError:
        pass
    stream.close()


def process_table():
    """{pid: (parent pid, state letter, (real, effective, saved, fs) uids)} of every process."""
    table = {}
    for entry in os.scandir('/proc'):
        if not entry.name.isdigit():
            continue
        try:
            fields = {}
            for line in Path(entry.path, 'status').read_text().splitlines():
                name, _, value = line.partition(':')
                fields[name] = value.split()
                if name == 'Uid':  # after State and PPid
                    break
            table[int(entry.name)] = (int(fields['PPid'][0]), fields['State'][0],
                                      tuple(int(uid) for uid in fields['Uid']))
        except (OSError, KeyError, IndexError, ValueError):
            continue
    return table


def processes_of(uid, table=None):
    """The live (not zombie) processes whose real, effective, saved or fs uid is uid."""
    table = process_table() if table is None else table
    return [pid for pid, (_, state, uids) in table.items() if uid in uids and state != 'Z']


def descendants(table, roots):
    """roots and every process under them in table (a process_table)."""
    children = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = set(), list(roots)
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack += children.get(pid, [])
    return found & table.keys()


AS_SLOT_USER = """
import ctypes, os, sys
uid = int(sys.argv[1])
os.setgroups([])
os.setgid(uid)
os.setuid(uid)
libc = ctypes.CDLL(None)
for task in sys.argv[2:]:
    if task == 'kill':  # every process of this user but this one, in one step
        os.kill(-1, 9)
    else:  # a SysV IPC object, 'shm:ID', 'msg:ID' or 'sem:ID', which this user owns: IPC_RMID
        kind, ident = task.split(':')
        if kind == 'sem':
            libc.semctl(int(ident), 0, 0)
        else:
            getattr(libc, kind + 'ctl')(int(ident), 0, None)
"""


def as_slot_user(uid, tasks):
    """Do tasks as uid, in a process of our python that drops to uid first: what only its owner
    may do where root lacks capabilities (Docker gives no CAP_SYS_ADMIN, so no IPC_RMID of
    another user's object). 'kill' kills every process of uid at once: kill(-1) reaches them
    all in one step, which no fork outruns (a loop of kills by pid can lose to a fork bomb;
    RLIMIT_NPROC counts per user, so this also frees the slot for its next run)."""
    try:
        subprocess.run([sys.executable, '-I', '-S', '-c', AS_SLOT_USER, str(uid), *tasks],
                       env={}, cwd='/', stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=KILL_SECONDS)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def _mib(size):
    return f"{size / (1 << 20):g} MiB"


class Sandbox:
    """Starts commands at one isolation level; run() returns (exit status, Output)."""

    def __init__(self, mode):
        self.mode = mode
        self.active = set()  # pids of our running launchers, which no sweep may reap
        self.lock = threading.Lock()
        self.uids, self.claims = {}, []
        self.places = {}  # job folder: the paths its run may write (prepare), for the watcher
        self.memory_root, self.groups = (own_memory_cgroup() if os.geteuid() == 0 else None), 0
        self.shared = storage.writable_places() if mode == 'uid' else []
        libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # what a run orphans comes to us
        self.expose = python_paths()

    def uid(self, slot):
        """The uid of slot: a uid no account has and no other grader on this machine uses."""
        if self.mode == 'none':
            return None
        with self.lock:
            if slot not in self.uids:
                self.uids[slot] = claim_uid(set(self.uids.values()), self.claims)
            return self.uids[slot]

    def prepare(self, job, slot, writable=()):
        """Ready job, a folder the grader wrote, for one run in slot: the code may write the
        writable paths in it and a new scratch folder, JOB/scratch. At the root levels job
        becomes private to the slot: its folders are root's with the slot's group, mode 0750,
        its files 0640; the writable paths and the scratch folder are the slot user's, 0700
        (folders) or 0600 (files). Keep job's parent unlistable by others (mode 0711)."""
        job = Path(job)
        (job / SCRATCH).mkdir(mode=0o700, exist_ok=True)
        own = [str(job / SCRATCH)] + [str(path) for path in writable]
        with self.lock:
            self.places[str(job)] = own + self.shared
        if self.mode == 'none':
            return
        uid, grader = self.uid(slot), os.geteuid()
        for folder, _, files in os.walk(job):
            os.chown(folder, grader, uid)
            os.chmod(folder, 0o750)
            for path in [os.path.join(folder, name) for name in files]:
                if not os.path.islink(path):
                    os.chown(path, grader, uid)
                    os.chmod(path, 0o640)
        for path in own:
            os.chown(path, uid, uid)
            os.chmod(path, 0o700 if os.path.isdir(path) else 0o600)

    def run(self, job, command, slot, limits, env, watch, output, pass_fds=()):
        """Run command (a list; '{job}' stands for the job folder) in job, which prepare()
        readied, with limits: 'memory' and 'cpu', and the quota, 'disk' (bytes) and 'files'
        (storage.DISK_QUOTA and DISK_FILES if not given).

        watch() is called every 20 ms while it runs; when it returns True, the run is killed.
        It is killed too when it stores more than its quota, and output.stopped says so. What
        it prints goes into output (an Output). The descriptors pass_fds stay open in the
        command. Returns (exit status, None if killed; output).
        """
        job, uid = str(job), self.uid(slot)
        with self.lock:
            places = self.places.pop(job, None)
        if places is None:
            raise ValueError(f"{job}: call Sandbox.prepare(job, slot) before each run")
        quota = limits.get('disk', storage.DISK_QUOTA), limits.get('files', storage.DISK_FILES)
        group = self.memory_group(limits['memory'])
        config = {'mode': self.mode, 'job': job, 'command': command, 'env': env,
                  'limits': limits, 'uid': uid, 'expose': self.expose, 'cgroup': group,
                  'grader': os.getpid(), 'disk': quota[0], 'files': quota[1]}
        with self.lock:  # one that ends at once must not be reaped as an orphan before this
            process = subprocess.Popen(
                [sys.executable, '-I', '-B', str(CONFINE)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=job, pass_fds=pass_fds)
            self.active.add(process.pid)
        try:
            process.stdin.write(json.dumps(config).encode())
            process.stdin.close()
        except BrokenPipeError:
            pass  # it stopped at once (the grader is not its parent): its status says so
        pump = threading.Thread(target=_pump, args=(process.stdout, output), daemon=True)
        pump.start()
        killed, sweep = False, time.monotonic() + SWEEP_SECONDS
        output.stopped = None
        try:
            while process.poll() is None:
                if watch():
                    killed = True
                    break
                if time.monotonic() >= sweep:
                    output.stopped = self.over_quota(uid, places, *quota)
                    if output.stopped:
                        killed = True
                        break
                    sweep = time.monotonic() + SWEEP_SECONDS
                time.sleep(0.02)
        finally:
            self.clean_up(process, uid)
            with self.lock:
                self.active.discard(process.pid)
            remove_group(group)
            self.remove_leftovers(job, uid)
        pump.join(timeout=5)  # a process that escaped would keep it reading: let it be
        return (None if killed else process.returncode), output

    def over_quota(self, uid, places, disk, files):
        """Why the run stores too much, for its feedback; None if it does not."""
        pids = processes_of(uid) if uid is not None else []
        usage = storage.measure(uid, places, pids, sysv=self.mode == 'uid', max_files=files)
        if usage.bytes > disk:
            return (f"its files came to more than {_mib(disk)}, the limit for one run, so it was "
                    f"stopped")
        if usage.files > files:
            return (f"it made more than {files} files and folders, the limit for one run, so it "
                    f"was stopped")
        if usage.too_deep:
            return (f"it nested folders {storage.MAX_DEPTH} deep, the limit for one run, so it "
                    f"was stopped")
        return None

    def memory_group(self, limit):
        """A new memory cgroup holding all a run's processes to limit bytes together, or None
        where cgroups cannot be made (not root, or a read-only /sys/fs/cgroup as in Docker):
        then only each process is limited (RLIMIT_AS)."""
        if self.memory_root is None:
            return None
        with self.lock:
            self.groups += 1
            path = os.path.join(self.memory_root, f'grade-{os.getpid()}-{self.groups}')
        try:
            os.mkdir(path)
            for name, value in (('memory.limit_in_bytes', limit), ('memory.max', limit),
                                ('memory.swap.max', 0)):
                if os.path.exists(os.path.join(path, name)):
                    Path(path, name).write_text(str(value))
        except OSError:
            remove_group(path)
            self.memory_root = None  # it will not work next time either
            return None
        return path

    def clean_up(self, process, uid):
        """Kill the run and everything it started, wherever it went (new sessions, double
        forks), and at the root levels every process of its uid; reap what comes to us. Gives up
        after KILL_SECONDS, and says so on stderr."""
        deadline = time.monotonic() + KILL_SECONDS
        while True:
            table = process_table()
            roots = {process.pid}
            if self.mode == 'none':  # what it orphaned came to us, unless it had a namespace
                with self.lock:
                    roots |= {pid for pid, (parent, _, _) in table.items()
                              if parent == os.getpid() and pid not in self.active}
            run = descendants(table, roots)
            mine = set(processes_of(uid, table)) if uid is not None else set()
            alive = [pid for pid in run | mine if table[pid][1] != 'Z']
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if mine:
                as_slot_user(uid, ['kill'])
            self.reap(table)
            process.poll()
            if not alive:
                break
            if time.monotonic() > deadline:
                print(f"sandbox: {len(alive)} processes of a run outlived {KILL_SECONDS} s of "
                      f"killing: {sorted(alive)[:20]}", file=sys.stderr)
                break
            time.sleep(0.01)
        try:
            process.wait(timeout=KILL_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"sandbox: the launcher {process.pid} does not die", file=sys.stderr)

    def reap(self, table):
        """Collect the zombies in table that are our children but no launcher of ours."""
        with self.lock:
            for pid, (parent, state, _) in table.items():
                if parent == os.getpid() and state == 'Z' and pid not in self.active:
                    try:
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass

    def remove_leftovers(self, job, uid):
        """After a run: remove its scratch folder, and at the uid level what its uid left in
        the folders everyone may write (/tmp, /var/tmp, /dev/shm...) and its SysV IPC objects
        (the namespace level's went with its namespaces). Says on stderr what stays."""
        problems = []
        try:
            storage.remove_tree(os.path.join(job, SCRATCH))
        except OSError as err:
            problems.append(f"{job}/{SCRATCH}: {err}")
        if self.mode == 'uid':
            problems += storage.remove_owned(self.shared, uid)
            objects = [f'{kind}:{ident}' for kind, ident, _ in storage.sysv_objects(uid)]
            if objects and not (as_slot_user(uid, objects) and not storage.sysv_objects(uid)):
                problems.append(f"SysV IPC objects of uid {uid}: {', '.join(objects)}")
        if problems:
            print(f"sandbox: could not remove what a run left: {'; '.join(problems)}",
                  file=sys.stderr)


def own_memory_cgroup():
    """The folder of this process's memory cgroup (v1 or v2), or None."""
    try:
        lines = Path('/proc/self/cgroup').read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        number, controllers, path = line.split(':', 2)
        if 'memory' in controllers.split(','):
            folder = '/sys/fs/cgroup/memory' + path
            return folder if os.path.isdir(folder) else None
    for line in lines:  # v2: one hierarchy, and the memory controller must be on
        if line.startswith('0::'):
            folder = '/sys/fs/cgroup' + line[3:]
            try:
                if 'memory' in Path('/sys/fs/cgroup/cgroup.controllers').read_text().split():
                    return folder
            except OSError:
                return None
    return None


def remove_group(path):
    """Remove the cgroup path once its processes are gone (they were killed just before)."""
    if path is None:
        return
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def claim_uid(taken, claims):
    """A uid from UID_BASE up that has no account, is not in taken and that we could lock
    (UID_LOCKS/<uid>, held until this process ends): two graders at once never share a uid,
    so neither kills the other's processes when it cleans up."""
    import fcntl
    import pwd
    os.makedirs(UID_LOCKS, mode=0o700, exist_ok=True)
    for uid in range(UID_BASE, UID_BASE + 10000):
        if uid in taken:
            continue
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            pass
        handle = open(os.path.join(UID_LOCKS, str(uid)), 'a')
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        claims.append(handle)
        return uid
    raise RuntimeError(f"no free uid from {UID_BASE}: remove stale locks in {UID_LOCKS}")


def python_paths():
    """Folders the child's python needs: its installation and its packages."""
    import site

    import numpy
    paths = {sys.base_prefix, sys.prefix, sys.exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)),
             str(Path(numpy.__file__).resolve().parent.parent)}
    paths |= {path for path in site.getsitepackages() if os.path.isdir(path)}
    paths = {str(Path(path).resolve()) for path in paths}
    return sorted(path for path in paths
                  if not any(Path(path).is_relative_to(other) and path != other
                             for other in paths))
