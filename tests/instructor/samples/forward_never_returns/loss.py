# <<base>>
import time as _time


class SoftmaxCrossEntropyLoss(SoftmaxCrossEntropyLoss):
    def forward(self, Input, labels):
        _time.sleep(10 ** 6)
