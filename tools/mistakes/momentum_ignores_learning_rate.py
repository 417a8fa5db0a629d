# mistake: the velocity takes the raw gradient, without the learning rate
# region: optimizer.py step
# expect: the new velocity lacks the learning rate
layer.diff_W = self.momentum * layer.diff_W - layer.grad_W
layer.diff_b = self.momentum * layer.diff_b - layer.grad_b
layer.W += layer.diff_W
layer.b += layer.diff_b
