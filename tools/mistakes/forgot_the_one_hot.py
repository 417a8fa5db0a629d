# mistake: the gradient of the logits leaves out the one-hot labels (probabilities only)
# region: loss.py gradient_computing
# expect: grad_W differs from the reference
dz = self.probs / len(self.labels)
self.grad_W = self.Input.T @ dz
self.grad_b = np.sum(dz, axis=0, keepdims=True)
