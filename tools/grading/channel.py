"""The messages the harness sends the grader over a pipe: one framed format for both sides.

A frame is a header (its kind, the length of its meta, the length of its data), then meta, a
small JSON object, then data, the bytes of one case's outputs as an .npz. The harness writes
frames (frame, pack_arrays); the grader reads them (tools/grading/outputs.py), trusting nothing:
the graded code runs in the harness's process and can write anything on the pipe.

The harness copies this file into the job folder and imports it there: standard library only.
"""
import io
import json
import struct

HEADER = struct.Struct('>cII')  # kind (one byte), length of meta, length of data
START = b'S'    # meta {'case'}: the harness starts this case (its clock starts too)
STAGE = b'G'    # meta {'stage'}: the case's next step, one of STAGES[group]
PARTIAL = b'P'  # data: what the current case computed so far, should the process die
RESULT = b'R'   # meta {'case', 'error'}, data: the case's outputs
FINDING = b'F'  # meta {'module', 'stage'}: the graded code tried to import a framework
END = b'E'      # every case was run
KINDS = (START, STAGE, PARTIAL, RESULT, FINDING, END)
LOST_PIPE = 75  # the harness's exit status when its pipe is gone (the graded code closed it)

# The stages of a case of each group, in order (the harness sends each as it starts it), the
# stage that computes the case's first outputs, and the student functions a stage runs besides
# itself. A stage that hung or crashed on one case is blocked for the cases after it.
STAGES = {'loss': ('importing loss.py', 'SoftmaxCrossEntropyLoss(...)', 'forward',
                   'gradient_computing'),
          'sgd': ('importing optimizer.py', 'SGD(...)', 'step'),
          'train': ('importing loss.py', 'importing optimizer.py', 'Solver(cfg)', 'training')}
FIRST_OUTPUTS = {'loss': 'forward', 'sgd': 'step', 'train': 'training'}
CALLS = {'training': ('forward', 'gradient_computing', 'step')}

# What the grader accepts from one submission, whatever it sends.
MAX_META = 4096              # bytes of one frame's meta
MAX_DATA = 16 << 20          # bytes of one frame's data (one case's outputs, as sent)
MAX_OUTPUTS = 16 << 20       # bytes of one case's outputs, inflated
MAX_ARRAYS = 16              # arrays in one case's outputs
MAX_MESSAGES = 20000         # frames, over all of the submission's runs
MAX_RECEIVED = 256 << 20     # bytes received, over all of its runs
MAX_KEPT = 64 << 20          # bytes of outputs kept, over all of its cases


def frame(kind, meta=None, data=b''):
    """The bytes of one frame."""
    meta = json.dumps(meta or {}).encode('utf-8')
    return HEADER.pack(kind, len(meta), len(data)) + meta + data


def pack_arrays(np, arrays):
    """{name: array} as the bytes of an uncompressed .npz."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def blocked_stage(group, stage, blocked):
    """Why stage of a group's case must not run ({stage: why} of those that hung or crashed
    before), or None."""
    for name in (stage,) + CALLS.get(stage, ()):
        if name in blocked:
            return blocked[name]
    return None


def dead_on_arrival(group, blocked):
    """Why a case of group can compute nothing, a stage before its first outputs being
    blocked, or None."""
    stages = STAGES[group]
    for stage in stages[:stages.index(FIRST_OUTPUTS[group]) + 1]:
        why = blocked_stage(group, stage, blocked)
        if why:
            return why
    return None
