"""solver.py's settings: cfg checks, defaults and command-line flags, without training.

These tests pass before any TODO is filled in, and must keep passing after.
"""
import subprocess
import sys
from pathlib import Path

import pytest

import solver
from solver import DEFAULT_CFG, check_cfg


@pytest.mark.parametrize('key, value', [
    ('max_epoch', 0), ('max_epoch', 2.5), ('batch_size', 0), ('batch_size', True),
    ('display_freq', 0), ('learning_rate', 0), ('learning_rate', -0.1),
    ('learning_rate', float('nan')), ('learning_rate', '0.1'), ('momentum', 1.0),
    ('momentum', -0.1), ('seed', -1), ('seed', 1.5), ('data_root', '/no/such/folder'),
])
def test_invalid_cfg_values_are_named(key, value):
    with pytest.raises(ValueError, match=f'{key}='):
        check_cfg({key: value})


def test_unknown_cfg_key_is_named():
    with pytest.raises(ValueError, match="unknown cfg key 'lr'"):
        check_cfg({'lr': 0.1})


def test_defaults_are_the_assignment_run():
    cfg = check_cfg({})
    assert {key: cfg[key] for key in ('max_epoch', 'batch_size', 'learning_rate', 'momentum',
                                      'display_freq', 'seed')} == {
        'max_epoch': 10, 'batch_size': 100, 'learning_rate': 0.01, 'momentum': 0.9,
        'display_freq': 50, 'seed': 0}
    assert check_cfg({'momentum': 0})['momentum'] == 0


def test_command_line_help_lists_every_key():
    result = subprocess.run([sys.executable, 'solver.py', '--help'], capture_output=True,
                            text=True, cwd=Path(solver.__file__).parent)
    assert result.returncode == 0
    for key in DEFAULT_CFG:
        assert f'--{key}' in result.stdout


def test_command_line_rejects_bad_values(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        solver.main(['--data_root', str(tmp_path), '--momentum', '1.5'])
    assert exit_.value.code == 2
    assert 'momentum=1.5' in capsys.readouterr().err


def test_the_default_is_a_constant_learning_rate():
    assert solver.DEFAULT_CFG['lr_schedule'] == 'constant'


@pytest.mark.parametrize('value', ['linear', 'Cosine', None, 1])
def test_an_unknown_schedule_is_named(value):
    with pytest.raises(ValueError, match=r"lr_schedule=.*'constant', 'cosine'"):
        check_cfg({'lr_schedule': value})


def test_each_key_has_one_setting_whose_default_passes_its_check():
    assert DEFAULT_CFG == {key: setting.default for key, setting in solver.SETTINGS.items()}
    for key, setting in solver.SETTINGS.items():
        assert setting.help and setting.rule, key
        assert setting.check(setting.default), key


@pytest.mark.parametrize('key, text, value', [
    ('max_epoch', '3', 3), ('learning_rate', '0.5', 0.5), ('momentum', '0', 0.0),
    ('classes', '3,1', [3, 1]), ('train_limit', '200', 200), ('lr_schedule', 'cosine', 'cosine'),
])
def test_each_flag_is_read_by_its_setting(key, text, value):
    _, cfg = solver.parse_cfg([f'--{key}', text])
    assert cfg[key] == value and cfg == {**DEFAULT_CFG, key: value}


def test_help_gives_each_keys_text_and_default():
    parser, _ = solver.parse_cfg([])
    text = ''.join(parser.format_help().split())  # argparse wraps lines, even inside a path
    for key, setting in solver.SETTINGS.items():
        assert ''.join(f'{setting.help} (default: {setting.default})'.split()) in text, key
