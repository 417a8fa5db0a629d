# mistake: the loss as np.log of the softmax, which is log(0) = -inf once a probability underflows
# region: loss.py forward
# expect: log-sum-exp
z = Input @ self.W + self.b
z = z - np.max(z, axis=1, keepdims=True)
exp_z = np.exp(z)
probs = exp_z / np.sum(exp_z, axis=1, keepdims=True)
rows = np.arange(len(labels))
loss = -np.mean(np.log(probs[rows, labels]))
acc = np.mean(np.argmax(z, axis=1) == labels)
self.Input, self.labels, self.probs = Input, labels, probs
return loss, acc
