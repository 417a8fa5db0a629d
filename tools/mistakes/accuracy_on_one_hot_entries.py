# mistake: the accuracy compares one-hot rows entry by entry, not the predicted class
# region: loss.py forward
# expect: one-hot rows
z = Input @ self.W + self.b
z = z - np.max(z, axis=1, keepdims=True)
exp_z = np.exp(z)
probs = exp_z / np.sum(exp_z, axis=1, keepdims=True)
rows = np.arange(len(labels))
loss = np.mean(np.log(np.sum(exp_z, axis=1)) - z[rows, labels])
one_hot = np.zeros_like(probs)
one_hot[rows, labels] = 1
predicted = np.zeros_like(probs)
predicted[rows, np.argmax(probs, axis=1)] = 1
acc = np.mean(predicted == one_hot)
self.Input, self.labels, self.probs = Input, labels, probs
return loss, acc
