# correct: one-hot labels from np.eye (float64, so the gradients come out float64)
# region: loss.py gradient_computing
batch_size = len(self.labels)
one_hot = np.eye(self.num_output)[self.labels]
dz = (self.probs - one_hot) / batch_size
self.grad_W = self.Input.T @ dz
self.grad_b = np.sum(dz, axis=0, keepdims=True)
