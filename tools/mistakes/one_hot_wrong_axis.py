# mistake: the one-hot labels are indexed [class, sample] instead of [sample, class]
# region: loss.py gradient_computing
# expect: is out of bounds
batch_size = len(self.labels)
one_hot = np.zeros_like(self.probs)
one_hot[self.labels, np.arange(batch_size)] = 1
dz = (self.probs - one_hot) / batch_size
self.grad_W = self.Input.T @ dz
self.grad_b = np.sum(dz, axis=0, keepdims=True)
