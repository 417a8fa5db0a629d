# mistake: the gradient of the logits is one-hot minus probabilities (the sign is flipped)
# region: loss.py gradient_computing
# expect: a sign error?
one_hot = np.zeros_like(self.probs)
one_hot[np.arange(len(self.labels)), self.labels] = 1
dz = (one_hot - self.probs) / len(self.labels)
self.grad_W = self.Input.T @ dz
self.grad_b = np.sum(dz, axis=0, keepdims=True)
