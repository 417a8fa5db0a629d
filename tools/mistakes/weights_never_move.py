# mistake: the velocities are updated, but W and b never move by them
# region: optimizer.py step
# expect: did not move
layer.diff_W = self.momentum * layer.diff_W - self.learning_rate * layer.grad_W
layer.diff_b = self.momentum * layer.diff_b - self.learning_rate * layer.grad_b
