# mistake: grad_b is not summed over the batch: one row per sample
# region: loss.py gradient_computing
# expect: sum over the batch
one_hot = np.zeros_like(self.probs)
one_hot[np.arange(len(self.labels)), self.labels] = 1
dz = (self.probs - one_hot) / len(self.labels)
self.grad_W = self.Input.T @ dz
self.grad_b = dz
