# correct: one-hot labels set in a Python loop over the samples (slow, but right)
# region: loss.py gradient_computing
one_hot = np.zeros_like(self.probs)
for i, label in enumerate(self.labels):
    one_hot[i, label] = 1
dz = (self.probs - one_hot) / len(self.labels)
self.grad_W = np.dot(self.Input.T, dz)
self.grad_b = np.sum(dz, axis=0, keepdims=True)
