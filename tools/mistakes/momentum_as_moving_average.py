# mistake: the velocity as a moving average of the gradients, not the assignment's rule
# region: optimizer.py step
# expect: diff_W after momentum step 1 differs
layer.diff_W = self.momentum * layer.diff_W + (1 - self.momentum) * layer.grad_W
layer.diff_b = self.momentum * layer.diff_b + (1 - self.momentum) * layer.grad_b
layer.W -= self.learning_rate * layer.diff_W
layer.b -= self.learning_rate * layer.diff_b
