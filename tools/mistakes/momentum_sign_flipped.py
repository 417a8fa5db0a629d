# mistake: the momentum term has the wrong sign (the old velocity is subtracted)
# region: optimizer.py step
# expect: diff_W after momentum step 2 differs
layer.diff_W = -self.momentum * layer.diff_W - self.learning_rate * layer.grad_W
layer.diff_b = -self.momentum * layer.diff_b - self.learning_rate * layer.grad_b
layer.W += layer.diff_W
layer.b += layer.diff_b
