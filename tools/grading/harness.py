"""Run a submission's code on the grader's cases, inside the sandbox; never sees expected values.

    python -I -B harness.py JOB FD

JOB holds plan.json (the group, its cases, the stages to skip), inputs.npz ('<case>/<name>'
arrays), release/ (the release's own loss.py and optimizer.py) and code/ (the student release
with the submission's files in it). FD is the write end of the grader's pipe: for each case the
harness sends START, then STAGE before each step of it (importing loss.py, forward, ...) with
PARTIAL, what the case computed so far, and at its end RESULT, its outputs and error (frames of
tools/grading/channel.py). The grader judges the outputs in its own process; whatever this
process does, it can only hand back numbers.

The grader sets up every layer, not the student: the set-up methods of the students' classes
(__init__, XavierInit) are the release's (plan['setup']), so only the functions the students
write run their code. A stage the plan lists as blocked (it hung or crashed on an earlier case)
is not run again. A deep-learning framework cannot be imported here: a finder refuses it, an
audit hook backs the finder up, and each attempt is sent to the grader as a FINDING.
"""
import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path


def load(name, path):
    """The module in the file path, imported as name (python -I keeps folders off sys.path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


channel = load('channel', Path(__file__).resolve().with_name('channel.py'))
JOB = Path(sys.argv[1]).resolve()
CODE = JOB / 'code'
NETWORK_EVENTS = {'socket.connect', 'socket.bind', 'socket.sendto', 'socket.sendmsg',
                  'socket.getaddrinfo', 'socket.gethostbyname', 'socket.gethostbyaddr'}
CODE_FILES = ('.py', '.pyc', '.so')  # what importing a module opens


class NotRun(Exception):
    """A stage the plan blocks; the message says why (e.g. 'not run: forward hung on ...')."""


def send(kind, meta=None, data=b''):
    """Write one frame on the grader's pipe; without the pipe there is nothing left to do."""
    message = memoryview(channel.frame(kind, meta, data))
    try:
        while message:
            message = message[os.write(PIPE, message):]
    except OSError:
        os._exit(channel.LOST_PIPE)


class Frameworks(importlib.abc.MetaPathFinder):
    """Refuses deep-learning frameworks, however the import is spelled, and reports each."""

    def __init__(self, names):
        self.names, self.reported, self.stage = set(names), set(), 'starting'

    def find_spec(self, name, path=None, target=None):
        self.refuse(name)
        return None

    def refuse(self, name):
        top = name.partition('.')[0]
        if top not in self.names:
            return
        if top not in self.reported:
            self.reported.add(top)
            send(channel.FINDING, {'module': top, 'stage': self.stage})
        raise ImportError(f"the grader refuses to import {name}: the assignment forbids "
                          f"deep-learning frameworks", name=name)

    def audit(self, event, args):
        """The backstop, which cannot be removed: import statements, and the files that an
        import reads (a finder the graded code put first still has to open them)."""
        if event in NETWORK_EVENTS:
            raise PermissionError("the grader gives submitted code no network access")
        if event == 'import' and isinstance(args[0], str):
            self.refuse(args[0])
        elif event == 'open' and isinstance(args[0], str) and args[0].endswith(CODE_FILES):
            for part in Path(args[0]).parts[:-1] + (Path(args[0]).name.split('.')[0],):
                self.refuse(part)


def describe(err, during, student_files):
    """'forward raised ValueError: ... (loss.py, line 42: `x = y`)', for the feedback; the
    line is the last one of the submission's own files in the traceback."""
    if isinstance(err, NotRun):
        return str(err)
    if isinstance(err, SystemExit):
        text = f"{during} called sys.exit({err.code!r}); the code must return, not exit"
    else:
        text = f"{during} raised {type(err).__name__}: {err}"
    frames = [frame for frame in traceback.extract_tb(err.__traceback__)
              if Path(frame.filename).name in student_files
              and Path(frame.filename).resolve().parent == CODE]
    if frames:
        frame = frames[-1]
        text += f" ({Path(frame.filename).name}, line {frame.lineno}: `{frame.line}`)"
    return text[:2000]


def as_array(np, value, what):
    array = np.asarray(value)
    if array.dtype.kind not in 'biuf':
        raise TypeError(f"{what} is {type(value).__name__} {str(value)[:80]!r}, not a number or an "
                        f"array of numbers")
    return array.copy()


class Submission:
    """The submission's modules, each class's set-up methods replaced by the release's."""

    def __init__(self, setup):
        self.setup, self.ready = setup, {}
        self.release = {part: load(f"release_{Path(spec['file']).stem}",
                                   JOB / 'release' / spec['file'])
                        for part, spec in setup.items()}

    def cls(self, part):
        """The class of part ('loss': loss.py's SoftmaxCrossEntropyLoss), set up as the
        release's: its set-up methods are the release's, and release methods it lacks are added."""
        if part in self.ready:
            return self.ready[part]
        file, name = self.setup[part]['file'], self.setup[part]['class']
        found = getattr(importlib.import_module(Path(file).stem), name, None)
        if not isinstance(found, type):
            raise ImportError(f"{file} defines no class {name}")
        release = getattr(self.release[part], name)
        for method in self.setup[part]['methods']:
            setattr(found, method, release.__dict__[method])
        for method, value in vars(release).items():
            if callable(value) and not hasattr(found, method):
                setattr(found, method, value)
        self.ready[part] = found
        return found


class StandInLayer:
    """What SGD sees in the 'sgd' cases: a layer's attributes, the grader's values, no code."""

    def __init__(self, W, b, dtype):
        self.num_input, self.num_output = W.shape
        self.trainable, self.dtype = True, dtype
        self.W, self.b = W, b
        self.grad_W, self.grad_b = None, None


def run_loss(np, case, arrays, outputs, submission):
    importing, constructing, forward, gradient_computing = channel.STAGES['loss']
    yield importing
    Layer = submission.cls('loss')
    yield constructing
    W, b = arrays['W'], arrays['b']
    layer = Layer(W.shape[0], W.shape[1], dtype=np.dtype(case['meta']['dtype']),
                  rng=case['meta']['seed'])
    layer.W, layer.b = W.copy(), b.copy()
    yield forward
    returned = layer.forward(arrays['Input'].copy(), arrays['labels'].copy())
    if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
        raise TypeError(f"forward must return (loss, acc); it returned {str(returned)[:80]}")
    outputs['loss'] = as_array(np, returned[0], 'the loss forward returned')
    outputs['acc'] = as_array(np, returned[1], 'the accuracy forward returned')
    yield gradient_computing
    layer.gradient_computing()
    for name in ('grad_W', 'grad_b'):
        if getattr(layer, name, None) is not None:
            outputs[name] = as_array(np, getattr(layer, name), name)


def run_sgd(np, case, arrays, outputs, submission):
    importing, constructing, step = channel.STAGES['sgd']
    yield importing
    Optimizer = submission.cls('optimizer')
    meta = case['meta']
    layer = StandInLayer(arrays['W0'].copy(), arrays['b0'].copy(), np.dtype(meta['dtype']))
    yield constructing
    optimizer = Optimizer(layer, meta['learning_rate'], meta['momentum'])
    yield step
    after = {'W': [], 'b': []}
    for grad_W, grad_b in zip(arrays['grad_W'], arrays['grad_b']):
        layer.grad_W, layer.grad_b = grad_W.copy(), grad_b.copy()
        optimizer.step()
        for name in after:
            after[name].append(as_array(np, getattr(layer, name), name))
            outputs[name] = np.stack(after[name])  # the steps so far, should a later one fail


def run_train(np, case, arrays, outputs, submission):
    importing_loss, importing_optimizer, constructing, training = channel.STAGES['train']
    yield importing_loss
    submission.cls('loss')
    yield importing_optimizer
    submission.cls('optimizer')
    yield constructing
    import solver
    trainer = solver.Solver({**case['meta']['cfg'], 'data_root': str(CODE / 'data')}, log=None)
    yield training
    trainer.train()
    outputs['W'] = as_array(np, trainer.model.W, 'W')
    outputs['b'] = as_array(np, trainer.model.b, 'b')


RUNNERS = {'loss': run_loss, 'sgd': run_sgd, 'train': run_train}


def main():
    import numpy as np  # before the submission's folder is on sys.path: its numpy.py is not

    plan = json.loads((JOB / 'plan.json').read_text())
    with np.load(JOB / 'inputs.npz', allow_pickle=False) as npz:
        inputs = {key: npz[key] for key in npz.files}
    submission = Submission(plan['setup'])
    frameworks = Frameworks(plan['frameworks'])
    sys.addaudithook(frameworks.audit)
    sys.meta_path.insert(0, frameworks)
    os.chdir(CODE)
    sys.path.insert(0, str(CODE))
    runner = RUNNERS[plan['group']]
    for case in plan['cases']:
        name = case['name']
        send(channel.START, {'case': name})
        prefix = name + '/'
        arrays = {key[len(prefix):]: value for key, value in inputs.items()
                  if key.startswith(prefix)}
        outputs, error, stage = {}, None, 'starting'
        try:
            for stage in runner(np, case, arrays, outputs, submission):
                frameworks.stage = stage
                why = channel.blocked_stage(plan['group'], stage, plan['blocked'])
                if why:
                    raise NotRun(why)
                send(channel.STAGE, {'stage': stage})
                send(channel.PARTIAL, data=channel.pack_arrays(np, outputs))
        except BaseException as err:  # noqa: B902  student code may raise anything, exits too
            if isinstance(err, KeyboardInterrupt):
                raise
            error = describe(err, stage, plan['student_files'])
            if isinstance(err, MemoryError):
                error += f" (each process may use {plan['memory_mib']} MiB)"
        send(channel.RESULT, {'case': name, 'error': error}, channel.pack_arrays(np, outputs))
    send(channel.END)


if __name__ == '__main__':
    PIPE = int(sys.argv[2])
    main()
