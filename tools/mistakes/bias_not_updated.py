# mistake: the bias is left where it is: only W moves
# region: optimizer.py step
# expect: b did not move
layer.diff_W = self.momentum * layer.diff_W - self.learning_rate * layer.grad_W
layer.diff_b = self.momentum * layer.diff_b - self.learning_rate * layer.grad_b
layer.W += layer.diff_W
