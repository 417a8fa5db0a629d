# mistake: grad_W is the product in the wrong order, of shape (num_output, num_input)
# region: loss.py gradient_computing
# expect: transposed
one_hot = np.zeros_like(self.probs)
one_hot[np.arange(len(self.labels)), self.labels] = 1
dz = (self.probs - one_hot) / len(self.labels)
self.grad_W = dz.T @ self.Input
self.grad_b = np.sum(dz, axis=0, keepdims=True)
