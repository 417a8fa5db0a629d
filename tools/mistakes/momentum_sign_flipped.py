# mistake: the old velocity enters with a minus sign (-momentum * velocity)
# region: optimizer.py step
# expect: the old velocity enters with a minus sign
layer.diff_W = -self.momentum * layer.diff_W - self.learning_rate * layer.grad_W
layer.diff_b = -self.momentum * layer.diff_b - self.learning_rate * layer.grad_b
layer.W += layer.diff_W
layer.b += layer.diff_b
