# mistake: the gradient is not divided by the batch size
# region: loss.py gradient_computing
# expect: did you divide by the batch size?
dz = self.probs.copy()
dz[np.arange(len(self.labels)), self.labels] -= 1
self.grad_W = self.Input.T @ dz
self.grad_b = np.sum(dz, axis=0, keepdims=True)
