"""The child side of the sandbox: set up one run's process as sandbox.py asks, then exec.

    python -I confine.py < CONFIG   (started by sandbox.Sandbox: its configuration comes on
                                     stdin, never on a command line, which every process may
                                     read in /proc)

In this order: join the run's memory cgroup; at the namespace level enter new PID, network, IPC
and mount namespaces under a new root, at the none level a PID namespace of its own where the
kernel allows one; set the limits; at the namespace and uid levels become the slot's uid; refuse
sockets (a seccomp filter); exec the command in the job folder. sandbox.py says what each level
guarantees. Started as a script under python -I, it imports nothing of the grader's.
"""
import ctypes
import errno
import json
import os
import platform
import resource
import signal
import socket
import sys
from pathlib import Path

MAX_PROCESSES = 64  # per slot user: bounds fork bombs in the uid levels
FILE_SIZE_LIMIT = 256 << 20
SCRATCH = 'scratch'  # JOB/scratch: the code's $HOME and $TMPDIR
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE, MNT_DETACH = 4096, 16384, 1 << 18, 2
SYSTEM_FOLDERS = ('usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'etc')
DEVICES = ('null', 'zero', 'full', 'random', 'urandom')
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
IO_URING_SETUP = 425  # the same number on x86_64 and aarch64
JOB_IN_NAMESPACE = '/job'


def libc():
    return ctypes.CDLL(None, use_errno=True)


def _call(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _call(libc().mount(source and source.encode(), str(target).encode(),
                        fstype and fstype.encode(), ctypes.c_ulong(flags),
                        data and data.encode()), f"mount {target}")


def _bind(source, target, read_only=True):
    _mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)


def _refuse_sockets():
    """A seccomp filter: socket() of any family (Unix-domain, internet, netlink, vsock...) and
    io_uring fail with EACCES, here and in every process started from here, whatever it runs (a
    Python audit hook binds this Python only). socketpair(AF_UNIX) stays: an unnamed pair joins
    only processes that hold its ends, the run's own, and multiprocessing.Pipe() needs it.
    Needs no privilege, only no_new_privs first; works in Docker. Returns False where the
    machine is not one it knows (x86_64, aarch64)."""
    known = {'x86_64': (0xC000003E, 41, 53), 'aarch64': (0xC00000B7, 198, 199)}
    if platform.machine() not in known:
        return False
    arch, socket_call, socketpair_call = known[platform.machine()]
    load, jump_if_equal, jump_if_above_or_equal, give = 0x20, 0x15, 0x35, 0x06
    allow, refuse = 0x7FFF0000, 0x00050000 | errno.EACCES  # SECCOMP_RET_ALLOW, _ERRNO
    program = [  # (code, jump if true, jump if false, k): a jump skips that many lines
        (load, 0, 0, 4),                             # 0: the architecture of the call
        (jump_if_equal, 1, 0, arch),                 # 1: ours: go on at 3
        (give, 0, 0, refuse),                        # 2: another (32-bit calls): refused
        (load, 0, 0, 0),                             # 3: the call's number
        (jump_if_above_or_equal, 7, 0, 0x40000000),  # 4: the x32 numbers: refused (at 12)
        (jump_if_equal, 6, 0, IO_URING_SETUP),       # 5: io_uring can open sockets: refused
        (jump_if_equal, 5, 0, socket_call),          # 6: socket(): refused
        (jump_if_equal, 1, 0, socketpair_call),      # 7: socketpair(): look at it (at 9)
        (give, 0, 0, allow),                         # 8: any other call
        (load, 0, 0, 16),                            # 9: socketpair's first argument, the domain
        (jump_if_equal, 0, 1, socket.AF_UNIX),       # 10: AF_UNIX: allowed, else refused
        (give, 0, 0, allow),                         # 11
        (give, 0, 0, refuse),                        # 12
    ]

    class Filter(ctypes.Structure):
        _fields_ = [('code', ctypes.c_ushort), ('jt', ctypes.c_ubyte), ('jf', ctypes.c_ubyte),
                    ('k', ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(Filter))]

    filters = (Filter * len(program))(*[Filter(*line) for line in program])
    fprog = Program(len(program), filters)
    _call(libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
          "prctl(PR_SET_SECCOMP)")
    return True


def _wait_for(pid):
    """The exit status of child pid, 128 + N if signal N killed it (as shells say)."""
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _start_pid_namespace(set_up_init=None):
    """Once unshare(CLONE_NEWPID) is done: fork the namespace's first process (its init), which
    runs set_up_init(), then forks the command's process and returns in it. The init only reaps
    (the command is an ordinary process: init ignores signals it has no handler for); when the
    command ends, so does init, and the kernel kills whatever is left in the namespace. The
    process outside waits for init and ends with its status."""
    pid = os.fork()
    if pid:
        os._exit(_wait_for(pid))
    _call(libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    if set_up_init:
        set_up_init()
    command = os.fork()
    if command:
        while True:  # reap orphans too: their zombies would count against RLIMIT_NPROC
            pid, status = os.wait()
            if pid == command:
                code = os.waitstatus_to_exitcode(status)
                os._exit(128 - code if code < 0 else code)


def _enter_namespaces(config):
    """New mount, network, IPC and PID namespaces, and a new root holding only the system,
    python, a few devices, the job folder (at /job) and one tmpfs of config['disk'] bytes for
    /tmp, /dev/shm and the scratch folder. Returns the job folder's path there."""
    job, uid = config['job'], config['uid']
    _call(libc().unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID), "unshare")
    _mount(None, '/', None, MS_REC | MS_PRIVATE)
    root = os.path.join(job, '.root')
    os.mkdir(root, 0o755)
    _mount('tmpfs', root, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=4m,mode=755')
    for name in SYSTEM_FOLDERS:
        source, target = '/' + name, os.path.join(root, name)
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)
        elif os.path.isdir(source):
            os.mkdir(target, 0o755)
            _bind(source, target)
    os.mkdir(os.path.join(root, 'proc'), 0o555)
    # Everything the code may write, in one tmpfs: its size and inodes are the run's quota.
    store = os.path.join(root, '.store')
    os.mkdir(store, 0o700)
    _mount('tmpfs', store, 'tmpfs', MS_NOSUID | MS_NODEV,
           f"size={config['disk']},nr_inodes={config['files']},mode=755")
    for name, mode in (('tmp', 0o1777), ('shm', 0o1777), (SCRATCH, 0o700)):
        os.mkdir(os.path.join(store, name))
        os.chmod(os.path.join(store, name), mode)
    os.chown(os.path.join(store, SCRATCH), uid, uid)
    os.mkdir(os.path.join(root, 'tmp'))
    _bind(os.path.join(store, 'tmp'), os.path.join(root, 'tmp'), read_only=False)
    dev = os.path.join(root, 'dev')
    os.mkdir(dev, 0o755)
    _mount('tmpfs', dev, 'tmpfs', MS_NOSUID | MS_NOEXEC, 'size=64k,mode=755')
    for name in DEVICES:
        open(os.path.join(dev, name), 'w').close()
        _bind('/dev/' + name, os.path.join(dev, name), read_only=False)
    for name, target in (('fd', '/proc/self/fd'), ('stdin', '/proc/self/fd/0'),
                         ('stdout', '/proc/self/fd/1'), ('stderr', '/proc/self/fd/2')):
        os.symlink(target, os.path.join(dev, name))
    os.mkdir(os.path.join(dev, 'shm'))
    _bind(os.path.join(store, 'shm'), os.path.join(dev, 'shm'), read_only=False)
    for path in config['expose']:  # python and its packages, wherever they are (even in /tmp)
        target = root + path
        if not os.path.isdir(target) or not os.listdir(target):
            os.makedirs(target, 0o755, exist_ok=True)
            _bind(path, target)
    os.mkdir(root + JOB_IN_NAMESPACE, 0o755)
    _mount(job, root + JOB_IN_NAMESPACE, None, MS_BIND)
    _bind(os.path.join(store, SCRATCH), root + JOB_IN_NAMESPACE + '/' + SCRATCH, read_only=False)
    _call(libc().umount2(store.encode(), MNT_DETACH), "umount")  # its binds keep the tmpfs
    os.rmdir(store)

    def set_up_init():
        _mount('proc', os.path.join(root, 'proc'), 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC)
        os.chroot(root)

    _start_pid_namespace(set_up_init)
    return JOB_IN_NAMESPACE


def _enter_own_pid_namespace():
    """The none level: a PID namespace, in a user namespace that maps us to ourselves (we are
    not root), so that the kernel kills all the run started when it ends. Where the kernel
    refuses (user namespaces off or restricted), nothing: the grader's sweep is all there is."""
    uid, gid = os.getuid(), os.getgid()

    def enter(flags):
        _call(libc().unshare(CLONE_NEWUSER | flags), "unshare")
        Path('/proc/self/setgroups').write_text('deny')
        Path('/proc/self/uid_map').write_text(f'{uid} {uid} 1')
        Path('/proc/self/gid_map').write_text(f'{gid} {gid} 1')

    probe = os.fork()  # a refused map cannot be undone: try it in a process of its own first
    if probe == 0:
        try:
            enter(0)
        except OSError:
            os._exit(1)
        os._exit(0)
    if _wait_for(probe) == 0:
        enter(CLONE_NEWPID)
        _start_pid_namespace()


def launch(config):
    """Set up as config says and exec config['command'] (with '{job}' replaced)."""
    job = config['job']
    _call(libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    if os.getppid() != config['grader']:  # the grader died before that: stop here
        os._exit(1)
    if config['cgroup']:  # first, so that everything started from here on is in it
        with open(os.path.join(config['cgroup'], 'cgroup.procs'), 'w') as procs:
            procs.write(str(os.getpid()))
    if config['mode'] == 'namespace':
        job = _enter_namespaces(config)
    elif config['mode'] == 'none':
        _enter_own_pid_namespace()
    limits = config['limits']
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_AS, (limits['memory'], limits['memory']))
    resource.setrlimit(resource.RLIMIT_CPU, (limits['cpu'], limits['cpu'] + 5))
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))  # no POSIX message queue can be made
    if config['mode'] in ('namespace', 'uid'):
        uid = config['uid']
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        _call(libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    _call(libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
    _refuse_sockets()
    code = os.path.join(job, 'code')
    os.chdir(code if os.path.isdir(code) else job)
    scratch = os.path.join(job, SCRATCH)
    env = {**config['env'], 'HOME': scratch, 'TMPDIR': scratch}
    command = [part.replace('{job}', job) for part in config['command']]
    os.execve(command[0], command, env)


if __name__ == '__main__':
    settings = json.loads(sys.stdin.buffer.read())
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the command reads nothing
    launch(settings)
