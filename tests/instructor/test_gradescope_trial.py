"""tools/gradescope_trial.py and tools/bare_root.py, without the network: the real trial builds a
Debian root with debootstrap and runs setup.sh, which download for minutes (the report of the
trial gives a full run's numbers; `sudo python tools/gradescope_trial.py` makes one).

Here the bare root is a fake: a folder holding bash and the libraries it needs, copied from this
machine. Commands really run in it as tools/bare_root.py runs them (overlay layers, mount and PID
namespaces, Docker's capabilities, chroot), so these tests check the mounts, what the command
sees, the cleanup, and the trial's steps and comparison with a fake setup.sh, run_autograder and
home grader. debootstrap and apt-get are replaced by recorders.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from tools import bare_root, gradescope, gradescope_trial, sample_submissions

DOCKER_MASK = sum(1 << number for number in bare_root.DOCKER_CAPABILITIES)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason=(
    "the trial mounts, unshares and chroots: it needs root (CI runs as root)"))


def make_fake_root(folder):
    """A root holding bash and unshare, with the libraries they need."""
    folder.mkdir(parents=True)
    for name in ('bin', 'lib', 'lib64', 'sbin'):  # this Debian merges them into /usr
        if os.path.islink(f'/{name}'):
            os.symlink(os.readlink(f'/{name}'), folder / name)
            (folder / os.readlink(f'/{name}')).mkdir(parents=True, exist_ok=True)
    for program in map(shutil.which, ('bash', 'unshare')):
        found = subprocess.run(['ldd', program], capture_output=True, text=True,
                               check=True).stdout
        for path in [program] + re.findall(r'(/\S+) \(0x', found):
            target = folder / path.lstrip('/')
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    for name in ('proc', 'sys', 'dev/shm', 'tmp', 'mnt', 'etc'):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope='module')
def fake_root(tmp_path_factory):
    return make_fake_root(tmp_path_factory.mktemp('fake') / 'base')


def bash_in_root(base, tmp_path, script, **options):
    """(status, seconds, output, upper) of running the bash script in base."""
    log = tmp_path / 'run.log'
    ran = bare_root.run([base], tmp_path / 'upper', ['/bin/bash', '-c', script], log, **options)
    return ran.status, ran.seconds, log.read_text(), tmp_path / 'upper'


def marked_processes(marker):
    return sample_submissions.leftovers(marker)


# -- bare_root.run -----------------------------------------------------------------------------

def test_a_command_runs_as_pid_1_with_dockers_capabilities_and_writes_only_its_upper_layer(
        fake_root, tmp_path):
    before = sorted(str(path.relative_to(fake_root)) for path in fake_root.rglob('*'))
    status, _, output, upper = bash_in_root(fake_root, tmp_path, '''
        while read -r key value; do [[ $key == CapEff: ]] && echo "caps $value"; done \
            < /proc/self/status
        echo "pid $$"
        echo "processes" /proc/[0-9]*
        echo "cgroups" /sys/fs/cgroup/*
        echo "cwd $PWD path $PATH home $HOME"
        echo written > /etc/written
        [[ -s /etc/resolv.conf ]] && echo "resolv.conf is there"
        exit 3''', cwd='/tmp')
    assert status == 3, output
    assert f"caps {DOCKER_MASK:016x}" in output  # Docker's default set: a80425fb
    assert 'pid 1\n' in output
    assert re.search(r'^processes /proc/1$', output, re.M), output  # its own PID namespace
    assert 'cgroups /sys/fs/cgroup/*\n' in output  # nothing there: no cgroups
    assert f"cwd /tmp path {bare_root.PATH} home /root" in output
    if os.path.exists('/etc/resolv.conf'):
        assert 'resolv.conf is there' in output
    assert (upper / 'etc' / 'written').read_text() == 'written\n'
    assert sorted(str(path.relative_to(fake_root)) for path in fake_root.rglob('*')) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ['run.log', 'upper']
    assert bare_root.mounts_under(tmp_path) == []


def test_namespaces_are_refused_inside_as_in_gradescopes_docker(fake_root, tmp_path):
    """So grade.py's sandbox (--isolation auto) takes the uid level there, as on Gradescope."""
    unshare = shutil.which('unshare')
    status, _, output, _ = bash_in_root(
        fake_root, tmp_path, f'{unshare} --mount --pid --net --fork /bin/bash -c "echo inside"; '
        'echo "unshare said $?"')
    assert status == 0, output
    assert 'Operation not permitted' in output and 'inside' not in output
    assert 'unshare said 1' in output


def test_a_run_past_its_timeout_is_killed_with_all_it_started_and_leaves_no_mount(
        fake_root, tmp_path):
    marker = f'trial-test-{uuid.uuid4().hex[:8]}'
    status, seconds, _, _ = bash_in_root(
        fake_root, tmp_path, f': {marker}; (while :; do :; done) & ( (while :; do :; done) & ); '
        'while :; do :; done',
        timeout=2)
    assert status is None and 2 <= seconds < 30
    assert marked_processes(marker) == []
    assert bare_root.mounts_under(tmp_path) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ['run.log', 'upper']


def test_what_the_command_started_dies_with_it(fake_root, tmp_path):
    marker = f'trial-test-{uuid.uuid4().hex[:8]}'
    status, _, _, _ = bash_in_root(fake_root, tmp_path,
                                   f': {marker}; (while :; do :; done) & echo started')
    assert status == 0
    assert marked_processes(marker) == []


def test_a_command_that_cannot_start_says_so_and_leaves_no_mount(fake_root, tmp_path):
    log = tmp_path / 'run.log'
    status = bare_root.run([fake_root], tmp_path / 'upper', ['/no/such/program'], log).status
    assert status == 125
    assert 'could not start the command in the root' in log.read_text()
    assert bare_root.mounts_under(tmp_path) == []


def test_binds_are_there_read_only_or_not_and_never_over_a_symbolic_link(fake_root, tmp_path):
    shared, data = tmp_path / 'shared', tmp_path / 'data'
    shared.mkdir()
    data.mkdir()
    (data / 'ca.crt').write_text('certificates\n')
    status, _, output, upper = bash_in_root(
        fake_root, tmp_path, 'echo "$(< /mnt/ca.crt)"; echo x > /mnt/ca.crt || echo refused; '
        'echo lock > /run/locks/61000',
        binds=[(data, '/mnt', True), (shared, '/run/locks', False)])
    assert status == 0, output
    assert 'certificates\n' in output and 'refused' in output
    assert (data / 'ca.crt').read_text() == 'certificates\n'
    assert (shared / '61000').read_text() == 'lock\n'

    (upper / 'etc' / 'link').symlink_to('/etc/hostname')
    log = tmp_path / 'link.log'
    status = bare_root.run([fake_root], upper, ['/bin/bash', '-c', 'true'], log,
                           binds=[(data / 'ca.crt', '/etc/link', True)]).status
    assert status == 125 and 'a symbolic link' in log.read_text()
    assert bare_root.mounts_under(tmp_path) == []


def test_layers_stack_with_the_first_on_top(fake_root, tmp_path):
    image = tmp_path / 'image'
    (image / 'etc').mkdir(parents=True)
    (image / 'etc' / 'layer').write_text('image\n')
    log = tmp_path / 'run.log'
    status = bare_root.run([image, fake_root], tmp_path / 'upper',
                           ['/bin/bash', '-c', 'echo "$(< /etc/layer)"; echo run > /etc/layer'],
                           log).status
    assert status == 0 and 'image\n' in log.read_text()
    assert (image / 'etc' / 'layer').read_text() == 'image\n'
    assert (tmp_path / 'upper' / 'etc' / 'layer').read_text() == 'run\n'


def test_memory_is_limited_for_all_the_processes_together_and_its_peak_reported(fake_root,
                                                                                tmp_path):
    """bash builds a 300 MB string from what a child process sends it: over the 64 MiB."""
    status, _, output, _ = bash_in_root(
        fake_root, tmp_path, 'x="$(printf "%*s" 300000000 "")"; echo "built ${#x}"',
        memory_mib=64)
    ran_without = bash_in_root(fake_root, tmp_path, 'echo fits')
    assert status != 0 and 'built' not in output, output
    assert ran_without[0] == 0
    assert cgroups_left() == []


def test_cpu_time_is_limited_as_dockers_cpus_does(fake_root, tmp_path):
    """A busy loop of 2 s of wall time with 0.1 CPU gets about 0.2 s of CPU time (more load on
    this machine can only make it less)."""
    status, _, output, _ = bash_in_root(
        fake_root, tmp_path, 'SECONDS=0; while (( SECONDS < 2 )); do :; done; times', cpus=0.1)
    user, system = re.findall(r'(\d+)m([\d.]+)s', output)[:2]
    used = sum(int(minutes) * 60 + float(seconds) for minutes, seconds in (user, system))
    assert status == 0 and used < 0.35, output
    assert cgroups_left() == []


def test_the_cgroups_hold_dockers_values_and_go_away(tmp_path):
    groups = bare_root.make_cgroups(f'test-{uuid.uuid4().hex[:8]}', memory_mib=768, cpus=0.5)
    try:
        values = {file: Path(folder, file).read_text().strip() for folder, files in
                  groups.items() for file in files if os.path.exists(Path(folder, file))}
        assert values.get('memory.limit_in_bytes', values.get('memory.max')) == str(768 << 20)
        assert values.get('cpu.cfs_quota_us') == '50000' or \
            values.get('cpu.max') == '50000 100000'
    finally:
        bare_root.remove_cgroups(groups)
    assert not any(os.path.exists(folder) for folder in groups)
    assert bare_root.make_cgroups('unused') == {}


def cgroups_left():
    """The cgroups bare_root made for this process's runs that are still there."""
    return [path for path in Path('/sys/fs/cgroup').rglob(f'bare-root-{os.getpid()}-*')]


def test_a_layer_path_overlayfs_cannot_take_is_refused(fake_root, tmp_path):
    for upper in (tmp_path / 'a:b', tmp_path / 'a,b'):
        with pytest.raises(bare_root.RootError, match="may not hold"):
            bare_root.run([fake_root], upper, ['/bin/bash'], tmp_path / 'log')
    with pytest.raises(bare_root.RootError, match='no such folder'):
        bare_root.run([tmp_path / 'missing'], tmp_path / 'upper', ['/bin/bash'], tmp_path / 'log')


def test_remove_refuses_a_folder_with_something_mounted_in_it(tmp_path):
    inside = tmp_path / 'root' / 'a dir'  # mountinfo writes the space as \040
    inside.mkdir(parents=True)
    subprocess.run(['mount', '-t', 'tmpfs', 'tmpfs', str(inside)], check=True)
    try:
        assert bare_root.mounts_under(tmp_path / 'root') == [str(inside)]
        with pytest.raises(bare_root.RootError, match=r'refusing to delete .*a dir is mounted'):
            bare_root.remove(tmp_path / 'root')
        assert inside.is_dir()
    finally:
        subprocess.run(['umount', str(inside)], check=True)
    bare_root.remove(tmp_path / 'root')
    assert not (tmp_path / 'root').exists()


# -- building the root: debootstrap, and apt-get when it is missing -----------------------------

class Recorder:
    """Stands for subprocess.run: records each command; answer(command) gives its exit status,
    or 'missing' for a program that is not there."""

    def __init__(self, answer=lambda command: 0, effect=None):
        self.commands, self.answer, self.effect = [], answer, effect

    def __call__(self, command, **options):
        self.commands.append(command)
        if self.effect:
            self.effect(command)
        status = self.answer(command)
        if status == 'missing':
            raise FileNotFoundError(command[0])
        return SimpleNamespace(returncode=status, stdout='E: Unable to locate package\n')


def test_debootstrap_is_used_where_it_is_and_installed_with_apt_get_where_it_is_not():
    run = Recorder()
    assert bare_root.ensure_debootstrap(lambda name: '/usr/sbin/debootstrap', run) == \
        '/usr/sbin/debootstrap'
    assert run.commands == []

    answers = iter([None, '/usr/sbin/debootstrap'])
    assert bare_root.ensure_debootstrap(lambda name: next(answers), run) == \
        '/usr/sbin/debootstrap'
    assert run.commands == [['apt-get', 'update'], ['apt-get', 'install', '-y', 'debootstrap']]


def test_when_debootstrap_cannot_be_installed_the_error_says_what_to_do():
    with pytest.raises(bare_root.RootError, match=r'(?s)`apt-get install -y debootstrap` failed '
                       r'\(status 100\):\nE: Unable to locate package\nInstall it'):
        bare_root.ensure_debootstrap(lambda name: None, Recorder(
            lambda command: 100 if 'install' in command else 0))
    with pytest.raises(bare_root.RootError, match='so is apt-get'):
        bare_root.ensure_debootstrap(lambda name: None, Recorder(lambda command: 'missing'))
    with pytest.raises(bare_root.RootError, match='not on PATH'):
        bare_root.ensure_debootstrap(lambda name: None, Recorder())


def test_build_runs_debootstrap_minbase_in_a_mount_namespace_and_renames_a_whole_root(tmp_path):
    target = tmp_path / 'cache' / 'debian'
    partial = tmp_path / 'cache' / 'debian.partial'
    partial.mkdir(parents=True)
    (partial / 'left by a killed build').write_text('')

    def debootstrap(command):
        assert not (partial / 'left by a killed build').exists()
        Path(command[-2]).mkdir(parents=True)
        (Path(command[-2]) / 'etc').mkdir()

    run = Recorder(effect=debootstrap)
    bare_root.build(target, tmp_path / 'log', run=run, which=lambda name: '/sbin/debootstrap')
    assert run.commands == [['unshare', '--mount', '--propagation', 'private',
                             '/sbin/debootstrap', '--variant=minbase', 'bookworm', str(partial),
                             'http://deb.debian.org/debian']]
    assert (target / 'etc').is_dir() and not partial.exists()
    with pytest.raises(bare_root.RootError, match='already exists'):
        bare_root.build(target, tmp_path / 'log', run=run, which=lambda name: '/sbin/x')


def test_a_failed_debootstrap_leaves_no_root_and_names_its_log(tmp_path):
    target = tmp_path / 'debian'
    with pytest.raises(bare_root.RootError, match=r'debootstrap failed \(status 1\).*see .*log'):
        bare_root.build(target, tmp_path / 'log', run=Recorder(lambda command: 1),
                        which=lambda name: '/sbin/debootstrap')
    assert not target.exists()


# -- the trial, on the fake root ----------------------------------------------------------------

# The fakes' scripts: setup.sh and run_autograder for the zip, a Python that grades at home.
FAKES = Path(__file__).resolve().parent / 'fakes'

SAMPLES = ['reference', 'untouched_release', 'reads_secrets']


@pytest.fixture(scope='module')
def files():
    """The real autograder's files, to be given fake scripts."""
    return gradescope.contents()


def fake_trial(tmp_path, fake_root, files, level='uid', shift=0, extra=()):
    """(SystemExit's code or None, what it printed, its work folder) of a trial on the fake root,
    with a fake zip (setup.sh, run_autograder) and a fake home grader."""
    cache = tmp_path / 'cache'
    if not cache.exists():
        cache.mkdir()
        shutil.copytree(fake_root, cache / gradescope_trial.BASE, symlinks=True)
    zip_path = tmp_path / 'autograder.zip'
    run_autograder = (FAKES / 'run_autograder.sh').read_text()
    gradescope.write_zip(zip_path, {**files, 'setup.sh': (FAKES / 'setup.sh').read_bytes(),
                                    'run_autograder': run_autograder.replace('@LEVEL@',
                                                                             level).encode()})
    home = tmp_path / 'home-python'
    home.write_text((FAKES / 'home_grader.py').read_text().replace('@PYTHON@', sys.executable)
                    .replace('@SHIFT@', str(shift)))
    home.chmod(0o755)
    ca = tmp_path / 'ca.crt'
    ca.write_text('the proxy of this machine\n')
    work = tmp_path / f'work-{level}-{shift}'
    argv = ['--cache', str(cache), '--zip', str(zip_path), '--home-python', str(home),
            '--ca-bundle', str(ca), '--work', str(work), '--only', *SAMPLES, *extra]
    code = None
    try:
        gradescope_trial.main(argv)
    except SystemExit as stop:
        code = stop.code
    return code, work


def test_the_trial_sets_up_grades_there_and_at_home_and_prints_the_table(fake_root, files,
                                                                        tmp_path, capsys):
    code, work = fake_trial(tmp_path, fake_root, files, extra=['--keep'])
    printed = capsys.readouterr().out
    assert code is None, printed
    assert f"reusing the bare root {tmp_path / 'cache' / gradescope_trial.BASE}" in printed
    table = printed[printed.index('submission  '):].splitlines()
    assert re.match(r'submission\s+there\s+at home\s+seconds there\s+seconds at home\s+'
                    r'MiB there$', table[0])
    assert re.match(r'reference\s+100\s+100\s+\d+\.\d\s+0\.2\s+\d+$', table[1]), table
    assert re.match(r'untouched_release\s+0\s+0\s+\d+\.\d\s+0\.2\s+\d+$', table[2]), table
    assert re.match(r'reads_secrets\s+25\s+25 \(sample.toml\)\s+\d+\.\d\s+-\s+\d+$', table[3])
    assert '(768 MiB, 0.5 CPU)' in printed
    assert 'every submission scores there as at home' in printed

    image = work / 'image' / 'autograder'
    assert (image / 'setup-ran').read_text() == 'setup.sh ran as 1 in /autograder/source\n'
    assert (image / 'ca-seen').read_text() == 'the proxy of this machine\n'
    assert (image / 'run_autograder').read_bytes() == (image / 'source' / 'run_autograder'
                                                       ).read_bytes()
    for name in SAMPLES:  # each on a fresh layer of its own over the image
        graded = work / 'runs' / name / 'autograder'
        assert sorted(path.name for path in (graded / 'submission').iterdir()) == \
            sorted(path.name for path in (work / 'submissions' / name).iterdir())
        results = json.loads((graded / 'results' / 'results.json').read_text())
        assert results['output'] == f"caps {DOCKER_MASK:016x} pid 1"
    assert not (image / 'results').exists() and not (image / 'submission').exists()
    assert bare_root.mounts_under(tmp_path) == []


def test_a_score_that_differs_at_home_fails_the_trial_and_keeps_its_logs(fake_root, files,
                                                                         tmp_path, capsys):
    code, work = fake_trial(tmp_path, fake_root, files, shift=1)
    printed = capsys.readouterr().out
    assert code == 'gradescope_trial.py: 1 check failed (PROBLEM above)'
    assert 'PROBLEM: reference: scores 100 there but 101 at home' in printed
    assert f"kept {work}" in printed and (work / 'setup.log').is_file()


def test_a_grader_that_did_not_take_the_uid_level_there_fails_the_trial(fake_root, files,
                                                                        tmp_path, capsys):
    code, _ = fake_trial(tmp_path, fake_root, files, level='namespace')
    printed = capsys.readouterr().out
    assert code and 'PROBLEM: reference: the grader took the namespace level, not uid' in printed
    assert len(re.findall(r'^PROBLEM: .*not uid', printed, re.M)) == len(SAMPLES)


def test_a_trial_that_went_well_deletes_its_work_folder(fake_root, files, tmp_path, capsys):
    code, work = fake_trial(tmp_path, fake_root, files)
    assert code is None, capsys.readouterr().out
    assert not work.exists()
    assert (tmp_path / 'cache' / gradescope_trial.BASE / 'usr').is_dir()  # the cache stays


def test_a_root_that_cannot_be_built_stops_the_trial_with_the_reason(fake_root, files, tmp_path,
                                                                     monkeypatch, capsys):
    def no_debootstrap(target, log, **options):
        raise bare_root.RootError("debootstrap is missing and so is apt-get: install it")

    monkeypatch.setattr(bare_root, 'build', no_debootstrap)
    (tmp_path / 'cache').mkdir()  # empty: the root must be built
    code, _ = fake_trial(tmp_path, fake_root, files)
    assert 'debootstrap is missing and so is apt-get' in code


def test_a_zip_that_is_no_autograder_is_refused_by_name(fake_root, files, tmp_path, capsys):
    not_autograder = tmp_path / 'notes.zip'
    gradescope.write_zip(not_autograder, {'notes.txt': b'no scripts here'})
    cache = tmp_path / 'cache'
    cache.mkdir()
    shutil.copytree(fake_root, cache / gradescope_trial.BASE, symlinks=True)
    with pytest.raises(SystemExit, match=r'notes.zip holds no setup.sh and no run_autograder'):
        gradescope_trial.main(['--cache', str(cache), '--zip', str(not_autograder),
                               '--only', 'reads_secrets', '--work', str(tmp_path / 'work')])


def test_the_comparison_names_each_difference_and_each_failure():
    rows = [{'name': 'same', 'there': 100.0, 'home': 100.0, 'home_from': 'home',
             'problems': []},
            {'name': 'differs', 'there': 51.6667, 'home': 58.3333, 'home_from': 'home',
             'problems': []},
            {'name': 'secret', 'there': 100.0, 'home': 25, 'home_from': 'sample.toml',
             'problems': []},
            {'name': 'broken', 'there': None, 'home': 100.0, 'home_from': 'home',
             'problems': ['it wrote no results.json (log: x.log)']}]
    assert gradescope_trial.compare(rows) == [
        'differs: scores 51.6667 there but 58.3333 at home',
        'secret: scores 100 there but 25 in sample.toml',
        'broken: it wrote no results.json (log: x.log)']
    assert gradescope_trial.compare(rows[:1]) == []


def test_the_level_grade_py_took_is_read_from_its_last_word_on_it():
    assert gradescope_trial.isolation_of(
        "note: isolation namespace: PermissionError; using uid\n"
        "graded 1 in 2.1 s with -j 1, isolation uid\n") == 'uid'
    assert gradescope_trial.isolation_of("grade.py: isolation auto: no level works") is None


@pytest.mark.parametrize('argv, message', [
    (['--only', 'reference', 'no_such_sample'], 'no_such_sample: no such sample'),
    (['--zip', 'a.zip', '--rubric', 'r.toml'], 'give it or --zip, not both'),
    (['--zip', '/no/such.zip'], 'no such file, or not a zip'),
    (['--zip', __file__], 'not a zip'),
    (['-j', '0'], 'must be at least 1'),
    (['--memory', '-1'], '0 (no limit) or more'),
    (['--home-python', '/no/such/python'], 'no such program'),
])
def test_bad_arguments_are_refused_with_the_reason(argv, message, capsys, monkeypatch):
    monkeypatch.setenv('GRADER_UID_PYTHON', sys.executable)
    with pytest.raises(SystemExit):
        gradescope_trial.parse(argv)
    assert message in capsys.readouterr().err


def test_without_a_python_for_the_uid_level_the_trial_says_how_to_get_one(capsys, monkeypatch,
                                                                         tmp_path):
    monkeypatch.delenv('GRADER_UID_PYTHON', raising=False)
    with pytest.raises(SystemExit):
        gradescope_trial.parse(['--only', 'reference'])
    assert 'need --home-python (or GRADER_UID_PYTHON)' in capsys.readouterr().err
    gradescope_trial.parse(['--only', 'reads_secrets'])  # graded there only: no need
    (tmp_path / 'old').mkdir()
    (tmp_path / 'old' / 'file').write_text('')
    with pytest.raises(SystemExit):
        gradescope_trial.parse(['--only', 'reads_secrets', '--work', str(tmp_path / 'old')])
    assert 'not empty' in capsys.readouterr().err
