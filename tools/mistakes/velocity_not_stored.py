# mistake: the new velocity is a local variable, never stored in layer.diff_W / diff_b
# region: optimizer.py step
# expect: store the new velocity
v_W = self.momentum * layer.diff_W - self.learning_rate * layer.grad_W
v_b = self.momentum * layer.diff_b - self.learning_rate * layer.grad_b
layer.W += v_W
layer.b += v_b
