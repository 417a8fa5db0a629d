# mistake: grad_b has shape (num_output,), not b's shape (1, num_output)
# region: loss.py gradient_computing
# expect: keepdims=True
one_hot = np.zeros_like(self.probs)
one_hot[np.arange(len(self.labels)), self.labels] = 1
dz = (self.probs - one_hot) / len(self.labels)
self.grad_W = self.Input.T @ dz
self.grad_b = np.sum(dz, axis=0)
