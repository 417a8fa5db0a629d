# mistake: the velocity adds the gradient instead of subtracting it (steps uphill)
# region: optimizer.py step
# expect: a sign error?
layer.diff_W = self.momentum * layer.diff_W + self.learning_rate * layer.grad_W
layer.diff_b = self.momentum * layer.diff_b + self.learning_rate * layer.grad_b
layer.W += layer.diff_W
layer.b += layer.diff_b
