# <<base>>
import time as _time


class SGD(SGD):
    def step(self):
        _time.sleep(10 ** 6)
