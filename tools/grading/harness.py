"""Run a submission's code on the grader's cases, inside the sandbox; never sees expected values.

    python -I -B harness.py JOB

JOB holds plan.json (the group and its cases), inputs.npz ('<case>/<name>' arrays) and code/
(the student release with the submission's files in it). For each case the harness appends
'start <case>' to JOB/progress, then 'stage <what>' before each call of the student's code
(SoftmaxCrossEntropyLoss(...), forward, gradient_computing...), runs it, and writes what it
computed to JOB/out/<case>.npz, with JOB/out/<case>.json holding the error if the code raised.
What a case computed so far is in JOB/out/<case>.partial.npz, should the process die. The grader
judges those outputs in its own process; whatever this process does, it can only hand back
numbers.
"""
import json
import os
import sys
import traceback
from pathlib import Path

JOB = Path(sys.argv[1]).resolve()
CODE = JOB / 'code'
STUDENT_FILES = ('loss.py', 'optimizer.py')
NETWORK_EVENTS = {'socket.connect', 'socket.bind', 'socket.sendto', 'socket.sendmsg',
                  'socket.getaddrinfo', 'socket.gethostbyname', 'socket.gethostbyaddr'}


def no_network(event, args):
    if event in NETWORK_EVENTS:
        raise PermissionError("the grader gives submitted code no network access")


def describe(err, during):
    """'forward raised ValueError: ... (loss.py, line 42: `x = y`)', for the feedback."""
    if isinstance(err, SystemExit):
        text = f"{during} called sys.exit({err.code!r}); the code must return, not exit"
    else:
        text = f"{during} raised {type(err).__name__}: {err}"
    frames = [frame for frame in traceback.extract_tb(err.__traceback__)
              if Path(frame.filename).name in STUDENT_FILES
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


class StandInLayer:
    """What SGD sees in the 'sgd' cases: a layer's attributes, the grader's values, no code."""

    def __init__(self, W, b, dtype):
        self.num_input, self.num_output = W.shape
        self.trainable, self.dtype = True, dtype
        self.W, self.b = W, b
        self.grad_W, self.grad_b = None, None


def run_loss(np, case, arrays, outputs):
    from loss import SoftmaxCrossEntropyLoss
    yield 'SoftmaxCrossEntropyLoss(...)'
    W, b = arrays['W'], arrays['b']
    layer = SoftmaxCrossEntropyLoss(W.shape[0], W.shape[1], dtype=np.dtype(case['meta']['dtype']))
    layer.W, layer.b = W.copy(), b.copy()
    yield 'forward'
    returned = layer.forward(arrays['Input'].copy(), arrays['labels'].copy())
    if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
        raise TypeError(f"forward must return (loss, acc); it returned {str(returned)[:80]}")
    outputs['loss'] = as_array(np, returned[0], 'the loss forward returned')
    outputs['acc'] = as_array(np, returned[1], 'the accuracy forward returned')
    yield 'gradient_computing'
    layer.gradient_computing()
    for name in ('grad_W', 'grad_b'):
        if getattr(layer, name, None) is not None:
            outputs[name] = as_array(np, getattr(layer, name), name)


def run_sgd(np, case, arrays, outputs):
    from optimizer import SGD
    meta = case['meta']
    layer = StandInLayer(arrays['W0'].copy(), arrays['b0'].copy(), np.dtype(meta['dtype']))
    yield 'SGD(...)'
    optimizer = SGD(layer, meta['learning_rate'], meta['momentum'])
    yield 'step'
    after = {'W': [], 'b': []}
    for grad_W, grad_b in zip(arrays['grad_W'], arrays['grad_b']):
        layer.grad_W, layer.grad_b = grad_W.copy(), grad_b.copy()
        optimizer.step()
        for name in after:
            after[name].append(as_array(np, getattr(layer, name), name))
            outputs[name] = np.stack(after[name])  # the steps so far, should a later one fail


def run_train(np, case, arrays, outputs):
    import solver
    yield 'Solver(cfg)'
    trainer = solver.Solver({**case['meta']['cfg'], 'data_root': str(CODE / 'data')}, log=None)
    yield 'training'
    trainer.train()
    outputs['W'] = as_array(np, trainer.model.W, 'W')
    outputs['b'] = as_array(np, trainer.model.b, 'b')


def save(np, name, outputs):
    out = JOB / 'out'
    np.savez(out / f'.{name}.npz', **outputs)
    os.replace(out / f'.{name}.npz', out / f'{name}.npz')


RUNNERS = {'loss': run_loss, 'sgd': run_sgd, 'train': run_train}


def main():
    os.chdir(CODE)
    sys.path.insert(0, str(CODE))
    sys.addaudithook(no_network)
    import numpy as np

    plan = json.loads((JOB / 'plan.json').read_text())
    with np.load(JOB / 'inputs.npz', allow_pickle=False) as npz:
        inputs = {key: npz[key] for key in npz.files}
    progress = open(JOB / 'progress', 'a', buffering=1)
    runner = RUNNERS[plan['group']]
    for case in plan['cases']:
        name = case['name']
        progress.write(f"start {name}\n")
        prefix = name + '/'
        arrays = {key[len(prefix):]: value for key, value in inputs.items()
                  if key.startswith(prefix)}
        outputs, error, stage = {}, None, f"importing {' and '.join(plan['files'])}"
        try:
            for stage in runner(np, case, arrays, outputs):
                progress.write(f"stage {stage}\n")
                save(np, f'{name}.partial', outputs)  # kept should the process die in stage
        except BaseException as err:  # noqa: B902  student code may raise anything, exits too
            if isinstance(err, KeyboardInterrupt):
                raise
            error = describe(err, stage)
            if isinstance(err, MemoryError):
                error += f" (each process may use {plan['memory_mib']} MiB)"
        if error:
            (JOB / 'out' / f'{name}.json').write_text(json.dumps({'error': error}))
        save(np, name, outputs)
    progress.write("end\n")


if __name__ == '__main__':
    main()
