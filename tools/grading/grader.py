"""Grade one submission: run its code on the official cases in the sandbox, judge, explain.

The grader's process keeps the expected values. For each run, the sandbox gets a job folder
holding the student release (stubs, no solutions) with the submission's files for the group
being run, the release's own loss.py and optimizer.py (the harness sets up every layer with
them), the cases' inputs and the harness. The harness sends progress and outputs back on a pipe
(tools/grading/channel.py): nothing in the job folder is ever read back.

Time is the grader's alone. Cases start in plan order, each once, and each has seconds_per_test
from the moment the grader hears it start, so a run cannot buy itself more than that per case;
the submission has seconds_per_submission in all, of which each group leaves seconds_per_test
for each group after it. A stage that hangs or crashes (forward, step, importing loss.py...) is
not run again: the later cases that need it fail at once ("not run: forward hung on case
public_small"), and the others still run.
"""
from kit.threads import ONE_THREAD

import json
import os
import secrets
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np

from dataloader import SPLIT_FILES, Dataset
from kit.idx import find_idx_file

from . import official, rules
from .channel import END, FINDING, LOST_PIPE, PARTIAL, RESULT, STAGE, STAGES, START, dead_on_arrival
from .outputs import Budget, Pump, Refused, unpack_arrays
from .rubric import round_points
from .sandbox import Output
from .storage import remove_tree

HERE = Path(__file__).resolve().parent
HARNESS_FILES = ('harness.py', 'channel.py')
# The graded code's whole environment; one BLAS thread, as the kit's own default.
CHILD_ENV = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'LANG': 'C.UTF-8', 'MPLBACKEND': 'Agg',
             **ONE_THREAD}
GROUP_ORDER = ('sgd', 'loss', 'train')  # the optimizer's quick cases first: nothing delays them


class Stopped(Exception):
    """Grader.stop was set while a submission was being graded: it has no grade."""


class Grader:
    """Grades submissions with one rubric, release and sandbox; safe to use from threads.
    Setting stop (a threading.Event) kills the runs under way and makes grade() raise Stopped.
    """

    def __init__(self, rubric, release, sandbox, tmp_root):
        self.rubric, self.release, self.sandbox = rubric, Path(release), sandbox
        self.stop = threading.Event()
        self.tmp_root = Path(tmp_root)
        self.cases = official.all_cases(rubric)
        self.functions = rules.student_functions(self.release)
        self.judge = official.Judge(*self._test_set())

    def _test_set(self):
        if not any(case.group == 'train' for case in self.cases):
            return None, None
        test = Dataset(str(self.release / 'data'), 'test')
        return test.images.astype(np.float64), test.labels

    # -- one submission ------------------------------------------------------------------------

    def grade(self, submission, slot):
        """The Gradescope results dict of submission (a submissions.Submission)."""
        start = time.monotonic()
        contents = submission.read()
        limits = self.rubric.limits
        deadline = start + limits['seconds_per_submission']
        groups = [group for group in GROUP_ORDER if any(c.group == group for c in self.cases)]
        results, outputs, seconds, heard = {}, {}, {}, []
        budget, blocked = Budget(), {}
        for number, group in enumerate(groups):
            cases = [case for case in self.cases if case.group == group]
            group_start = time.monotonic()
            missing = [name for name in official.GROUP_FILES[group] if name not in contents.files]
            if missing:
                for case in cases:
                    results[case.name] = ({}, f"{' and '.join(missing)} is missing from the "
                                              f"submission, so this could not run")
            else:
                outputs[group] = Output(limits['output_head_kib'] << 10,
                                        limits['output_tail_kib'] << 10)
                later = limits['seconds_per_test'] * (len(groups) - number - 1)
                results.update(self.run_group(group, cases, contents.files, slot,
                                              deadline - later, outputs[group], budget, blocked,
                                              heard))
            seconds[group] = time.monotonic() - group_start
        findings = rules.check(contents.files, self.functions, contents.problems)
        findings += rules.heard_findings(heard, findings)
        return self.report(contents, results, outputs, seconds, findings,
                           time.monotonic() - start)

    def run_group(self, group, cases, files, slot, deadline, output, budget, blocked, heard):
        """{case name: (outputs, error or None)} of running cases in the sandbox, in as many
        processes as it takes: a process that hangs or dies is followed by a fresh one for the
        cases after, with the stage it hung or died in blocked."""
        limits = self.rubric.limits
        results, remaining = {}, list(cases)
        while remaining:
            dead = dead_on_arrival(group, blocked)
            if dead:  # no process: it would compute nothing
                for case in remaining:
                    results[case.name] = ({}, dead)
                break
            if time.monotonic() >= deadline:
                for case in remaining:
                    results[case.name] = ({}, f"not run: the submission used up its "
                                              f"{limits['seconds_per_submission']} s")
                break
            run = self.run_once(group, remaining, files, slot, deadline, output, budget, blocked)
            heard += run.findings
            results.update(run.results)
            current = run.current
            if current is None:  # it never got to a case: a fresh process would not either
                for case in remaining:
                    results.setdefault(case.name, ({}, f"while {run.stage}: {run.why}"))
            elif current not in results:
                where = 'while' if run.stage.startswith(('importing', 'starting')) else 'in'
                partial = run.partial.get(current, {})
                results[current] = (partial, f"{where} {run.stage}: {run.why}")
                if run.verb:  # it hung or died: the stage is not run again
                    blocked[run.stage] = f"not run: {run.stage} {run.verb} on case {current}"
            remaining = [case for case in remaining if case.name not in results]
        return results

    def run_once(self, group, cases, files, slot, deadline, output, budget, blocked):
        """One process of the harness on cases, until it ends or is stopped: the Run."""
        limits = self.rubric.limits
        job = self.make_job(group, cases, files, slot, blocked)
        read_end, write_end = os.pipe()
        run = Run(group, cases, budget, limits, deadline)
        pump = Pump(read_end, run.handle, budget)

        def watch():
            return self.stop.is_set() or run.overdue(pump.error)

        try:
            status, _ = self.sandbox.run(
                job, [sys.executable, '-I', '-B', '{job}/harness.py', '{job}', str(write_end)],
                slot, {'memory': limits['memory_mib'] << 20,
                       'cpu': limits['seconds_per_submission']},
                CHILD_ENV, watch, output=output, pass_fds=(write_end,))
        finally:
            os.close(write_end)
            pump.finish()
            remove_tree(job)
        if self.stop.is_set():
            raise Stopped()
        if pump.error and not run.why:
            run.overdue(pump.error)
        if not run.why and output.stopped:  # the sandbox stopped it: over its disk quota
            run.stopped(output.stopped, 'went over its quota')
        if not run.why:
            run.ended(status, limits)
        return run

    def make_job(self, group, cases, files, slot, blocked):
        """A fresh job folder: code/ (release + the group's student files), release/, the plan,
        the inputs and the harness. The graded code may read it all, and needs to write none."""
        job = self.tmp_root / secrets.token_hex(8)
        code = job / 'code'
        code.mkdir(parents=True)
        for path in self.release.glob('*.py'):
            shutil.copyfile(path, code / path.name)
        # the kit's helpers, which the assignment's files import (solver.py: kit/threads.py);
        # copied as the files above are, without the source's permissions
        for path in (self.release / 'kit').rglob('*.py'):
            (code / path.relative_to(self.release)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, code / path.relative_to(self.release))
        official_names = {path.name for path in self.release.glob('*.py')}
        student_files = [name for name in files if name.endswith('.py') and
                         (name in official.GROUP_FILES[group] or name not in official_names)]
        for name in student_files:
            (code / name).write_bytes(files[name])
        (job / 'release').mkdir()
        for part in official.SETUP.values():
            shutil.copyfile(self.release / part['file'], job / 'release' / part['file'])
        if group == 'train':
            (code / 'data').mkdir()
            for name in SPLIT_FILES['train']:  # what the training run reads
                found = find_idx_file(self.release / 'data', name)
                shutil.copyfile(found, code / 'data' / found.name)
        for name in HARNESS_FILES:
            shutil.copyfile(HERE / name, job / name)
        plan = {'group': group, 'student_files': student_files, 'setup': official.SETUP,
                'blocked': blocked, 'frameworks': rules.FRAMEWORKS,
                'memory_mib': self.rubric.limits['memory_mib'],
                'cases': [{'name': case.name, 'meta': {**case.meta, 'seed': self.rubric.seed}}
                          for case in cases]}
        (job / 'plan.json').write_text(json.dumps(plan))
        np.savez(job / 'inputs.npz', **{f'{case.name}/{key}': value for case in cases
                                         for key, value in case.inputs.items()})
        for folder in (job, code, code / 'kit', job / 'release'):
            if folder.is_dir():
                os.chmod(folder, 0o755)
        self.sandbox.prepare(job, slot)
        return job

    # -- the report ----------------------------------------------------------------------------

    def report(self, contents, results, outputs, seconds, findings, total_seconds):
        tests, score, shown = [], 0.0, {}
        group_of = {name: spec[0] for name, spec in official.TESTS.items()}
        for item_name, item in self.rubric.items.items():
            verdicts = [self.judge.judge(test, self.cases, results) for test in item['tests']]
            passed = sum(ok for ok, _ in verdicts)
            points = round_points(item['points'] * passed / len(verdicts))
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
            tests.append({'name': item['title'], 'score': points,
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
            tests.append({'name': f"Rule: {rule['title']}", 'score': round_points(-penalty),
                          'max_score': 0, 'output': finding.message + note,
                          'visibility': 'visible', 'execution_time': 0.0,
                          'tags': ['rule', finding.rule]})
        penalty = sum(self.rubric.rules[rule]['penalty'] for rule in penalised)
        total = round_points(max(0.0, score - penalty))
        summary = (f"{total:g} of {self.rubric.max_score:g} points."
                   + ''.join(f"\n{problem}" for problem in contents.problems))
        return {'score': total, 'max_score': self.rubric.max_score,
                'execution_time': round(total_seconds, 3), 'output': summary,
                'visibility': 'visible', 'stdout_visibility': 'hidden', 'tests': tests}


class Run:
    """What the grader has heard from one process of the harness (handle() runs in the pump's
    thread; the rest reads it once the pump has finished, or reads single attributes).

    A case starts only when it is the next of the plan and the one before has its result, and
    only once: whatever the graded code sends, it cannot restart a case's clock, and a run lasts
    at most len(cases) * seconds_per_test.
    """

    def __init__(self, group, cases, budget, limits, deadline):
        self.stages, self.names = STAGES[group], [case.name for case in cases]
        self.budget, self.limits, self.deadline = budget, limits, deadline
        self.started, self.since, self.stage = 0, time.monotonic(), 'starting python'
        self.results, self.partial, self.findings = {}, {}, []
        self.finished = False
        self.why = self.verb = None  # why it ended, and what that did to its stage

    @property
    def current(self):
        return self.names[self.started - 1] if self.started else None

    def handle(self, kind, meta, data):
        current = self.current
        if kind == START:
            if self.started < len(self.names) and meta.get('case') == self.names[self.started] \
                    and (current is None or current in self.results):
                self.started += 1
                self.since, self.stage = time.monotonic(), 'starting'
        elif kind == STAGE and current is not None and meta.get('stage') in self.stages:
            self.stage = meta['stage']
        elif kind == PARTIAL and current is not None and current not in self.results:
            try:
                self.partial[current] = unpack_arrays(data, self.budget)
            except Refused:
                pass  # the partial outputs are a fallback: keep the last good ones
        elif kind == RESULT and meta.get('case') in self.names[:self.started] \
                and meta['case'] not in self.results:
            error = meta.get('error')
            error = None if error is None else str(error)[:2000]
            try:
                outputs = unpack_arrays(data, self.budget)
            except Refused as err:
                outputs, error = {}, f"its outputs were refused: {err}"
            self.results[meta['case']] = (outputs, error)
        elif kind == FINDING and len(self.findings) < 10 and rules.is_framework(meta.get('module')):
            self.findings.append({'module': meta['module'], 'stage': str(meta.get('stage'))[:100]})
        elif kind == END:
            self.finished = True

    def overdue(self, refused):
        """True when the run must be stopped now (and why is set)."""
        if refused:
            return self.stopped(f"it was stopped: {refused}",
                                f"overwhelmed the grader ({refused})")
        now = time.monotonic()
        limit = self.limits['seconds_per_test']
        if now - self.since > limit:
            return self.stopped(f"it took longer than {limit} s, the limit for one test, and was "
                                f"stopped (an endless loop?)", 'hung')
        if now > self.deadline:
            return self.stopped(f"it was stopped when the submission used up its "
                                f"{self.limits['seconds_per_submission']} s", None)
        return False

    def stopped(self, why, verb):
        self.why, self.verb = why, verb
        return True

    def ended(self, status, limits):
        """Why the process ended by itself (status: its exit status)."""
        if self.finished:
            self.why = "it ended"
        elif status == 0:
            self.stopped("the process ended with status 0 before this case finished: something "
                         "called sys.exit(), os._exit() or exit(); return from the function "
                         "instead", 'ended the process')
        elif status == LOST_PIPE:
            self.stopped("the process closed the grader's pipe (file descriptor "
                         "tampering?)", 'crashed')
        elif status is not None and (status < 0 or status > 128):
            number = -status if status < 0 else status - 128
            name = {9: 'SIGKILL', 24: 'SIGXCPU', 25: 'SIGXFSZ', 11: 'SIGSEGV', 6: 'SIGABRT'}.get(
                number, f'signal {number}')
            self.stopped(f"the process was killed by {name} (the limits are "
                         f"{limits['memory_mib']} MiB of memory and "
                         f"{limits['seconds_per_submission']} CPU seconds)", 'crashed')
        else:
            self.stopped(f"the process ended with status {status} before this case finished",
                         'crashed')

