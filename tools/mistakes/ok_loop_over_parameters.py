# correct: one loop over the two parameters, by name
# region: optimizer.py step
for name in ('W', 'b'):
    velocity = self.momentum * getattr(layer, 'diff_' + name) \
        - self.learning_rate * getattr(layer, 'grad_' + name)
    setattr(layer, 'diff_' + name, velocity)
    setattr(layer, name, getattr(layer, name) + velocity)
