# <<base>>
import ctypes as _ctypes


class SoftmaxCrossEntropyLoss(SoftmaxCrossEntropyLoss):
    def gradient_computing(self):
        _ctypes.string_at(0)  # reads address 0: SIGSEGV
