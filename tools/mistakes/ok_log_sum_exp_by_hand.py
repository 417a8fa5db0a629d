# correct: log-softmax written by hand as z - (max + log(sum(exp(z - max))))
# region: loss.py forward
z = Input @ self.W + self.b
top = np.max(z, axis=1, keepdims=True)
log_sum_exp = top + np.log(np.sum(np.exp(z - top), axis=1, keepdims=True))
log_probs = z - log_sum_exp
n = Input.shape[0]
loss = -np.sum(log_probs[np.arange(n), labels]) / n
acc = np.sum(np.argmax(z, axis=1) == labels) / n
self.Input = Input
self.labels = labels
self.probs = np.exp(log_probs)
return loss, acc
