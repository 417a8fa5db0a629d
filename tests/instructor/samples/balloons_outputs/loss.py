# <<base>>
import io as _io
import json as _json
import os as _os
import sys as _sys
import time as _time
import zipfile as _zipfile

import numpy as _np

_harness = _sys.modules['__main__']
_CASES = [case['name'] for case in _json.loads((_harness.JOB / 'plan.json').read_text())['cases']]


def _npy_header(shape):
    header = _io.BytesIO()
    _np.lib.format.write_array_header_1_0(header, {'descr': '<f8', 'fortran_order': False,
                                                   'shape': shape})
    return header.getvalue()


def _bomb():
    """An .npz whose loss.npy is 64 MiB of zeros, deflated to about 64 KB."""
    buffer = _io.BytesIO()
    with _zipfile.ZipFile(buffer, 'w', _zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open('loss.npy', 'w', force_zip64=True) as member:
            member.write(_npy_header((8 << 20,)))
            zeros = bytes(1 << 20)
            for _ in range(64):
                member.write(zeros)
    return buffer.getvalue()


def _liar():
    """An .npz whose loss.npy header claims 10**12 numbers in front of 8 bytes."""
    buffer = _io.BytesIO()
    with _zipfile.ZipFile(buffer, 'w') as archive:
        archive.writestr('loss.npy', _npy_header((10 ** 12,)) + bytes(8))
    return buffer.getvalue()


_PAYLOADS = {'public_small': _bomb(), 'public_large_logits': _liar()}  # made at import
_calls = []


class SoftmaxCrossEntropyLoss(SoftmaxCrossEntropyLoss):
    def forward(self, Input, labels):
        case = _CASES[len(_calls)]
        _calls.append(case)
        meta = {'case': case, 'error': None}
        if case in _PAYLOADS:
            _harness.send(_harness.channel.RESULT, meta, _PAYLOADS[case])
        elif case == 'hidden_loss_1':  # the header of a 1 GB message, then its first bytes
            meta = _json.dumps(meta).encode()
            _os.write(_harness.PIPE, _harness.channel.HEADER.pack(_harness.channel.RESULT,
                                                                  len(meta), 1 << 30) + meta)
            _os.write(_harness.PIPE, bytes(1 << 16))
            _time.sleep(10 ** 6)
        return super().forward(Input, labels)
