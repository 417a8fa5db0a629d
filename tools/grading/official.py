"""The official grading tests: the cases a submission runs, and how its outputs are judged.

A case is run in the submission's sandbox (tools/grading/harness.py), which sees its inputs only.
The expected values stay here, in the grader's process, which judges the outputs it gets back.
Cases come from the public fixtures (tests/fixtures/reference.npz, the numbers the students' own
tests use) and from hidden cases drawn from the rubric's seed. Groups say which student files a
case runs: 'loss' runs loss.py, 'sgd' runs optimizer.py on a stand-in layer that holds W, b and
gradients the grader chose (none of loss.py), 'train' runs both in a short real training run.
"""
import numpy as np
import pytest

from tools import tests_module

from .submissions import STUDENT_FILES

reference_check = tests_module('reference_check.py')  # the students' checks, with their hints
expected_values = tests_module('hidden/expected_values.py')  # shared with the hidden tests

LOSS, OPTIMIZER = STUDENT_FILES
GROUP_FILES = {'loss': (LOSS,), 'sgd': (OPTIMIZER,), 'train': STUDENT_FILES}
# The classes the grader sets up itself, by the part of the assignment they are in: these
# methods come from the release's file, whatever the submission's hold (harness.py), so that
# only the functions students write are theirs.
SETUP = {'loss': {'file': LOSS, 'class': 'SoftmaxCrossEntropyLoss',
                  'methods': ['__init__', 'XavierInit']},
         'optimizer': {'file': OPTIMIZER, 'class': 'SGD', 'methods': ['__init__']}}

# test name: (group, cases it judges, what it checks). Cases are chosen by their kind.
TESTS = {
    'loss': ('loss', 'ordinary', "forward's loss"),
    'accuracy': ('loss', 'ordinary', "forward's accuracy"),
    'grad_W': ('loss', 'ordinary', "gradient_computing's grad_W"),
    'grad_b': ('loss', 'ordinary', "gradient_computing's grad_b"),
    'large_logits_loss': ('loss', 'large', "forward's loss with logits in the thousands"),
    'large_logits_accuracy': ('loss', 'large', "forward's accuracy with logits in the thousands"),
    'large_logits_gradients_finite': ('loss', 'large', "finite gradients with logits in the "
                                                       "thousands"),
    'momentum_steps': ('sgd', 'momentum', "SGD.step with momentum, step by step"),
    'plain_sgd_steps': ('sgd', 'plain', "SGD.step with momentum 0"),
    'long_run_steps': ('sgd', 'long', "20 steps of SGD.step on a float32 layer"),
    'short_run': ('train', 'train', "a short training run on MNIST"),
}

# Hidden cases: (batch_size, num_input, num_output, logit scale); scale >= 100 is 'large'.
HIDDEN_LOSS = [(1, 3, 2, 1.0), (257, 20, 10, 3.0), (64, 784, 10, 0.05), (10, 4, 7, 500.0)]
# (learning_rate, momentum, steps, dtype)
HIDDEN_SGD = [(0.3, 0.5, 3, 'float64'), (0.05, 0.0, 3, 'float64'),
              (0.001, 0.99, 20, 'float32'), (0.3, 0.5, 20, 'float32')]


class Case:
    """One run of student code: name, group, kind, meta (JSON), inputs and expected (arrays)."""

    def __init__(self, name, group, kind, inputs, expected, meta=None):
        self.name, self.group, self.kind = name, group, kind
        self.inputs, self.expected, self.meta = inputs, expected, meta or {}

    def describe(self):
        if self.group == 'loss':
            n, d = self.inputs['Input'].shape
            return (f"case {self.name} (batch of {n}, {d} inputs, {self.inputs['W'].shape[1]} "
                    f"classes)")
        if self.group == 'sgd':
            return (f"case {self.name} (learning_rate={self.meta['learning_rate']}, "
                    f"momentum={self.meta['momentum']}, {self.meta['dtype']})")
        return 'the training run'


def loss_cases(seed):
    reference = reference_check.load_reference()
    cases = []
    for name in ('small', 'batch_of_one', 'mnist_shape', 'large_logits'):
        values = reference_check.case(reference, 'loss', name)
        inputs = {key: values[key] for key in ('W', 'b', 'Input', 'labels')}
        expected = {key: values[key] for key in ('loss', 'acc', 'grad_W', 'grad_b')}
        kind = 'large' if name == 'large_logits' else 'ordinary'
        cases.append(Case(f'public_{name}', 'loss', kind, inputs, expected, {'dtype': 'float64'}))
    rng = np.random.default_rng([seed, 1])
    for number, (batch_size, num_input, num_output, scale) in enumerate(HIDDEN_LOSS, 1):
        inputs = {'W': scale * rng.standard_normal((num_input, num_output)),
                  'b': scale * rng.standard_normal((1, num_output)),
                  'Input': rng.standard_normal((batch_size, num_input)),
                  'labels': rng.integers(0, num_output, size=batch_size)}
        # A third of the rows carry the predicted label, so that the accuracy is not ~0.
        logits = inputs['Input'] @ inputs['W'] + inputs['b']
        inputs['labels'][::3] = logits[::3].argmax(axis=1)
        kind = 'large' if scale >= 100 else 'ordinary'
        cases.append(Case(f'hidden_loss_{number}', 'loss', kind, inputs,
                          expected_values.expected_loss(**inputs), {'dtype': 'float64'}))
    return cases


def sgd_cases(seed):
    reference = reference_check.load_reference()
    cases = []
    for name in ('momentum_0.9', 'momentum_0'):
        values = reference_check.case(reference, 'sgd', name)
        meta = {'learning_rate': float(values['learning_rate']),
                'momentum': float(values['momentum']), 'dtype': 'float64'}
        inputs = {key: values[key] for key in ('W0', 'b0', 'grad_W', 'grad_b')}
        expected = {key: values[key] for key in ('W', 'b')}
        cases.append(Case(f'public_{name}', 'sgd', 'momentum' if meta['momentum'] else 'plain',
                          inputs, expected, meta))
    rng = np.random.default_rng([seed, 2])
    for number, (learning_rate, momentum, steps, dtype) in enumerate(HIDDEN_SGD, 1):
        shape = (int(rng.integers(3, 9)), int(rng.integers(2, 6)))
        inputs = {'W0': rng.standard_normal(shape).astype(dtype),
                  'b0': rng.standard_normal((1, shape[1])).astype(dtype),
                  'grad_W': rng.standard_normal((steps,) + shape).astype(dtype),
                  'grad_b': rng.standard_normal((steps, 1, shape[1])).astype(dtype)}
        meta = {'learning_rate': learning_rate, 'momentum': momentum, 'dtype': dtype}
        kind = 'long' if steps > 3 else 'momentum' if momentum else 'plain'
        cases.append(Case(f'hidden_sgd_{number}', 'sgd', kind, inputs,
                          expected_values.expected_sgd(**inputs, learning_rate=learning_rate,
                                                      momentum=momentum),
                          meta))
    return cases


def all_cases(rubric):
    """Every case the rubric's tests need, in the order they run."""
    cases = loss_cases(rubric.seed) + sgd_cases(rubric.seed)
    cases.append(Case('short_run', 'train', 'train', {}, {},
                      {'cfg': rubric.training['cfg'],
                       'min_test_accuracy': rubric.training['min_test_accuracy']}))
    used = {TESTS[test][:2] for item in rubric.items.values() for test in item['tests']}
    return [c for c in cases if (c.group, c.kind) in used]


class Outputs(dict):
    """What one case computed ({name: array}), and the error that stopped it, if any."""

    def __init__(self, outputs, error):
        super().__init__(outputs)
        self.error = error


class Judge:
    """Judges outputs against expected values: judge(test, cases, results) -> (passed, message).

    results: {case name: (outputs {name: array}, error message or None)}.
    """

    def __init__(self, test_images=None, test_labels=None):
        self.test_images, self.test_labels = test_images, test_labels

    def judge(self, test, cases, results):
        group, kind, what = TESTS[test]
        mine = [c for c in cases if c.group == group and c.kind == kind]
        failures, notes = [], []
        for this in mine:
            outputs = Outputs(*results.get(this.name, ({}, 'it did not run')))
            try:
                note = getattr(self, 'check_' + test)(this, outputs)
                if note:
                    notes.append(note)
            except pytest.fail.Exception as failure:
                failures.append(f"On {this.describe()}: {failure.msg}")
            except Exception as err:  # outputs of a kind no check expects (strings, objects...)
                failures.append(f"On {this.describe()}: its outputs could not be compared "
                                f"({type(err).__name__}: {err})")
        if not failures:
            return True, (f"Passed: {what}, on {len(mine)} case{'s' * (len(mine) != 1)}."
                          + ''.join(' ' + note for note in notes))
        more = f" ({len(failures)} of {len(mine)} cases failed; the first is shown)" \
            if len(failures) > 1 else ''
        return False, f"Failed: {what}{more}.\n{failures[0]}"

    # The checks: each fails through reference_check, whose messages carry the hints.
    @staticmethod
    def _output(outputs, name):
        if name not in outputs:
            pytest.fail(outputs.error or f"{name} was not set", pytrace=False)
        return outputs[name]

    def check_loss(self, this, outputs):
        n = len(this.inputs['labels'])
        reference_check.assert_matches(
            'loss', self._output(outputs, 'loss'), this.expected['loss'],
            mistakes=reference_check.batch_size_mistakes(this.expected['loss'], n),
            if_not_finite=reference_check.NOT_FINITE_HINT)

    def check_accuracy(self, this, outputs):
        n, num_output = len(this.inputs['labels']), this.inputs['W'].shape[1]
        reference_check.assert_matches(
            'acc', self._output(outputs, 'acc'), this.expected['acc'],
            mistakes=[(this.expected['acc'] * n, "it is the number of right predictions: divide "
                                                 "by the batch size")][:n > 1]
            + [reference_check.one_hot_accuracy_mistake(this.expected['acc'], num_output)])

    def check_grad_W(self, this, outputs):
        self._check_gradient('grad_W', this, outputs)

    def check_grad_b(self, this, outputs):
        self._check_gradient('grad_b', this, outputs)

    def _check_gradient(self, name, this, outputs):
        n = len(this.inputs['labels'])
        reference_check.assert_matches(
            name, self._output(outputs, name), this.expected[name],
            mistakes=reference_check.batch_size_mistakes(this.expected[name], n))

    check_large_logits_loss = check_loss
    check_large_logits_accuracy = check_accuracy

    def check_large_logits_gradients_finite(self, this, outputs):
        for name in ('grad_W', 'grad_b'):
            got = np.asarray(self._output(outputs, name))
            if got.shape != this.expected[name].shape:
                pytest.fail(f"{name} has shape {got.shape}, expected {this.expected[name].shape}",
                            pytrace=False)
            if not np.all(np.isfinite(got)):
                pytest.fail(f"{name} has NaN or inf entries\nHint: "
                            f"{reference_check.NOT_FINITE_HINT}", pytrace=False)

    def _check_steps(self, this, outputs):
        rtol, atol = (1e-4, 1e-5) if this.meta['dtype'] == 'float32' else (1e-7, 1e-10)
        for name in ('W', 'b'):
            got = np.asarray(self._output(outputs, name))
            want = this.expected[name]
            if outputs.error and got.shape[:1] != want.shape[:1]:
                pytest.fail(f"after {len(got)} of {len(want)} steps: {outputs.error}",
                            pytrace=False)
            if got.shape != want.shape:
                pytest.fail(f"{name} has shape {got.shape[1:]} after each step, expected "
                            f"{want.shape[1:]}", pytrace=False)
            # A mistake's hint is shown where all the steps taken are exactly that mistake's.
            made = [(steps, hint) for steps, hint in reference_check.momentum_mistakes(
                        name, this.inputs[name + '0'], this.inputs['grad_' + name],
                        this.meta['learning_rate'], this.meta['momentum'])
                    if got.shape == steps[:len(got)].shape
                    and np.allclose(got, steps[:len(got)], rtol=rtol, atol=atol)]
            for step in range(len(want)):
                reference_check.assert_matches(
                    f"{name} after step {step + 1}", got[step], want[step], rtol, atol,
                    mistakes=[(steps[step], hint) for steps, hint in made])

    check_momentum_steps = check_plain_sgd_steps = check_long_run_steps = _check_steps

    def check_short_run(self, this, outputs):
        W, b = (np.asarray(self._output(outputs, name)) for name in ('W', 'b'))
        num_input, num_classes = self.test_images.shape[1], int(self.test_labels.max()) + 1
        if W.shape != (num_input, num_classes) or b.shape != (1, num_classes):
            pytest.fail(f"after training, W has shape {W.shape} and b {b.shape}; expected "
                        f"{(num_input, num_classes)} and {(1, num_classes)}", pytrace=False)
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            pytest.fail("after training, W or b holds NaN or inf: check the gradients and "
                        "the update", pytrace=False)
        logits = self.test_images @ W.astype(np.float64) + b.astype(np.float64)
        accuracy = float(np.mean(logits.argmax(axis=1) == self.test_labels))
        cfg = ', '.join(f'{key}={value}' for key, value in this.meta['cfg'].items())
        minimum = this.meta['min_test_accuracy']
        if accuracy < minimum:
            pytest.fail(f"training with solver.py ({cfg}) reached a test accuracy of "
                        f"{accuracy:.4f}, below the {minimum} this item needs. The reference "
                        f"reaches about 0.90; check the gradients and SGD.step", pytrace=False)
        return f"Its test accuracy was {accuracy:.4f} (at least {minimum} needed)."
