"""The documents' commands run as written.

Every command in a code block of the documents names a file that exists, and each of its flags is
one its script accepts (`--help`). The commands that are quick and need no placeholder filled in
are run for real, in a copy of this source as a fresh clone has it, and what the documents say
they print is checked.
"""
import functools
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[2]
DOCUMENTS = ['README.md', 'docs/instructors.md', 'docs/data.md', 'bench/README.md',
             'data/README.md', 'tools/student_README.md', 'tests/instructor/samples/README.md']
PROGRAMS = ('python', 'pip', 'jupyter', 'bash', 'git')
# Run for real: the command as a document gives it, and a line of what it prints. Each is
# checked to stand in a document, so a command edited there must be edited here too.
RUN = {
    'python solver.py': 'Final test accuracy 0.9218',
    'python solver.py --momentum 0': 'Final test accuracy 0.9027',
    'python dataloader.py verify': 'All four files are fine',
    'python tools/release.py --out release/': 'solution regions replaced by stubs',
    'python tools/gradescope.py': 'autograder.zip',
}


def commands():
    """[(document, command)] of every command line in the documents' code blocks, and of every
    inline `python ...` (or pip, jupyter...) in their prose."""
    found = []
    for name in DOCUMENTS:
        text = (KIT / name).read_text(encoding='utf-8')
        blocks = re.findall(r'^```[a-z]*\n(.*?)^```', text, flags=re.S | re.M)
        prose = re.sub(r'^```[a-z]*\n.*?^```', '', text, flags=re.S | re.M)
        inline = re.findall(r'`((?:%s) [^`]+)`' % '|'.join(PROGRAMS), prose.replace('\n', ' '))
        for block in blocks + inline:
            lines = block.replace('\\\n', ' ').splitlines()
            for line in lines:
                command = line.split(' #')[0].strip()
                words = command.split()
                while words and (words[0] == 'sudo' or re.fullmatch(r'[A-Z_]+=\S+', words[0])):
                    words = words[1:]
                if words and words[0] in PROGRAMS:
                    found.append((name, ' '.join(words)))
    return found


COMMANDS = commands()


def test_the_documents_hold_commands_and_each_command_to_run():
    assert len(COMMANDS) > 30
    documented = {command for _, command in COMMANDS}
    for command in RUN:
        assert command in documented, f"{command!r} is no longer in the documents: update RUN"


@functools.lru_cache(maxsize=None)
def help_of(*command):
    """What command --help prints, run once for all the documents' commands that use it."""
    return subprocess.run([*command, '--help'], capture_output=True, text=True, cwd=KIT,
                          timeout=120)


@pytest.mark.parametrize('document, command', COMMANDS, ids=[c for _, c in COMMANDS])
def test_each_command_names_files_that_exist_and_flags_its_script_takes(document, command):
    words = command.split()
    if words[0] == 'pip':
        assert (KIT / words[words.index('-r') + 1]).is_file(), (document, command)
        return
    if words[0] == 'bash':
        assert (KIT / words[1]).is_file(), (document, command)
        return
    if words[0] in ('jupyter', 'git'):
        if 'nbconvert' in words:
            assert {'--to', '--execute', '--inplace'} <= set(words)
        for word in words[1:]:
            if re.fullmatch(r'[\w./-]+\.(ipynb|py)', word):
                assert (KIT / word).is_file(), (document, command)
        return
    if words[1:3] == ['-m', 'pytest']:
        for before, word in zip(words[2:], words[3:]):
            if not word.startswith('-') and before not in ('-k', '-m'):
                assert (KIT / word.split('::')[0]).exists(), (document, command)
        return
    if words[1] == '-m':  # one of the kit's modules: python -m bench.run, python -m tools.grade
        script = KIT / (words[2].replace('.', '/') + '.py')
        run, rest = [sys.executable, '-m', words[2]], words[3:]
    else:
        script = KIT / words[1]
        run, rest = [sys.executable, str(script)], words[2:]
    assert script.is_file(), (document, command)
    # A subcommand (dataloader.py verify) has a --help of its own.
    sub = rest[:1] if rest[:1] in (['verify'], ['download']) else []
    helped = help_of(*run, *sub)
    assert helped.returncode == 0, (document, command, helped.stderr)
    for flag in re.findall(r'(?<![\w-])(--?[a-zA-Z][\w-]*)', ' '.join(rest)):
        assert re.search(rf'(?<![\w-]){re.escape(flag)}\b', helped.stdout), \
            f"{document}: {command}: {script.name} takes no {flag}"


@pytest.fixture(scope='module')
def clone(tmp_path_factory):
    """This source's tracked files as a fresh clone has them (the data unpacked nowhere)."""
    folder = tmp_path_factory.mktemp('clone')
    listed = subprocess.run(['git', 'ls-files', '-z'], capture_output=True, cwd=KIT, check=True)
    for name in listed.stdout.decode().split('\0'):
        if name and (KIT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(KIT / name, folder / name)
    return folder


@pytest.mark.parametrize('command', RUN)
def test_the_quick_commands_run_as_written_and_print_what_the_documents_say(clone, command):
    words = shlex.split(command)
    done = subprocess.run([sys.executable, *words[1:]], capture_output=True, text=True,
                          cwd=clone, timeout=300)
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert RUN[command] in done.stdout, f"{command} no longer prints {RUN[command]!r}"
