# mistake: the one-hot labels set whole columns (one_hot[:, labels] = 1)
# region: loss.py gradient_computing
# expect: grad_W differs from the reference
one_hot = np.zeros_like(self.probs)
one_hot[:, self.labels] = 1
dz = (self.probs - one_hot) / len(self.labels)
self.grad_W = self.Input.T @ dz
self.grad_b = np.sum(dz, axis=0, keepdims=True)
