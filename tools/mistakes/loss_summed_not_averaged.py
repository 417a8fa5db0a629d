# mistake: the loss is the sum over the batch, not the mean
# region: loss.py forward
# expect: did you divide by the batch size?
z = Input @ self.W + self.b
z = z - np.max(z, axis=1, keepdims=True)
exp_z = np.exp(z)
rows = np.arange(Input.shape[0])
loss = np.sum(np.log(np.sum(exp_z, axis=1)) - z[rows, labels])
acc = np.mean(np.argmax(z, axis=1) == labels)
self.Input, self.labels, self.probs = Input, labels, exp_z / np.sum(exp_z, axis=1, keepdims=True)
return loss, acc
