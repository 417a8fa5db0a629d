"""A bare Debian root made by debootstrap, and commands run in it as Docker runs a container.

    python tools/bare_root.py CONFIG   (the child side: mount, drop capabilities, chroot, exec)

build() makes a Debian 12 (bookworm) root, debootstrap's minbase variant, from deb.debian.org:
the distribution's own packages and nothing else. run() runs a command on a stack of layers
(the bare root at the bottom) the way Docker runs a container from an image, which is how
Gradescope runs an autograder:
- the layers are stacked with overlayfs, and what the command writes goes to a new top layer,
  its upper folder: the layers below never change;
- in new mount and PID namespaces: its /proc shows its own processes only, and when its first
  process ends, the kernel kills what is left and takes every mount away, even if this process
  was killed first (nothing is ever mounted outside those namespaces);
- as root, with Docker's default capabilities only: no CAP_SYS_ADMIN, so no namespaces and no
  mounts inside, as in Gradescope's containers;
- no cgroups in sight (a fresh read-only sysfs has nothing at /sys/fs/cgroup), a 64 MiB
  /dev/shm and the host's /etc/resolv.conf, read-only;
- if asked, limited to so much memory (no swap) and so many CPUs, as Docker's --memory and
  --cpus do it: with cgroups made for the run (v1; v2 is written alike but untried), whose
  peak memory run() reports.
Unlike Docker, it shares the host's network and hostname and runs no seccomp filter of its own.
Run as root; it needs unshare and mount (util-linux) and a kernel with overlayfs.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

SUITE, VARIANT, MIRROR = 'bookworm', 'minbase', 'http://deb.debian.org/debian'
PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'  # Docker's default
ENV = {'PATH': PATH, 'HOME': '/root'}
DOCKER_CAPABILITIES = {  # number: name, as in linux/capability.h; Docker's default set
    0: 'chown', 1: 'dac_override', 3: 'fowner', 4: 'fsetid', 5: 'kill', 6: 'setgid',
    7: 'setuid', 8: 'setpcap', 10: 'net_bind_service', 13: 'net_raw', 18: 'sys_chroot',
    27: 'mknod', 29: 'audit_write', 31: 'setfcap'}
PR_CAPBSET_DROP = 24
CPU_PERIOD = 100000  # microseconds; --cpus N allows N * CPU_PERIOD of CPU time in each period
SHM_SIZE = '64m'  # Docker's default /dev/shm
NAMESPACES = ['unshare', '--mount', '--propagation', 'private']


class RootError(Exception):
    """A root could not be built, entered or removed; the message says why and what to do."""


Ran = namedtuple('Ran', 'status seconds peak_mib')  # what run() returns


# ----------------------------------------------------------------------------------------------
# Building and removing roots.

def ensure_debootstrap(which=shutil.which, run=subprocess.run):
    """The path of debootstrap, installed with apt-get (Debian's package) if it is missing."""
    found = which('debootstrap')
    if found:
        return found
    print("debootstrap is missing: installing it with apt-get", file=sys.stderr, flush=True)
    for command in (['apt-get', 'update'], ['apt-get', 'install', '-y', 'debootstrap']):
        try:
            done = run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except FileNotFoundError:
            raise RootError("debootstrap is missing and so is apt-get: install debootstrap "
                            "with your distribution's package manager and run again") from None
        if done.returncode != 0:
            tail = '\n'.join(done.stdout.splitlines()[-5:])
            raise RootError(f"debootstrap is missing and `{' '.join(command)}` failed (status "
                            f"{done.returncode}):\n{tail}\nInstall it (apt-get install "
                            f"debootstrap) and run again")
    found = which('debootstrap')
    if not found:
        raise RootError("apt-get installed debootstrap, but it is not on PATH: add /usr/sbin "
                        "to PATH and run again")
    return found


def build(target, log, mirror=MIRROR, run=subprocess.run, which=shutil.which):
    """Make target, which must not exist, a bare Debian root (debootstrap, VARIANT, SUITE).

    It is built in target.partial (deleted first if an earlier build left it) and renamed when
    whole, so a folder at target is always a complete root. debootstrap's output goes to log.
    """
    target = Path(target)
    if target.exists():
        raise RootError(f"{target} already exists: it would not be a fresh root")
    debootstrap = ensure_debootstrap(which, run)
    partial = target.with_name(target.name + '.partial')
    if partial.exists():
        remove(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    # In a mount namespace of its own: what debootstrap mounts in the new root (/proc, /sys)
    # goes away when it ends, even if it is killed halfway.
    with open(log, 'ab') as output:
        done = run(NAMESPACES + [debootstrap, f'--variant={VARIANT}', SUITE, str(partial),
                                 mirror], stdout=output, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RootError(f"debootstrap failed (status {done.returncode}) building {partial}: "
                        f"see {log}")
    partial.rename(target)


def mounts_under(path):
    """The mount points at or under path, as this process sees them (/proc/self/mountinfo)."""
    path = os.path.realpath(path)
    found = []
    for line in Path('/proc/self/mountinfo').read_text().splitlines():
        point = re.sub(r'\\([0-7]{3})', lambda match: chr(int(match.group(1), 8)),
                       line.split()[4])
        if point == path or point.startswith(path.rstrip('/') + '/'):
            found.append(point)
    return found


def remove(path):
    """Delete the folder path; refuse while anything is mounted under it (deleting there would
    delete what the mount shows: the host's files)."""
    mounted = mounts_under(path)
    if mounted:
        raise RootError(f"refusing to delete {path}: {mounted[0]} is mounted there (umount -R "
                        f"{path} first)")
    shutil.rmtree(path)


def size_mib(path):
    """The disk space under path, in MiB (du)."""
    done = subprocess.run(['du', '-sm', '--one-file-system', str(path)], capture_output=True,
                          text=True, check=True)
    return int(done.stdout.split()[0])


# ----------------------------------------------------------------------------------------------
# Running a command on a stack of layers.

def run(layers, upper, command, log, cwd='/', env=None, binds=(), timeout=None,
        memory_mib=None, cpus=None):
    """Run command (a list) in the root that layers (folders, the top one first) and upper make,
    as root with Docker's capabilities; its output goes to the file log.

    What it writes lands in upper (made if missing). binds are (host path, path in the root,
    read only) to mount into the root for the run. memory_mib and cpus limit all its processes
    together. Returns a Ran: the exit status (None if it was killed after timeout seconds), its
    seconds, and its peak memory in MiB (None without a memory limit). Nothing stays mounted or
    running after.
    """
    upper = Path(upper).resolve()
    work, root = upper.with_name(upper.name + '.work'), upper.with_name(upper.name + '.root')
    folders = [str(Path(layer).resolve()) for layer in layers]
    for path in folders + [str(upper)]:
        if ':' in path or ',' in path:  # overlayfs's options separate folders with those
            raise RootError(f"{path}: a layer's path may not hold ':' or ','; use another folder")
    for path in folders:
        if not Path(path).is_dir():
            raise RootError(f"{path}: no such folder (a layer of the root)")
    for folder in (upper, work, root):
        folder.mkdir(parents=True, exist_ok=True)
    groups = make_cgroups(f'bare-root-{os.getpid()}-{upper.name}', memory_mib, cpus)
    config = {'layers': folders, 'upper': str(upper), 'work': str(work), 'root': str(root),
              'command': [str(part) for part in command], 'cwd': cwd, 'env': env or ENV,
              'cgroups': list(groups),
              'binds': [[str(source), target, read_only] for source, target, read_only in
                        [('/etc/resolv.conf', '/etc/resolv.conf', True), *binds]
                        if Path(source).exists()]}
    start = time.monotonic()
    try:
        with open(log, 'ab') as output:
            # --kill-child: if unshare dies, so does the namespace's first process, and with it
            # every process in the namespace.
            process = subprocess.Popen(
                NAMESPACES + ['--pid', '--fork', '--kill-child', sys.executable, '-I', '-B',
                              __file__, json.dumps(config)],
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True)
            try:
                status = process.wait(timeout)
            except subprocess.TimeoutExpired:
                status = None
            finally:
                if process.poll() is None:
                    _stop(process)
        seconds = time.monotonic() - start
        peak = peak_mib(groups)
    finally:
        remove_cgroups(groups)
    left = mounts_under(root)
    if left:  # cannot happen: every mount was made in the namespace that just ended
        raise RootError(f"{left[0]} is still mounted after the run: umount -R {root}")
    shutil.rmtree(work)
    root.rmdir()
    return Ran(status, seconds, peak)


def limit_files(memory_mib, cpus, version):
    """{controller: {file: value}}: what to write, in order, into a cgroup of that version (1 or
    2) to limit it to memory_mib MiB of memory without swap and to cpus CPUs."""
    files = {}
    if memory_mib:
        limit = int(memory_mib) << 20
        files['memory'] = ({'memory.limit_in_bytes': limit, 'memory.memsw.limit_in_bytes': limit}
                           if version == 1 else {'memory.max': limit, 'memory.swap.max': 0})
    if cpus:
        quota = int(cpus * CPU_PERIOD)
        files['cpu'] = ({'cpu.cfs_period_us': CPU_PERIOD, 'cpu.cfs_quota_us': quota}
                        if version == 1 else {'cpu.max': f'{quota} {CPU_PERIOD}'})
    return files


SWAP_FILES = ('memory.memsw.limit_in_bytes', 'memory.swap.max')  # there only if swap is on


def make_cgroups(name, memory_mib=None, cpus=None):
    """{folder: {file: value}} of new cgroups called name, under this process's own, that hold
    what joins them to memory_mib MiB of memory without swap and to cpus CPUs ({} for neither).
    RootError if this machine will not make them."""
    if not memory_mib and not cpus:
        return {}
    lines = Path('/proc/self/cgroup').read_text().splitlines()
    groups = {}
    if Path('/sys/fs/cgroup/cgroup.controllers').exists():  # v2: one hierarchy for all
        own = next(line[3:] for line in lines if line.startswith('0::'))
        groups[f"/sys/fs/cgroup{own.rstrip('/')}/{name}"] = {
            file: value for files in limit_files(memory_mib, cpus, 2).values()
            for file, value in files.items()}
    else:  # v1: a hierarchy per controller, at /sys/fs/cgroup/<its controllers>
        wanted = limit_files(memory_mib, cpus, 1)
        for line in lines:
            _, controllers, own = line.split(':', 2)
            for controller in set(controllers.split(',')) & set(wanted):
                groups[f"/sys/fs/cgroup/{controllers}{own.rstrip('/')}/{name}"] = \
                    wanted.pop(controller)
        if wanted:
            raise RootError(f"cannot limit {' and '.join(wanted)} here: no such cgroup "
                            f"controller; run without the limits (the trial: --memory 0 "
                            f"--cpus 0)")
    made = []
    try:
        for folder, files in groups.items():
            os.mkdir(folder)
            made.append(folder)
            for file, value in files.items():
                if file not in SWAP_FILES or os.path.exists(f'{folder}/{file}'):
                    Path(folder, file).write_text(str(value))
    except OSError as err:
        remove_cgroups(made)
        raise RootError(f"cannot limit memory or CPUs here ({err}); run without the limits "
                        f"(the trial: --memory 0 --cpus 0)") from None
    return groups


def peak_mib(groups):
    """The peak memory of the cgroups groups (from make_cgroups) in MiB, or None."""
    for folder in groups:
        for file in ('memory.max_usage_in_bytes', 'memory.peak'):
            try:
                return int(Path(folder, file).read_text()) >> 20
            except (OSError, ValueError):
                continue
    return None


def remove_cgroups(groups):
    """Remove the cgroups' folders once their processes have gone (they were killed)."""
    for folder in groups:
        for _ in range(100):
            try:
                os.rmdir(folder)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)


def _stop(process):
    """Kill the namespace's first process, so that the kernel kills every process in it, and
    wait for unshare (process), which ends once they all have."""
    try:
        children = Path(f'/proc/{process.pid}/task/{process.pid}/children').read_text().split()
    except OSError:
        children = []
    for pid in children:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:  # it had not forked yet: --kill-child does the rest
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _mount(*arguments):
    done = subprocess.run(['mount', *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise RootError(f"mount {' '.join(arguments)}: {done.stderr.strip()}")


def keep_capabilities(kept):
    """Drop every capability but those numbered in kept from the bounding set: whatever runs as
    root from the next exec on has these only."""
    libc = ctypes.CDLL(None, use_errno=True)
    last = int(Path('/proc/sys/kernel/cap_last_cap').read_text())
    for number in range(last + 1):
        if number not in kept and libc.prctl(PR_CAPBSET_DROP, number, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl(PR_CAPBSET_DROP, {number}): {os.strerror(error)}")


def enter(config):
    """The child side, first process of new mount and PID namespaces (run() starts it with
    unshare): mount the root, keep Docker's capabilities only, chroot and exec the command."""
    for group in config['cgroups']:  # first: all it starts from here on is in them too
        Path(group, 'cgroup.procs').write_text(str(os.getpid()))
    root = config['root']
    _mount('-t', 'overlay', '-o', f"lowerdir={':'.join(config['layers'])},"
           f"upperdir={config['upper']},workdir={config['work']}", 'overlay', root)
    for kind, options, folder in (('proc', 'nosuid,nodev,noexec', 'proc'),
                                  ('sysfs', 'ro,nosuid,nodev,noexec', 'sys'),
                                  ('tmpfs', f'nosuid,nodev,size={SHM_SIZE},mode=1777', 'dev/shm')):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        _mount('-t', kind, '-o', options, kind, os.path.join(root, folder))
    for source, target, read_only in config['binds']:
        path = root + target
        if os.path.islink(path):  # it would be followed outside the root
            raise RootError(f"refusing to mount {source} over {target}, a symbolic link")
        if os.path.isdir(source):
            os.makedirs(path, exist_ok=True)
        elif not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Path(path).touch()
        _mount('--bind', source, path)
        if read_only:
            _mount('-o', 'remount,bind,ro', path)
    keep_capabilities(DOCKER_CAPABILITIES)
    os.chroot(root)
    os.chdir(config['cwd'])
    os.execve(config['command'][0], config['command'], config['env'])


if __name__ == '__main__':
    try:
        enter(json.loads(sys.argv[1]))
    except (OSError, RootError) as err:
        print(f"bare_root.py: could not start the command in the root: {err}", file=sys.stderr)
        sys.exit(125)  # as Docker does when a container cannot start
