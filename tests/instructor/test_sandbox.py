"""tools/grading/sandbox.py, confine.py and storage.py: what a graded run may reach, keep and leave.

Each check runs code in a Sandbox at the levels it concerns: 'namespace', 'uid' (Gradescope's;
needs GRADER_UID_PYTHON, a Python other users may run, which .ci/run makes) and 'none'. They
need root, except the walks of storage.py. The runs get a small quota (64 MiB, 200 files) so
that they are quick; test_a_correct_submission_beside_a_disk_filler_gets_full_marks grades with
the kit's rubric and the real quota instead.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path

import pytest

from tools import KIT, release
from tools.grading import storage
from tools.grading.grader import CHILD_ENV
from tools.grading.sandbox import Output, Sandbox, process_table

SAMPLES = Path(__file__).resolve().parent / 'samples'
UID_PYTHON = os.environ.get('GRADER_UID_PYTHON')
ROOT = os.geteuid() == 0
QUOTA = {'disk': 64 << 20, 'files': 200}
SHARED = ('/tmp', '/var/tmp', '/dev/shm')

needs_root = pytest.mark.skipif(not ROOT, reason="the sandbox's levels are tested as root (the "
                                                 "namespace and uid levels need it)")


def python_for(level):
    if level != 'uid':
        return sys.executable
    if not UID_PYTHON:
        pytest.skip("set GRADER_UID_PYTHON to a Python other users may run, as .ci/run does, "
                    "to test the uid level")
    return UID_PYTHON


@pytest.fixture(scope='module')
def private():
    """A folder for job folders: others may pass through it but not list it (as grade.py's)."""
    folder = Path(tempfile.mkdtemp(prefix='sandbox-test-'))
    os.chmod(folder, 0o711)
    yield folder
    storage.remove_tree(folder)


BOXES = {}


def box_for(level):
    """One Sandbox per level for the whole module, so that its uids are claimed once."""
    if level not in BOXES:
        BOXES[level] = Sandbox(level)
    return BOXES[level]


def run_code(level, code, private, slot=0, limits=QUOTA, files=None, seconds=60, env=None):
    """(exit status, Output, the job folder (removed)) of python -c code at level."""
    box, python = box_for(level), python_for(level)
    job = private / uuid.uuid4().hex
    (job / 'code').mkdir(parents=True)
    for name, text in (files or {}).items():
        (job / name).write_text(text)
    box.prepare(job, slot)
    output, start = Output(1 << 16, 1 << 16), time.monotonic()
    status, _ = box.run(job, [python, '-I', '-c', code], slot,
                        {'memory': 1 << 30, 'cpu': 60, **limits}, {**CHILD_ENV, **(env or {})},
                        lambda: time.monotonic() - start > seconds, output)
    storage.remove_tree(job)
    return status, output, job


def owned_by(uid, folders=SHARED):
    """Paths under folders that uid owns (the walk the sandbox's clean-up uses)."""
    return [f'{folder}/.../{name}' for folder in folders
            for _, name, info, _ in storage._walk(folder, uid) if info.st_uid == uid]


def marked(marker, folders=SHARED):
    return [str(path) for folder in folders for path in Path(folder).iterdir()
            if marker in path.name]


# -- storage.py's walks (no root needed) --------------------------------------------------------

def make_chain(top, depth):
    """top/d/d/.../d, depth folders deep, made through descriptors (its path is too long for
    one); returns a descriptor of the deepest, which the caller closes."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir('d', dir_fd=fd)
        deeper = os.open('d', os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = deeper
    return fd


def test_remove_tree_removes_any_depth_and_follows_no_symlink(tmp_path):
    decoy = tmp_path / 'decoy'
    decoy.mkdir()
    (decoy / 'keep').write_text('must stay')
    top = tmp_path / 'tree'
    top.mkdir()
    deepest = make_chain(top, 5000)  # shutil.rmtree recurses: RecursionError at this depth
    os.symlink(decoy, 'link', dir_fd=deepest)
    os.mkfifo('fifo', dir_fd=deepest)
    os.close(deepest)
    for number in range(50):
        (top / f'file{number}').write_text('x')
    (top / 'link').symlink_to(decoy)
    storage.remove_tree(top)
    assert not top.exists() and (decoy / 'keep').read_text() == 'must stay'
    storage.remove_tree(top)  # nothing there is fine


def test_measure_counts_files_once_and_never_follows_a_symlink_or_opens_a_fifo(tmp_path):
    folder = tmp_path / 'place'
    folder.mkdir()
    (folder / 'a').write_bytes(b'x' * (1 << 20))
    os.link(folder / 'a', folder / 'a-again')  # one file, counted once
    os.mkfifo(folder / 'fifo')  # opening it would block the walk
    big = tmp_path / 'elsewhere'
    big.mkdir()
    (big / 'b').write_bytes(b'x' * (4 << 20))
    (folder / 'link').symlink_to(big)
    usage = storage.measure(None, [folder])
    assert 1 << 20 <= usage.bytes < 2 << 20
    assert usage.files == 4 and not usage.too_deep  # folder, a (and a-again), fifo, link


def test_measure_says_when_folders_nest_too_deep(tmp_path):
    os.close(make_chain(tmp_path, storage.MAX_DEPTH + 5))
    assert storage.measure(None, [tmp_path]).too_deep
    shallow = tmp_path / 'shallow'
    shallow.mkdir()
    os.close(make_chain(shallow, storage.MAX_DEPTH - 2))
    assert not storage.measure(None, [shallow]).too_deep


@needs_root
@pytest.mark.parametrize('level', ['namespace', 'uid', 'none'])
def test_pass_fds_reach_the_command(level, private):
    """The harness may hand back its outputs on a pipe: pass_fds stay open in the command."""
    box, python = box_for(level), python_for(level)
    job = private / uuid.uuid4().hex
    job.mkdir()
    box.prepare(job, 0)
    read, write = os.pipe()
    output = Output(4096, 4096)
    status, _ = box.run(job, [python, '-I', '-c', f"import os; os.write({write}, b'through')"],
                        0, {'memory': 1 << 30, 'cpu': 60}, CHILD_ENV, lambda: False, output,
                        pass_fds=(write,))
    os.close(write)
    with os.fdopen(read, 'rb') as stream:
        assert status == 0 and stream.read() == b'through', output.text()
    storage.remove_tree(job)


# -- IPC ----------------------------------------------------------------------------------------

IPC = '''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.sem_open.restype = ctypes.c_void_p
made = []
if libc.shmget(KEY, 1 << 20, 0o1600) >= 0:
    made.append('sysv-shm')
if libc.msgget(KEY + 1, 0o1600) >= 0:
    made.append('sysv-msg')
if libc.semget(KEY + 2, 1, 0o1600) >= 0:
    made.append('sysv-sem')
if libc.shm_open(('/' + NAME + '-shm').encode(), os.O_CREAT | os.O_RDWR, 0o600) >= 0:
    made.append('posix-shm')
if libc.sem_open(('/' + NAME + '-sem').encode(), os.O_CREAT, 0o600, 1):
    made.append('posix-sem')
if libc.mq_open(('/' + NAME + '-mq').encode(), os.O_CREAT | os.O_RDWR, 0o600, None) >= 0:
    made.append('posix-mq')
else:
    made.append('posix-mq refused')
print('made', ' '.join(made))
'''


def sysv_keys():
    return {int(line.split()[0]) for kind in ('shm', 'msg', 'sem')
            for line in Path('/proc/sysvipc', kind).read_text().splitlines()[1:]}


@needs_root
@pytest.mark.parametrize('level', ['namespace', 'uid'])
def test_ipc_objects_are_gone_after_the_run(level, private):
    name = f'sandbox-test-{uuid.uuid4().hex[:8]}'
    key = zlib.crc32(name.encode()) & 0x3FFFFFFF
    status, output, _ = run_code(level, f'KEY = {key}\nNAME = {name!r}\n' + IPC, private)
    assert status == 0, output.text()
    # POSIX message queues: RLIMIT_MSGQUEUE is 0, so none can be made (they are in no folder
    # the uid level could clean: /dev/mqueue is not mounted everywhere).
    assert 'made sysv-shm sysv-msg sysv-sem posix-shm posix-sem posix-mq refused' \
        in output.text()
    assert not {key, key + 1, key + 2} & sysv_keys()
    assert marked(name) == []
    if level == 'uid':
        assert storage.sysv_objects(box_for(level).uid(0)) == []


# -- the quota ----------------------------------------------------------------------------------

WRITE = '''
import ctypes, os, time
folder = os.environ['TMPDIR'] if PLACE == 'scratch' else PLACE
kept, written = [], 0
try:
    if HOW == 'sysv':  # a segment that outlives its process
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        segment = libc.shmget(0, 96 << 20, 0o1600)
        address = libc.shmat(segment, None, 0)
        ctypes.memset(address, 1, 96 << 20)
        libc.shmdt(ctypes.c_void_p(address))
    for number in range(4 if HOW != 'sysv' else 0):  # 96 MiB, more than the 64 MiB quota
        path = os.path.join(folder, 'big%d' % number)
        stream = open(os.memfd_create('big') if HOW == 'memfd' else path, 'wb')
        stream.write(b'\\0' * (24 << 20))
        stream.flush()
        if HOW == 'deleted':
            os.unlink(path)
        kept.append(stream)  # open: a deleted file or a memfd lives as long as it is
        written += 1
except OSError as err:
    print('refused:', err.strerror)
print('wrote', written)
time.sleep(3)  # the watcher looks every 0.2 s
'''


def write_code(place, how='files'):
    return f'PLACE = {place!r}\nHOW = {how!r}\n' + WRITE


@needs_root
@pytest.mark.parametrize('place, how', [
    ('scratch', 'files'), ('/tmp', 'files'), ('/var/tmp', 'files'), ('/dev/shm', 'files'),
    ('scratch', 'deleted'), ('/tmp', 'memfd'), ('/tmp', 'sysv')])
def test_the_uid_level_stops_a_run_past_its_quota_wherever_it_writes(place, how, private):
    status, output, _ = run_code('uid', write_code(place, how), private)
    assert status is None and output.stopped == (
        "its files came to more than 64 MiB, the limit for one run, so it was stopped"), \
        output.text()
    uid = box_for('uid').uid(0)
    assert owned_by(uid) == [] and storage.sysv_objects(uid) == []


@needs_root
@pytest.mark.parametrize('place', ['scratch', '/tmp', '/dev/shm'])
def test_the_namespace_level_gives_a_run_one_tmpfs_of_its_quota(place, private):
    status, output, _ = run_code('namespace', write_code(place), private)
    assert status == 0 and output.stopped is None
    assert 'refused: No space left on device\nwrote 2' in output.text()  # 48 MiB fit, not 72


@needs_root
@pytest.mark.parametrize('level', ['namespace', 'uid', 'none'])
def test_a_run_within_its_quota_is_left_alone_and_its_scratch_removed(level, private):
    """32 MiB in files, a FIFO and a symlink to a folder of 96 MiB: the walk must neither block
    on the FIFO nor count the folder; then the scratch folder goes."""
    decoy = private / f'decoy-{level}'
    decoy.mkdir()
    with open(decoy / 'big', 'wb') as stream:
        os.posix_fallocate(stream.fileno(), 0, 96 << 20)
    uid = box_for(level).uid(0)
    if uid is not None:
        os.chown(decoy, uid, uid)
        os.chown(decoy / 'big', uid, uid)
    code = (f"import os, time\nscratch = os.environ['TMPDIR']\n"
            f"for number in range(2):\n"
            f"    open(os.path.join(scratch, str(number)), 'wb').write(b'x' * (16 << 20))\n"
            f"os.mkfifo(os.path.join(scratch, 'fifo'))\n"
            f"os.symlink({str(decoy)!r}, os.path.join(scratch, 'link'))\n"
            f"time.sleep(2)\nprint('done')\n")
    status, output, job = run_code(level, code, private)
    assert status == 0 and output.stopped is None and 'done' in output.text(), output.text()
    assert (decoy / 'big').stat().st_size == 96 << 20
    shutil.rmtree(decoy)


@needs_root
@pytest.mark.parametrize('level', ['namespace', 'uid'])
def test_a_run_may_not_make_too_many_files(level, private):
    code = ("import os, time\n"
            "try:\n"
            "    for number in range(400):\n"
            "        open(os.path.join(os.environ['TMPDIR'], str(number)), 'w').close()\n"
            "except OSError as err:\n"
            "    print('refused:', err.strerror)\n"
            "time.sleep(3)\n")
    status, output, _ = run_code(level, code, private)
    if level == 'uid':
        assert status is None and output.stopped == (
            "it made more than 200 files and folders, the limit for one run, so it was stopped")
    else:
        assert status == 0 and 'refused: No space left on device' in output.text()


@needs_root
def test_the_uid_level_stops_folders_nested_too_deep(private):
    code = (f"import os, time\nos.makedirs(os.path.join(os.environ['TMPDIR'], "
            f"*['d'] * {storage.MAX_DEPTH + 10}))\ntime.sleep(3)\n")
    status, output, _ = run_code('uid', code, private)
    assert status is None and output.stopped == (
        f"it nested folders {storage.MAX_DEPTH} deep, the limit for one run, so it was stopped")


# -- what a run leaves where everyone may write -------------------------------------------------

LEAVE = '''
import os, time
made = []
for folder in ('/tmp', '/var/tmp', '/dev/shm', os.environ['TMPDIR'], SHARED):
    try:
        os.mkfifo(os.path.join(folder, NAME + '-fifo'))
        os.symlink(DECOY, os.path.join(folder, NAME + '-link'))
        locked = os.path.join(folder, NAME + '-locked')
        os.mkdir(locked)
        open(os.path.join(locked, 'file'), 'w').close()
        os.chmod(locked, 0)
        made.append(folder)
    except OSError as err:
        print(folder, err)
print('made in', ' '.join(made), flush=True)
for folder in made:  # then trees deeper than any recursion limit (the watcher may stop it)
    fd, name = os.open(folder, os.O_RDONLY | os.O_DIRECTORY), NAME + '-tree'
    for _ in range(3000):
        os.mkdir(name, dir_fd=fd)
        deeper = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd, name = deeper, 'd'
    os.close(fd)
time.sleep(1)
'''


@needs_root
@pytest.mark.parametrize('level', ['namespace', 'uid'])
def test_nothing_a_run_makes_where_everyone_may_write_is_left(level, private):
    """Deep trees, FIFOs, symlinks to a folder of the grader's and locked folders, in /tmp,
    /var/tmp, /dev/shm, the scratch folder and a folder everyone may write inside /tmp: all
    removed (at the namespace level, they were never outside), the symlinks' target kept."""
    name = f'sandbox-test-{uuid.uuid4().hex[:8]}'
    decoy = private / f'{name}-decoy'
    decoy.mkdir()
    (decoy / 'keep').write_text('must stay')
    shared = Path(tempfile.mkdtemp(prefix='sandbox-test-shared-'))
    os.chmod(shared, 0o1777)
    code = f'NAME = {name!r}\nDECOY = {str(decoy)!r}\nSHARED = {str(shared)!r}\n' + LEAVE
    try:
        status, output, _ = run_code(level, code, private)
        if level == 'uid':
            assert 'made in /tmp /var/tmp /dev/shm' in output.text(), output.text()
            assert owned_by(box_for(level).uid(0), SHARED + (str(shared),)) == []
        else:
            assert 'made in /tmp /dev/shm' in output.text(), output.text()
        assert marked(name) == [] and list(shared.iterdir()) == []
        assert (decoy / 'keep').read_text() == 'must stay'
    finally:
        shutil.rmtree(shared)


# -- privacy and sockets ------------------------------------------------------------------------

SPY = '''
import os
def attempt(what, action):
    try:
        action()
        print(what, 'allowed')
    except OSError as err:
        print(what, 'refused', err.errno)
attempt('read', lambda: open(os.path.join(VICTIM, 'code', 'loss.py')).read())
attempt('list job', lambda: os.listdir(VICTIM))
attempt('list code', lambda: os.listdir(os.path.join(VICTIM, 'code')))
attempt('list scratch', lambda: os.listdir(os.path.join(VICTIM, 'scratch')))
attempt('list parent', lambda: os.listdir(os.path.dirname(VICTIM)))
seen = []  # processes whose command line holds the configuration, which holds MARK
for pid in os.listdir('/proc'):
    try:
        if pid.isdigit() and pid != str(os.getpid()) and \
                MARK.encode() in open('/proc/%s/cmdline' % pid, 'rb').read():
            seen.append(pid)
    except OSError:
        pass
print('configurations seen', len(seen))
'''


@needs_root
def test_one_uid_slot_cannot_read_another_slots_code(private):
    """Slot 1 runs (its loss.py holds a secret) while code in slot 0 tries to read it, knowing
    its path; no command line (the launcher's included) may carry a configuration either."""
    victim, mark = {}, f'sandbox-test-{uuid.uuid4().hex}'
    started = threading.Event()

    def run_victim():
        code = "import time, os; print('victim', os.getuid(), flush=True); time.sleep(8)"
        box = box_for('uid')
        job = private / 'victim'
        (job / 'code').mkdir(parents=True)
        (job / 'code' / 'loss.py').write_text('SECRET = 42\n')
        box.prepare(job, 1)
        victim['job'] = job
        started.set()
        output = Output(4096, 4096)
        victim['status'], _ = box.run(job, [python_for('uid'), '-I', '-c', code], 1,
                                      {'memory': 1 << 30, 'cpu': 60}, {**CHILD_ENV, 'MARK': mark},
                                      lambda: False, output)

    python_for('uid')
    thread = threading.Thread(target=run_victim)
    thread.start()
    try:
        started.wait(30)
        time.sleep(1)  # its launcher and python are running
        status, output, _ = run_code(
            'uid', f"VICTIM = {str(victim['job'])!r}\nMARK = {mark!r}\n" + SPY, private)
    finally:
        thread.join(60)
    text = output.text()
    assert status == 0 and victim['status'] == 0, text
    assert box_for('uid').uid(0) != box_for('uid').uid(1)
    for what in ('read', 'list job', 'list code', 'list scratch', 'list parent'):
        assert f'{what} refused 13' in text, text
    assert 'configurations seen 0' in text
    storage.remove_tree(victim['job'])


@needs_root
@pytest.mark.parametrize('level', ['namespace', 'uid', 'none'])
def test_no_command_line_carries_the_configuration(level, private):
    """The launcher gets its configuration on stdin: /proc/PID/cmdline, which every process
    may read, shows none (at the namespace level the launcher lives on as the namespace's
    init, so an argument would be seen for the whole run)."""
    code = "import os\nMARK = os.environ['MARK']\n" + SPY[SPY.index('seen = []'):]
    mark = f'sandbox-test-{uuid.uuid4().hex}'  # in its environment, so in the configuration
    status, output, _ = run_code(level, code, private, env={'MARK': mark})
    assert status == 0 and 'configurations seen 0' in output.text(), output.text()


SOCKETS = '''
import multiprocessing, socket
def square(number):
    return number * number
for family, kind in ((socket.AF_UNIX, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_STREAM),
                     (socket.AF_INET6, socket.SOCK_DGRAM), (socket.AF_NETLINK, socket.SOCK_RAW),
                     (40, socket.SOCK_STREAM)):  # 40: AF_VSOCK, the way out of a VM
    try:
        socket.socket(family, kind).connect(SERVER)
        print(int(family), 'connected')
    except OSError as err:
        print(int(family), 'refused', err.errno)
one, other = socket.socketpair()
one.send(b'pair')
print('socketpair', other.recv(4).decode())
if __name__ == '__main__':
    with multiprocessing.Pool(2) as pool:
        print('pool', pool.map(square, range(4)))
    near, far = multiprocessing.Pipe()
    far.send('pipe')
    print('Pipe', near.recv())
'''


@needs_root
@pytest.mark.parametrize('level', ['namespace', 'uid', 'none'])
def test_every_socket_is_refused_but_a_socketpair(level, private):
    """Not even a Unix-domain socket to a server anyone may connect to; a socketpair between
    the run's own processes stays, and with it multiprocessing (Pool, Pipe)."""
    server = UnixServer(private / f'server-{level}')
    try:
        status, output, _ = run_code(level, f'SERVER = {str(server.path)!r}\n' + SOCKETS, private)
    finally:
        server.close()
    text = output.text()
    assert status == 0, text
    for family in (1, 2, 10, 16, 40):
        assert f'{family} refused 13' in text, text
    assert 'socketpair pair' in text and 'pool [0, 1, 4, 9]' in text and 'Pipe pipe' in text
    assert server.heard == []


class UnixServer:
    """A Unix-domain socket at path that anyone may connect to; heard counts who did."""

    def __init__(self, path):
        import socket
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        os.chmod(path, 0o777)
        self.server.listen()
        self.path, self.heard = path, []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                self.heard.append(self.server.accept())
            except OSError:
                return

    def close(self):
        self.server.close()


# -- grade.py: Ctrl-C, and a neighbour that fills the disk ---------------------------------------

BOMB = '''
import os, signal, time
for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(number, signal.SIG_IGN)
end = time.monotonic() + 120  # should the sandbox fail, it stops by itself
if os.fork():
    while time.monotonic() < end:  # the run's own process waits, deaf to signals
        time.sleep(0.1)
os.setsid()
while time.monotonic() < end:  # forks as fast as it can, each child in a new session
    try:
        child = os.fork()
    except OSError:  # RLIMIT_NPROC: the bomb is as big as it may be
        continue
    if child == 0:
        os.setsid()
    elif CHAIN:  # at the none level, no RLIMIT_NPROC: a chain that moves on, not a bomb
        os._exit(0)
'''


@pytest.fixture(scope='module')
def stubs(tmp_path_factory):
    folder = tmp_path_factory.mktemp('release') / 'release'
    release.build(folder)
    os.chmod(folder, 0o755)
    return folder


def grade_command(level, submissions, out, stubs, *extra):
    """python -m tools.grade, to run in the kit's folder (cwd=KIT)."""
    return [python_for(level), '-m', 'tools.grade', *map(str, submissions),
            '--isolation', level, '--release', str(stubs), '--out', str(out), *extra]


def marker_processes(marker):
    found = []
    for pid in process_table():
        try:
            if marker.encode() in Path(f'/proc/{pid}/cmdline').read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


@needs_root
@pytest.mark.parametrize('level', ['namespace', 'uid', 'none'])
def test_ctrl_c_stops_a_run_whatever_it_does(level, tmp_path, stubs):
    """The graded code ignores signals and forks as fast as it can, each child in a new
    session (a fork bomb, bounded by RLIMIT_NPROC at the root levels; a chain of forks at the
    none level, where nothing bounds a bomb). Ctrl-C must end grade.py, and all of it."""
    marker = f'sandbox-bomb-{uuid.uuid4().hex[:8]}'
    bomb = f'CHAIN = {level == "none"}\n' + BOMB
    (tmp_path / 'bomb').mkdir()
    (tmp_path / 'bomb' / 'loss.py').write_text(
        f"import os, sys\nos.execv(sys.executable, [sys.executable, '-c', {bomb!r}, "
        f"{marker!r}])\n")
    grade = subprocess.Popen(grade_command(level, [tmp_path / 'bomb'], tmp_path / 'grades',
                                           stubs), cwd=KIT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # until the bomb is going
            if len(marker_processes(marker)) >= (1 if level == 'none' else 20):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the bomb never went off: {grade.communicate(timeout=60)}")
        time.sleep(1)
        interrupted = time.monotonic()
        grade.send_signal(signal.SIGINT)
        _, stderr = grade.communicate(timeout=60)
        print(f"{level}: grade.py ended {time.monotonic() - interrupted:.1f} s after Ctrl-C")
    finally:
        if grade.poll() is None:
            grade.kill()
    assert grade.returncode == 130, stderr
    for _ in range(5):  # and nothing comes back
        assert marker_processes(marker) == []
        time.sleep(0.2)


@needs_root
@pytest.mark.parametrize('level', ['namespace', 'uid'])
def test_a_correct_submission_beside_a_disk_filler_gets_full_marks(level, tmp_path, stubs):
    """grade.py -j 2, its job folders on a disk of 1.5 GiB (a tmpfs in a mount namespace of
    the test's own), grades fills_disk_with_files, which writes 3 GiB and, once its writes
    fail, waits before it gives up, beside the solutions: with the quota (512 MiB) the
    solutions still get 100, the filler 25."""
    if not shutil.which('unshare'):
        pytest.skip("needs unshare (util-linux) to give grade.py a small disk")
    marker = f'sandbox-filler-{uuid.uuid4().hex[:8]}'
    filler = (SAMPLES / 'fills_disk_with_files' / 'loss.py').read_text()
    filler = filler.replace('@MARKER@', marker).replace('# <<base>>',
                                                        (KIT / 'loss.py').read_text())
    for name, loss in (('filler', filler), ('solutions', (KIT / 'loss.py').read_text())):
        (tmp_path / 'class' / name).mkdir(parents=True)
        (tmp_path / 'class' / name / 'loss.py').write_text(loss)
        shutil.copy(KIT / 'optimizer.py', tmp_path / 'class' / name)
    disk = Path(tempfile.mkdtemp(prefix='sandbox-disk-'))
    os.chmod(disk, 0o711)
    grade = ' '.join(f"'{part}'" for part in grade_command(
        level, [tmp_path / 'class'], tmp_path / 'grades', stubs, '-j', '2'))
    try:
        done = subprocess.run(
            ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
             f"mount -t tmpfs -o size=1536m,mode=0711 tmpfs {disk} && "
             f"TMPDIR={disk} exec {grade}"], cwd=KIT, capture_output=True, text=True,
            timeout=600)
    finally:
        disk.rmdir()
    assert done.returncode == 0, done.stdout + done.stderr
    assert '[' in done.stdout and 'solutions: 100/100' in done.stdout, done.stdout
    assert 'filler: 25/100' in done.stdout, done.stdout


@needs_root
@pytest.mark.parametrize('level', ['namespace', 'uid'])
def test_a_deep_tree_in_the_job_folder_does_not_stop_the_grader(level, tmp_path, stubs):
    """The code nests 3000 folders in the job folder's out/, which it may write; the grader
    must still grade it and remove the job folder (shutil.rmtree recurses, and raises
    RecursionError even with ignore_errors)."""
    (tmp_path / 'deep').mkdir()
    (tmp_path / 'deep' / 'loss.py').write_text(
        "import os\n"
        "fd = os.open(os.path.join(os.getcwd(), '..', 'out'), os.O_RDONLY)\n"
        "for _ in range(3000):\n"
        "    os.mkdir('d', dir_fd=fd)\n"
        "    deeper = os.open('d', os.O_RDONLY, dir_fd=fd)\n"
        "    os.close(fd)\n"
        "    fd = deeper\n" + (KIT / 'loss.py').read_text())
    done = subprocess.run(grade_command(level, [tmp_path / 'deep'], tmp_path / 'grades', stubs),
                          cwd=KIT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and '[1/1] deep: ' in done.stdout, done.stdout + done.stderr
