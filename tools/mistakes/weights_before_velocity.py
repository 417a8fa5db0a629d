# mistake: the weights move by the old velocity, and the velocity is updated after them
# region: optimizer.py step
# expect: compute the new velocity first
layer.W += layer.diff_W
layer.b += layer.diff_b
layer.diff_W = self.momentum * layer.diff_W - self.learning_rate * layer.grad_W
layer.diff_b = self.momentum * layer.diff_b - self.learning_rate * layer.grad_b
