# correct: the momentum step with in-place updates
# region: optimizer.py step
layer.diff_W *= self.momentum
layer.diff_W -= self.learning_rate * layer.grad_W
layer.diff_b *= self.momentum
layer.diff_b -= self.learning_rate * layer.grad_b
layer.W += layer.diff_W
layer.b += layer.diff_b
