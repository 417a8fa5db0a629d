"""The mutation check (tools/check_tests.py --fast, and --lang zh --fast): the student tests
catch every mistake of tools/mistakes/ with a message that points at it, and pass every correct
alternative, in the English release and in the Chinese one (where the message must hold the
Chinese of the mistake's expect text).

A mistake runs the student tests of its file; with --fast, the solutions and the correct
alternatives run tests/test_loss.py, test_optimizer.py and test_solver.py (the full check,
python tools/check_tests.py, runs the whole student suite for them).
"""
import pytest

from tools import check_tests

MUTANTS = check_tests.load_mutants()


@pytest.fixture(scope='module', params=['en', 'zh'])
def results(request):
    return {result.mutant.name if result.mutant else None: result
            for result in check_tests.check(MUTANTS, fast=True, lang=request.param)}


def test_the_corpus_has_many_mistakes_and_several_correct_alternatives():
    kinds = [mutant.kind for mutant in MUTANTS]
    assert kinds.count('mistake') >= 12 and kinds.count('correct') >= 4
    regions = {(mutant.file, mutant.function) for mutant in MUTANTS}
    assert regions == {('loss.py', 'forward'), ('loss.py', 'gradient_computing'),
                       ('optimizer.py', 'step')}


def test_the_solutions_pass(results):
    assert results[None].ok, results[None].summary()


@pytest.mark.parametrize('name', [mutant.name for mutant in MUTANTS if mutant.kind == 'mistake'])
def test_the_mistake_is_caught_with_a_message_that_points_at_it(results, name):
    assert results[name].ok, results[name].summary()


@pytest.mark.parametrize('name', [mutant.name for mutant in MUTANTS if mutant.kind == 'correct'])
def test_the_correct_alternative_passes(results, name):
    assert results[name].ok, results[name].summary()


def test_a_malformed_file_is_named(tmp_path):
    (tmp_path / 'typo.py').write_text('# mistak: no such key\n# region: loss.py forward\nx = 1\n')
    with pytest.raises(ValueError, match=r'typo\.py: needs a .# mistake'):
        check_tests.load_mutants(tmp_path)


def test_a_region_that_does_not_exist_is_named(tmp_path):
    (tmp_path / 'gone.py').write_text('# correct: fine\n# region: loss.py backward\nx = 1\n')
    with pytest.raises(ValueError, match='gone: no solution region loss.py backward'):
        check_tests.check(check_tests.load_mutants(tmp_path), fast=True, solutions=False)


def test_a_mistake_the_tests_miss_is_reported(tmp_path):
    """A 'mistake' that is in fact the solution must come out BAD, not OK."""
    (tmp_path / 'not_really.py').write_text(
        '# mistake: the solution itself\n# region: optimizer.py step\n# expect: differs\n'
        'layer.diff_W = self.momentum * layer.diff_W - self.learning_rate * layer.grad_W\n'
        'layer.diff_b = self.momentum * layer.diff_b - self.learning_rate * layer.grad_b\n'
        'layer.W += layer.diff_W\nlayer.b += layer.diff_b\n')
    [result] = check_tests.check(check_tests.load_mutants(tmp_path), fast=True, solutions=False)
    assert not result.ok and result.summary().startswith('NOT CAUGHT')


def test_a_skipped_test_neither_catches_nor_rejects():
    correct = next(mutant for mutant in MUTANTS if mutant.kind == 'correct')
    mistake = next(mutant for mutant in MUTANTS if mutant.kind == 'mistake')
    skipped = {'t::a': ('passed', ''), 't::b': ('skipped', 'needs a non-root user')}
    assert check_tests.Result(correct, skipped).ok
    assert 'passes all 1 tests (1 skipped)' in check_tests.Result(correct, skipped).summary()
    assert not check_tests.Result(mistake, skipped).ok
    assert not check_tests.Result(correct, {**skipped, 't::c': ('failed', 'x')}).ok
