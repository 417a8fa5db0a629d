# correct: the true-class logits picked with np.take_along_axis, softmax via scaled exps
# region: loss.py forward
logits = np.dot(Input, self.W) + self.b
shifted = logits - logits.max(axis=1)[:, None]
exps = np.exp(shifted)
sums = exps.sum(axis=1)
picked = np.take_along_axis(shifted, labels[:, None], axis=1)[:, 0]
loss = (np.log(sums) - picked).mean()
acc = (shifted.argmax(axis=1) == labels).mean()
self.Input, self.labels = Input, labels
self.probs = exps / sums[:, None]
return loss, acc
