"""Read and check the rubric (tools/rubric.toml): items, rules, limits, the training run."""
import hashlib
import numbers
from pathlib import Path

import tomllib

from tools import KIT

DEFAULT_RUBRIC = KIT / 'tools' / 'rubric.toml'
# The keys of [limits]; their values are the rubric's alone (tools/rubric.toml says what each is).
LIMITS = ('seconds_per_test', 'seconds_per_submission', 'memory_mib', 'output_head_kib',
          'output_tail_kib')


def round_points(points):
    """Points as the gradebook, the table and results.json show them: two decimals."""
    return round(float(points), 2) + 0.0  # + 0.0: never -0.0


class RubricError(ValueError):
    """A rubric that cannot be used; the message names the file and the key at fault."""


class Rubric:
    """The parsed rubric: items {name: {title, points, tests}}, rules {name: {title, penalty}},
    limits {key: number}, training {cfg, min_test_accuracy}, seed, and digest (of the file)."""

    def __init__(self, path, known_tests, known_rules):
        self.path = Path(path)
        try:
            data = self.path.read_bytes()
            raw = tomllib.loads(data.decode('utf-8'))
        except OSError as err:
            raise RubricError(f"cannot read the rubric {self.path}: {err.strerror}") from None
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise RubricError(f"{self.path} is not valid TOML: {err}") from None
        self.digest = hashlib.sha256(data).hexdigest()
        self._check_keys(raw, '', {'seed', 'limits', 'items', 'training', 'rules'})
        self.seed = self._number(raw, 'seed', integer=True, minimum=0)
        self.items = self._items(raw, known_tests)
        self.rules = self._rules(raw, known_rules)
        self.limits = raw.get('limits', {})
        self._check_keys(self.limits, 'limits.', set(LIMITS))
        for key in LIMITS:
            if key not in self.limits:
                raise RubricError(f"{self.path}: limits.{key} is missing; [limits] needs "
                                  f"{', '.join(LIMITS)} (tools/rubric.toml has them all)")
            self._number(self.limits, key, prefix='limits.', minimum=1)
        training = raw.get('training', {})
        self._check_keys(training, 'training.', {'cfg', 'min_test_accuracy'})
        if not isinstance(training.get('cfg'), dict):
            raise RubricError(f"{self.path}: training.cfg must be a table of solver.py cfg keys, "
                              f"e.g. {{ max_epoch = 1, seed = 0 }}")
        self._number(training, 'min_test_accuracy', prefix='training.', minimum=0, maximum=1)
        self.training = training

    @property
    def max_score(self):
        return sum(item['points'] for item in self.items.values())

    def _items(self, raw, known_tests):
        items = raw.get('items')
        if not isinstance(items, dict) or not items:
            raise RubricError(f"{self.path}: no [items.<name>] tables; each needs title, points "
                              f"and tests")
        seen = {}
        for name, item in items.items():
            where = f'items.{name}.'
            self._check_keys(item, where, {'title', 'points', 'tests'})
            self._number(item, 'points', prefix=where, minimum=0)
            tests = item.get('tests')
            if not (isinstance(tests, list) and tests and all(isinstance(t, str) for t in tests)):
                raise RubricError(f"{self.path}: {where}tests must be a list of test names")
            for test in tests:
                if test not in known_tests:
                    raise RubricError(f"{self.path}: {where}tests names {test!r}, which is not an "
                                      f"official test; they are {', '.join(known_tests)}")
                if test in seen:
                    raise RubricError(f"{self.path}: test {test!r} is in both items.{seen[test]} "
                                      f"and items.{name}; a test counts once")
                seen[test] = name
            item.setdefault('title', name)
        return items

    def _rules(self, raw, known_rules):
        rules = raw.get('rules', {})
        for name, rule in rules.items():
            if name not in known_rules:
                raise RubricError(f"{self.path}: rules.{name} is not a rule the grader checks; "
                                  f"they are {', '.join(known_rules)}")
            self._check_keys(rule, f'rules.{name}.', {'title', 'penalty'})
            self._number(rule, 'penalty', prefix=f'rules.{name}.', minimum=0)
            rule.setdefault('title', known_rules[name])
        return {name: rules.get(name, {'title': title, 'penalty': 0})
                for name, title in known_rules.items()}

    def _check_keys(self, table, prefix, allowed):
        if not isinstance(table, dict):
            raise RubricError(f"{self.path}: {prefix.rstrip('.')} must be a table")
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise RubricError(f"{self.path}: unknown key {prefix}{unknown[0]}; the keys here are "
                              f"{', '.join(sorted(allowed))}")

    def _number(self, table, key, prefix='', integer=False, minimum=None, maximum=None):
        value = table.get(key)
        kind = 'an integer' if integer else 'a number'
        if (not isinstance(value, numbers.Real) or isinstance(value, bool)
                or (integer and not isinstance(value, int))
                or (minimum is not None and value < minimum)
                or (maximum is not None and value > maximum)):
            bounds = f" >= {minimum}" if minimum is not None else ''
            bounds += f" and <= {maximum}" if maximum is not None else ''
            raise RubricError(f"{self.path}: {prefix}{key} = {value!r}: must be {kind}{bounds}")
        return value
