"""Stochastic gradient descent with momentum."""
import numpy as np


class SGD:

    def __init__(self, model, learning_rate, momentum=0.0):
        """
        Args:
            model: the layer to train (a SoftmaxCrossEntropyLoss)
            learning_rate: step size
            momentum: how much of the previous update each step keeps; 0 is plain SGD
        """
        self.model = model
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        # The velocities live on the layer, as the assignment has it, and start at zero.
        model.diff_W = np.zeros_like(model.W)
        model.diff_b = np.zeros_like(model.b)

    def step(self):
        """One update of W and b from the gradients of the last gradient_computing() call."""
        layer = self.model
        if layer.trainable:

            ############################################################################
            # TODO: Put your code here
            # Update layer.W and layer.b with SGD with momentum, using layer.grad_W and
            # layer.grad_b. The velocities layer.diff_W and layer.diff_b start at zero; each
            # step, the new velocity is self.momentum times the old one minus
            # self.learning_rate times the gradient, and the parameter moves by the new velocity.
            ############################################################################
            ### BEGIN SOLUTION
            layer.diff_W = self.momentum * layer.diff_W - self.learning_rate * layer.grad_W
            layer.diff_b = self.momentum * layer.diff_b - self.learning_rate * layer.grad_b
            layer.W += layer.diff_W
            layer.b += layer.diff_b
            ### END SOLUTION
