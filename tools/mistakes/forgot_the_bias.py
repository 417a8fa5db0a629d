# mistake: the logits leave out the bias b
# region: loss.py forward
# expect: loss differs from the reference
z = Input @ self.W
z = z - np.max(z, axis=1, keepdims=True)
exp_z = np.exp(z)
rows = np.arange(len(labels))
loss = np.mean(np.log(np.sum(exp_z, axis=1)) - z[rows, labels])
acc = np.mean(np.argmax(z, axis=1) == labels)
self.Input, self.labels, self.probs = Input, labels, exp_z / np.sum(exp_z, axis=1, keepdims=True)
return loss, acc
