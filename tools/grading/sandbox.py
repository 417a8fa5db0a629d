"""Run a submission's code in a child process it cannot escape, and leave nothing running after.

Three levels, the strongest this machine allows (`--isolation auto`):
- namespace (root, and Linux lets it make namespaces): the code runs as an unprivileged user of
  its own, in new PID, network and mount namespaces, under a new root that holds the system
  folders (/usr, /etc, ...), python and its packages, read-only, and its job folder at /tmp/job:
  no kit, no other submission, no grades, no network. When it ends, the kernel kills every
  process it started.
- uid (root, no namespaces: a Docker container such as Gradescope's): the same user of its own,
  without the namespaces. Files readable by everyone stay readable, so keep the grader's files
  private (tools/gradescope.py's run_autograder does).
- none (not root): limits, a new session and cleanup, but the code runs as you and can read
  your files. Use it for your own tests, not to grade strangers.

Every level sets the limits (address space, CPU seconds, file size), refuses internet sockets
with a seccomp filter, gives the code a scratch folder and a small environment, and kills
whatever the code started once it is over. Where
root can make memory cgroups (not in Docker), all of a run's processes also share one memory
limit, so a submission cannot take more than it by starting many processes.

    python sandbox.py CONFIG   (the child side: set up, drop privileges, exec the command)
"""
import ctypes
import errno
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

MODES = ('namespace', 'uid', 'none')
UID_BASE = 61000  # each slot of -j runs as a uid of its own from here up (see claim_uid)
UID_LOCKS = '/tmp/grade-uid-locks'
MAX_PROCESSES = 64  # per slot user: bounds fork bombs in the uid levels
FILE_SIZE_LIMIT = 256 << 20
CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
SYSTEM_FOLDERS = ('usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'etc')
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
IO_URING_SETUP = 425  # the same number on x86_64 and aarch64
JOB_IN_NAMESPACE = '/tmp/job'


# ----------------------------------------------------------------------------------------------
# The child side: runs as the grader's user, sets everything up, then execs the command.

def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _call(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _call(_libc().mount(source and source.encode(), str(target).encode(),
                        fstype and fstype.encode(), ctypes.c_ulong(flags),
                        data and data.encode()), f"mount {target}")


def _bind(source, target, read_only=True):
    _mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)


def _refuse_internet_sockets():
    """A seccomp filter: socket(AF_INET or AF_INET6, ...) fails with EACCES, here and in every
    process started from here, whatever it runs (a Python audit hook binds this Python only).
    Needs no privilege, only no_new_privs first; works in Docker. Returns False where the
    machine is not one it knows (x86_64, aarch64)."""
    known = {'x86_64': (0xC000003E, 41), 'aarch64': (0xC00000B7, 198)}  # audit arch, socket()
    if platform.machine() not in known:
        return False
    arch, socket_call = known[platform.machine()]
    load, jump_if_equal, jump_if_above_or_equal, give = 0x20, 0x15, 0x35, 0x06
    allow, refuse = 0x7FFF0000, 0x00050000 | errno.EACCES  # SECCOMP_RET_ALLOW, _ERRNO
    program = [
        (load, 0, 0, 4),                          # 0: the architecture of the call
        (jump_if_equal, 1, 0, arch),              # 1: ours: go on at 3
        (give, 0, 0, refuse),                     # 2: another (32-bit calls): refused
        (load, 0, 0, 0),                          # 3: the call's number
        (jump_if_above_or_equal, 6, 0, 0x40000000),  # 4: the x32 numbers: refused (at 11)
        (jump_if_equal, 5, 0, IO_URING_SETUP),    # 5: io_uring can open sockets: refused
        (jump_if_equal, 0, 3, socket_call),       # 6: socket(): go on at 7, else allowed
        (load, 0, 0, 16),                         # 7: its first argument, the domain
        (jump_if_equal, 2, 0, socket.AF_INET),    # 8: refused (at 11)
        (jump_if_equal, 1, 0, socket.AF_INET6),   # 9: refused (at 11)
        (give, 0, 0, allow),                      # 10
        (give, 0, 0, refuse),                     # 11
    ]

    class Filter(ctypes.Structure):
        _fields_ = [('code', ctypes.c_ushort), ('jt', ctypes.c_ubyte), ('jf', ctypes.c_ubyte),
                    ('k', ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(Filter))]

    filters = (Filter * len(program))(*[Filter(*line) for line in program])
    fprog = Program(len(program), filters)
    _call(_libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
          "prctl(PR_SET_SECCOMP)")
    return True


def _wait_for(pid):
    """The exit status of child pid, 128 + N if signal N killed it (as shells say)."""
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _enter_namespaces(config):
    """New mount, network and PID namespaces, and a new root holding only the system, python
    and the job folder (at /tmp/job). Returns the job folder's path there."""
    job = config['job']
    _call(_libc().unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID), "unshare")
    _mount(None, '/', None, MS_REC | MS_PRIVATE)
    root = os.path.join(job, '.root')
    os.mkdir(root, 0o755)
    _mount('tmpfs', root, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=256m,mode=755')
    for name in SYSTEM_FOLDERS:
        source, target = '/' + name, os.path.join(root, name)
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)
        elif os.path.isdir(source):
            os.mkdir(target, 0o755)
            _bind(source, target)
    os.mkdir(os.path.join(root, 'proc'), 0o555)
    os.mkdir(os.path.join(root, 'tmp'))
    os.chmod(os.path.join(root, 'tmp'), 0o1777)
    for path in config['expose']:  # python and its packages, wherever they are (even in /tmp)
        target = root + path
        if not os.path.isdir(target) or not os.listdir(target):
            os.makedirs(target, 0o755, exist_ok=True)
            _bind(path, target)
    os.mkdir(os.path.join(root, 'dev'), 0o755)
    _bind('/dev', os.path.join(root, 'dev'), read_only=False)
    if os.path.isdir(os.path.join(root, 'dev', 'shm')):
        _mount('tmpfs', os.path.join(root, 'dev', 'shm'), 'tmpfs', MS_NOSUID | MS_NODEV,
               'size=64m,mode=1777')
    os.mkdir(root + JOB_IN_NAMESPACE, 0o755)
    _mount(job, root + JOB_IN_NAMESPACE, None, MS_BIND)
    pid = os.fork()
    if pid:  # stay outside the new PID namespace until its first process ends
        os._exit(_wait_for(pid))
    # The namespace's first process (its init): it only waits for the command, in a child of
    # its own, so that the command is an ordinary process (init ignores signals it has no
    # handler for). When init ends, the kernel kills whatever is left in the namespace.
    _call(_libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    _mount('proc', os.path.join(root, 'proc'), 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chroot(root)
    pid = os.fork()
    if pid:
        os._exit(_wait_for(pid))
    return JOB_IN_NAMESPACE


def launch(config):
    """Set up as config says and exec config['command'] (with '{job}' replaced)."""
    job = config['job']
    _call(_libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    if os.getppid() != config['grader']:  # the grader died before that: stop here
        os._exit(1)
    if config['cgroup']:  # first, so that everything started from here on is in it
        with open(os.path.join(config['cgroup'], 'cgroup.procs'), 'w') as procs:
            procs.write(str(os.getpid()))
    if config['mode'] == 'namespace':
        job = _enter_namespaces(config)
    limits = config['limits']
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_AS, (limits['memory'], limits['memory']))
    resource.setrlimit(resource.RLIMIT_CPU, (limits['cpu'], limits['cpu'] + 5))
    if config['mode'] in ('namespace', 'uid'):
        uid = config['uid']
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        _call(_libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    _call(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
    _refuse_internet_sockets()
    os.chdir(job)
    env = {**config['env'], 'HOME': job, 'TMPDIR': '/tmp'}
    command = [part.replace('{job}', job) for part in config['command']]
    os.execve(command[0], command, env)


# ----------------------------------------------------------------------------------------------
# The grader's side.

class Output:
    """The first head and last tail bytes of a stream, and how many bytes it held."""

    def __init__(self, head, tail):
        self.head_limit, self.head, self.tail, self.total = head, bytearray(), deque(), 0
        self.tail_limit, self.tail_size = tail, 0

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


def processes_of(uid=None, session=None, parent=None, zombies=False):
    """pids whose real, effective, saved or fs uid is uid, or whose session or parent is given
    (zombies too if zombies)."""
    found = []
    for entry in os.scandir('/proc'):
        if not entry.name.isdigit():
            continue
        try:
            if uid is not None:
                status = Path(entry.path, 'status').read_text()
                uids = next(line for line in status.splitlines() if line.startswith('Uid:'))
                if str(uid) in uids.split()[1:]:
                    found.append(int(entry.name))
            else:
                fields = Path(entry.path, 'stat').read_text().rsplit(')', 1)[1].split()
                if (session is not None and int(fields[3]) == session) or \
                        (parent is not None and int(fields[1]) == parent
                         and (zombies or fields[0] != 'Z')):
                    found.append(int(entry.name))
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return found


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class Sandbox:
    """Starts commands at one isolation level; run() returns (exit status, Output)."""

    def __init__(self, mode):
        self.mode = mode
        self.active = set()  # pids of our running launchers (the 'none' level's orphan sweep)
        self.lock = threading.Lock()
        self.uids, self.claims = {}, []
        self.memory_root, self.groups = (own_memory_cgroup() if os.geteuid() == 0 else None), 0
        if mode == 'none':
            _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
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
        """Give job and the writable paths in it to the slot's user (root levels); everything
        else in job stays the grader's, readable but not writable."""
        if self.mode == 'none':
            return
        uid = self.uid(slot)
        for path in [job, *writable]:
            os.chown(path, uid, uid)

    def run(self, job, command, slot, limits, env, watch, output, pass_fds=()):
        """Run command (a list; '{job}' stands for the job folder) with limits.

        watch() is called every 20 ms while it runs; when it returns True, the run is killed.
        What it prints goes into output (an Output). The file descriptors in pass_fds stay open,
        with the same numbers, in the command (through the launcher's forks and exec). Returns
        (exit status, None if killed; output).
        """
        group = self.memory_group(limits['memory'])
        config = {'mode': self.mode, 'job': str(job), 'command': command, 'env': env,
                  'limits': limits, 'uid': self.uid(slot), 'expose': self.expose,
                  'cgroup': group, 'grader': os.getpid()}
        process = subprocess.Popen(
            [sys.executable, '-I', '-B', __file__, json.dumps(config)], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, cwd=job,
            pass_fds=pass_fds)
        with self.lock:
            self.active.add(process.pid)
        pump = threading.Thread(target=_pump, args=(process.stdout, output), daemon=True)
        pump.start()
        killed = False
        try:
            while process.poll() is None:
                if watch():
                    killed = True
                    break
                time.sleep(0.02)
        finally:
            self.clean_up(process, slot)
            with self.lock:
                self.active.discard(process.pid)
            remove_group(group)
        pump.join(timeout=5)  # a process that escaped would keep it reading: let it be
        return (None if killed else process.returncode), output

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

    def clean_up(self, process, slot):
        """Kill the run and everything it started, wherever it went (new sessions included)."""
        for _ in range(100):
            pids = [process.pid] if process.poll() is None else []
            pids += processes_of(session=process.pid)
            if self.mode == 'none':
                with self.lock:
                    pids += [pid for pid in processes_of(parent=os.getpid())
                             if pid not in self.active]
            else:
                pids += processes_of(uid=self.uid(slot))
            if not pids:
                break
            kill_all(pids)
            time.sleep(0.01)
            reap_orphans(self.active)
        process.wait()
        reap_orphans(self.active)


def reap_orphans(active):
    """Collect dead processes reparented to us (the 'none' level makes us their subreaper)."""
    for pid in processes_of(parent=os.getpid(), zombies=True):
        if pid not in active:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


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


if __name__ == '__main__':
    launch(json.loads(sys.argv[1]))
