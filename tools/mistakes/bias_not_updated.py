# mistake: the bias keeps its velocity but is never moved by it
# region: optimizer.py step
# expect: b after momentum step 1 differs
layer.diff_W = self.momentum * layer.diff_W - self.learning_rate * layer.grad_W
layer.diff_b = self.momentum * layer.diff_b - self.learning_rate * layer.grad_b
layer.W += layer.diff_W
