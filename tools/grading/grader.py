"""Grade one submission: run its code on the official cases in the sandbox, judge, explain.

The grader's process keeps the expected values; the sandbox gets a job folder holding the
student release (stubs, no solutions), the submission's files for the group being run, the
cases' inputs and harness.py. A case that hangs is killed after seconds_per_test and the rest of
its group run again in a fresh process, so one bad case costs only its own tests.
"""
import json
import os
import secrets
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np

from . import official, rules
from .sandbox import Output

HARNESS = Path(__file__).resolve().parent / 'harness.py'
MAX_OUTPUT_FILE = 64 << 20
CHILD_ENV = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'LANG': 'C.UTF-8', 'OMP_NUM_THREADS': '1',
             'OPENBLAS_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
TRAIN_FILES = ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz')


class Stopped(Exception):
    """Grader.stop was set while a submission was being graded: it has no grade."""


class Grader:
    """Grades submissions with one rubric, release and sandbox; safe to use from threads.
    Setting stop (a threading.Event) kills the runs under way and makes grade() raise Stopped.
    """

    def __init__(self, rubric, release, sandbox, tmp_root, kit=official.KIT):
        self.rubric, self.release, self.sandbox = rubric, Path(release), sandbox
        self.stop = threading.Event()
        self.tmp_root = Path(tmp_root)
        self.cases = official.all_cases(rubric)
        self.functions = rules.student_functions(self.release)
        self.judge = official.Judge(*self._test_set(kit))

    def _test_set(self, kit):
        if not any(case.group == 'train' for case in self.cases):
            return None, None
        sys.path.insert(0, str(kit))
        from dataloader import Dataset
        test = Dataset(str(self.release / 'data'), 'test')
        return test.images.astype(np.float64), test.labels

    # -- one submission ------------------------------------------------------------------------

    def grade(self, submission, slot):
        """The Gradescope results dict of submission (a submissions.Submission)."""
        start = time.monotonic()
        limits = self.rubric.limits
        deadline = start + limits['seconds_per_submission']
        results, outputs, seconds = {}, {}, {}
        for group in ('loss', 'sgd', 'train'):
            cases = [case for case in self.cases if case.group == group]
            if not cases:
                continue
            group_start = time.monotonic()
            missing = [name for name in official.GROUP_FILES[group]
                       if name not in submission.files]
            if missing:
                for case in cases:
                    results[case.name] = ({}, f"{' and '.join(missing)} is missing from the "
                                              f"submission, so this could not run")
            else:
                results.update(self.run_group(group, cases, submission, slot, deadline, outputs))
            seconds[group] = time.monotonic() - group_start
        findings = rules.check(submission.files, self.functions)
        return self.report(submission, results, outputs, seconds, findings,
                           time.monotonic() - start)

    def run_group(self, group, cases, submission, slot, deadline, outputs):
        """{case name: (outputs, error or None)} of running cases in the sandbox."""
        limits = self.rubric.limits
        output = outputs[group] = Output(limits['output_head_kib'] << 10,
                                         limits['output_tail_kib'] << 10)
        results, remaining = {}, list(cases)
        while remaining:
            if time.monotonic() >= deadline:
                for case in remaining:
                    results[case.name] = ({}, f"not run: the submission used up its "
                                              f"{limits['seconds_per_submission']} s")
                break
            job = self.make_job(group, remaining, submission, slot)
            state = {'current': None, 'stage': 'starting python', 'since': time.monotonic(),
                     'seen': 0, 'why': None}

            def follow():
                for line in read_new_lines(job / 'progress', state):
                    if line.startswith('start '):
                        state['current'], state['since'] = line[6:], time.monotonic()
                        state['stage'] = f"importing {' and '.join(official.GROUP_FILES[group])}"
                    elif line.startswith('stage '):
                        state['stage'] = line[6:]

            def watch():
                follow()
                now = time.monotonic()
                if self.stop.is_set():
                    return True
                if now - state['since'] > limits['seconds_per_test']:
                    state['why'] = (f"it took longer than {limits['seconds_per_test']} s, the "
                                    f"limit for one test, and was stopped (an endless loop?)")
                    return True
                if now > deadline:
                    state['why'] = (f"it was stopped when the submission used up its "
                                    f"{limits['seconds_per_submission']} s")
                    return True
                return False

            status, _ = self.sandbox.run(
                job, [sys.executable, '-I', '-B', '{job}/harness.py', '{job}'], slot,
                {'memory': limits['memory_mib'] << 20, 'cpu': limits['seconds_per_submission']},
                CHILD_ENV, watch, output=output)
            if self.stop.is_set():
                shutil.rmtree(job, ignore_errors=True)
                raise Stopped(submission.name)
            follow()  # the lines written as it ended
            before = len(results)
            for case in remaining:
                found = read_outputs(job / 'out', case.name)
                if found is not None:
                    results[case.name] = found
            current, stage = state['current'], state['stage']
            why = f"while {stage}: " if stage.startswith(('importing', 'starting')) \
                else f"in {stage}: "
            why += state['why'] or ended_early(status, limits)
            if current and current not in results:
                partial = read_outputs(job / 'out', current + '.partial')
                results[current] = (partial[0] if partial else {}, why)
            shutil.rmtree(job, ignore_errors=True)
            if len(results) == before or stage.startswith(('importing', 'starting')):
                # It did not get past the import: the next process would not either.
                for case in remaining:
                    results.setdefault(case.name, ({}, why))
            remaining = [case for case in remaining if case.name not in results]
        return results

    def make_job(self, group, cases, submission, slot):
        """A fresh job folder: code/ (release + the group's student files), plan, inputs."""
        job = self.tmp_root / secrets.token_hex(8)
        code = job / 'code'
        code.mkdir(parents=True)
        (job / 'out').mkdir()
        for path in self.release.glob('*.py'):
            shutil.copyfile(path, code / path.name)
        # the kit's helpers, which the assignment's files import (solver.py: kit/threads.py);
        # copied as the files above are, without the source's permissions
        for path in (self.release / 'kit').rglob('*.py'):
            (code / path.relative_to(self.release)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, code / path.relative_to(self.release))
        official_names = {path.name for path in self.release.glob('*.py')}
        for name, data in submission.files.items():
            if name.endswith('.py') and (name in official.GROUP_FILES[group]
                                         or name not in official_names):
                (code / name).write_bytes(data)
        if group == 'train':
            (code / 'data').mkdir()
            for name in TRAIN_FILES:
                shutil.copyfile(self.release / 'data' / name, code / 'data' / name)
        shutil.copyfile(HARNESS, job / 'harness.py')
        plan = {'group': group, 'files': list(official.GROUP_FILES[group]),
                'memory_mib': self.rubric.limits['memory_mib'],
                'cases': [{'name': case.name, 'meta': case.meta} for case in cases]}
        (job / 'plan.json').write_text(json.dumps(plan))
        np.savez(job / 'inputs.npz', **{f'{case.name}/{key}': value for case in cases
                                         for key, value in case.inputs.items()})
        (job / 'progress').touch()
        os.chmod(code, 0o755)
        self.sandbox.prepare(job, slot, [job / 'out', job / 'progress'])
        return job

    # -- the report ----------------------------------------------------------------------------

    def report(self, submission, results, outputs, seconds, findings, total_seconds):
        tests, score, shown = [], 0.0, {}
        group_of = {name: spec[0] for name, spec in official.TESTS.items()}
        for item_name, item in self.rubric.items.items():
            verdicts = [self.judge.judge(test, self.cases, results) for test in item['tests']]
            passed = sum(ok for ok, _ in verdicts)
            points = item['points'] * passed / len(verdicts)
            score += points
            groups = sorted({group_of[test] for test in item['tests']})
            text = '\n\n'.join(message for _, message in verdicts)
            for group in groups:
                output = outputs.get(group)
                if output is None or not output.total:
                    continue
                if group in shown:
                    text += f"\n\nWhat your code printed is under {shown[group]}."
                    continue
                shown[group] = item['title']
                cut = ' (its start and its end)' if output.total > len(output.text()) else ''
                text += (f"\n\nYour code printed {output.total} bytes while these tests ran"
                         f"{cut}:\n{output.text()}")
            tests.append({'name': item['title'], 'score': round(points, 4),
                          'max_score': item['points'], 'output': text, 'visibility': 'visible',
                          'execution_time': round(sum(seconds.get(g, 0) for g in groups), 3),
                          'tags': [item_name]})
        penalised = set()
        for finding in findings:
            rule = self.rubric.rules[finding.rule]
            penalty = rule['penalty'] if finding.rule not in penalised else 0
            penalised.add(finding.rule)
            note = (f" (-{rule['penalty']:g} points, taken once for this rule)" if penalty
                    else " (this rule's penalty is taken once)" if rule['penalty'] else '')
            tests.append({'name': f"Rule: {rule['title']}", 'score': -penalty, 'max_score': 0,
                          'output': finding.message + note, 'visibility': 'visible',
                          'execution_time': 0.0, 'tags': ['rule', finding.rule]})
        penalty = sum(self.rubric.rules[rule]['penalty'] for rule in penalised)
        total = max(0.0, score - penalty)
        summary = (f"{total:g} of {self.rubric.max_score:g} points."
                   + ''.join(f"\n{problem}" for problem in submission.problems))
        return {'score': round(total, 4), 'max_score': self.rubric.max_score,
                'execution_time': round(total_seconds, 3), 'output': summary,
                'visibility': 'visible', 'stdout_visibility': 'hidden', 'tests': tests}


def read_new_lines(path, state):
    """Lines appended to path since the last call (state['seen'] counts the bytes read)."""
    try:
        with open(path, 'rb') as stream:
            stream.seek(state['seen'])
            data = stream.read(1 << 16)
    except OSError:
        return []
    end = data.rfind(b'\n') + 1
    state['seen'] += end
    return data[:end].decode('utf-8', errors='replace').splitlines()


def read_outputs(folder, name):
    """(outputs, error) a case left in folder, or None if it did not finish."""
    path = folder / f'{name}.npz'
    if not path.is_file() or path.is_symlink():
        return None
    error = None
    try:
        note = folder / f'{name}.json'
        if note.is_file() and not note.is_symlink() and note.stat().st_size < 65536:
            error = str(json.loads(note.read_text()).get('error'))[:2000]
    except (OSError, ValueError, AttributeError):
        error = None
    try:
        if path.stat().st_size > MAX_OUTPUT_FILE:
            return {}, "its outputs were too large to read"
        with np.load(path, allow_pickle=False) as npz:
            outputs = {key: npz[key] for key in npz.files}
    except Exception as err:  # anything in a file the submission could have written
        return {}, f"its outputs could not be read ({type(err).__name__})"
    return outputs, error


def ended_early(status, limits):
    if status is None:
        return "it was stopped"
    if status == 0:
        return ("the process ended with status 0 before this case finished: something called "
                "sys.exit(), os._exit() or exit(); return from the function instead")
    if status < 0 or status > 128:
        number = -status if status < 0 else status - 128
        name = {9: 'SIGKILL', 24: 'SIGXCPU', 25: 'SIGXFSZ', 11: 'SIGSEGV', 6: 'SIGABRT'}.get(
            number, f'signal {number}')
        return (f"the process was killed by {name} (the limits are "
                f"{limits['memory_mib']} MiB of memory and {limits['seconds_per_submission']} "
                f"CPU seconds)")
    return f"the process ended with status {status} before this case finished"
