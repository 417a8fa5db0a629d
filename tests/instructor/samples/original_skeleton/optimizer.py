import numpy as np


class SGD(object):
    def __init__(self, model, learning_rate, momentum=0.0):
        self.model = model
        self.learning_rate = learning_rate
        self.momentum = momentum

    def step(self):
        """One backpropagation step, update weights layer by layer"""

        layer = self.model
        if layer.trainable:

            ############################################################################
            # TODO: Put your code here
            # Calculate diff_W and diff_b using layer.grad_W and layer.grad_b.
            # You need to add momentum to this.

            # Weight update with momentum
            layer.diff_W = self.momentum * layer.diff_W - self.learning_rate * layer.grad_W
            layer.diff_b = self.momentum * layer.diff_b - self.learning_rate * layer.grad_b
            layer.W += layer.diff_W
            layer.b += layer.diff_b

            ############################################################################
