# correct: grad_b as a row of ones times the gradient of the logits
# region: loss.py gradient_computing
n = self.Input.shape[0]
dz = self.probs.copy()
dz[range(n), self.labels] -= 1
dz /= n
self.grad_W = self.Input.T.dot(dz)
self.grad_b = np.ones((1, n)) @ dz
