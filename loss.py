"""Softmax regression as one layer: logits z = Input @ W + b, softmax, mean cross-entropy."""
import numpy as np


class SoftmaxCrossEntropyLoss:

    def __init__(self, num_input, num_output, trainable=True, dtype=np.float32, rng=None):
        """
        Args:
            num_input: size of each input sample (784 for MNIST)
            num_output: number of classes (10 for MNIST)
            trainable: whether the optimizer may update W and b
            dtype: floating type of W, b and of everything computed from them
            rng: seed (int) or numpy Generator for the initial weights; None draws fresh ones
        """
        self.num_input = num_input
        self.num_output = num_output
        self.trainable = trainable
        self.dtype = np.dtype(dtype)
        self.XavierInit(rng)

    def forward(self, Input, labels):
        """
        Inputs: (minibatch)
        - Input: (batch_size, num_input)
        - labels: the ground truth labels, integers in [0, num_output), shape (batch_size,)
        Returns (loss, acc): the mean cross-entropy over the batch and the fraction predicted right.
        """
        Input, labels = self._check_batch(Input, labels)

        ############################################################################
        # TODO: Put your code here
        # Compute the logits z = Input @ W + b, shape (batch_size, num_output), then the
        # mean cross-entropy loss of softmax(z) against labels, and the accuracy (the
        # fraction of rows whose largest logit is the true label). Return (loss, acc).
        # Keep it numerically stable: subtract each row's maximum from z before np.exp.
        # No Python loops. Save what gradient_computing needs (e.g. self.Input,
        # self.labels and the softmax probabilities).
        ############################################################################
        ### BEGIN SOLUTION
        logits = Input @ self.W + self.b
        logits -= logits.max(axis=1, keepdims=True)  # softmax is unchanged; exp cannot overflow
        exp = np.exp(logits)
        sum_exp = exp.sum(axis=1, keepdims=True)
        n = len(labels)
        losses = np.log(sum_exp[:, 0]) - logits[np.arange(n), labels]  # -log softmax(z)[label]
        loss = (losses / n).sum()  # the mean, in the layer's dtype; np.mean costs ~10 us more
        acc = np.count_nonzero(logits.argmax(axis=1) == labels) / n
        self.Input, self.labels, self.probs = Input, labels, exp / sum_exp
        return loss, acc
        ### END SOLUTION

    def gradient_computing(self):
        """
        Gradients of the mean loss of the last forward() call:
        grad_W (num_input, num_output) and grad_b (1, num_output), the shapes of W and b.
        """
        ############################################################################
        # TODO: Put your code here
        # Set self.grad_W and self.grad_b, the gradients of the mean loss with respect to
        # W and b. The gradient of the loss with respect to the logits is
        # (softmax probabilities - one-hot labels) / batch_size, shape (batch_size, num_output).
        ############################################################################
        ### BEGIN SOLUTION
        grad_logits = self.probs.copy()
        grad_logits[np.arange(len(self.labels)), self.labels] -= 1  # minus the one-hot labels
        grad_logits /= len(self.labels)
        self.grad_W = self.Input.T @ grad_logits
        self.grad_b = grad_logits.sum(axis=0, keepdims=True)
        ### END SOLUTION

    def XavierInit(self, rng=None):
        """Glorot normal weights, W ~ N(0, 2 / (num_input + num_output)), and zero biases."""
        rng = np.random.default_rng(rng)
        std = np.sqrt(2.0 / (self.num_input + self.num_output))
        self.W = (std * rng.standard_normal((self.num_input, self.num_output))).astype(self.dtype)
        self.b = np.zeros((1, self.num_output), dtype=self.dtype)

    def _check_batch(self, Input, labels):
        """Input as an array of the layer's dtype, and labels; clear errors for wrong shapes."""
        Input = np.asarray(Input, dtype=self.dtype)
        labels = np.asarray(labels)
        if Input.ndim != 2 or Input.shape[1] != self.num_input or labels.shape != Input.shape[:1]:
            raise ValueError(f"forward expects Input of shape (batch_size, {self.num_input}) and "
                             f"labels of shape (batch_size,); got {Input.shape} and {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integers (class indices), got dtype {labels.dtype}")
        return Input, labels
