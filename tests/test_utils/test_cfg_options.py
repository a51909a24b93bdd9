# Copyright (c) mmadaptformer contributors. All rights reserved.
"""--cfg-options reads dicts; MMEngine's DictAction read none."""
import argparse

import pytest
from helpers import TINY_VIDEO_CONFIG, run_tool, video_data_cfg, write_config
from mmengine.config import DictAction

from mmadaptformer.utils.cfg_options import ConfigOptions, parse_option_value


@pytest.mark.parametrize(
    'text, value',
    [
        ("[dict(type='T',norm='ln2',ffn='ffn')]",
         [dict(type='T', norm='ln2', ffn='ffn')]),
        # A shell ate the quotes: bare words are strings, as DictAction's.
        ('[dict(type=T,norm=ln2)]', [dict(type='T', norm='ln2')]),
        ("{'a':1,'b':[1,(2,3)]}", dict(a=1, b=[1, (2, 3)])),
        ('dict(a=1,b=-2.5,c=None,d=true,e=mmpretrain.X)',
         dict(a=1, b=-2.5, c=None, d=True, e='mmpretrain.X')),
        ("(1,dict(a='x y'))", (1, dict(a='x y'))),
    ])
def test_dicts_are_read(text, value):
    assert parse_option_value(text) == value


def test_what_mmengine_read_without_dicts_reads_as_before():
    for text in ('1,2,3', '[(1,2),(3,4)]', '(-1,64)', 'None', 'false',
                 'epoch_{}.pth', '[epoch_{}.pth]', 'a(b', 'x.y', '0.5'):
        assert parse_option_value(text) == DictAction._parse_iterable(text)
    # What DictAction did with dicts: a split string, a string, a crash.
    assert DictAction._parse_iterable("{'a':1,'b':2}") == ["{'a':1", "b':2}"]
    assert DictAction._parse_iterable('dict(a=1)') == 'dict(a=1)'
    with pytest.raises(RecursionError):
        DictAction._parse_iterable("[dict(type='T',norm='ln2')]")


@pytest.mark.parametrize('text, error', [
    ('[dict(a=foo(1))]', "'foo(1)' is not read: a value with a dict in it"),
    ('dict(**x)', "'dict(**x)' is not read"),
    ("{**{'a':1}}", 'it unpacks a dict with **'),
    ('[dict(a=1)', "it is no Python literal ('[' was never closed"),
    ('[1,2', 'its brackets do not balance'),
])
def test_what_cannot_be_read_is_refused(text, error):
    with pytest.raises(
            ValueError,
            match=error.replace('(', r'\(').replace(')', r'\)').replace(
                '[', r'\[').replace('*', r'\*')):
        parse_option_value(text)


def _parser():
    parser = argparse.ArgumentParser(prog='tool.py')
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptions)
    return parser


def test_the_action_merges_repeated_options_and_names_bad_entries(capsys):
    args = _parser().parse_args([
        'c.py', '--cfg-options', 'a=1', "b=dict(c='d')", '--cfg-options',
        'e=[1,2]'
    ])
    assert args.cfg_options == dict(a=1, b=dict(c='d'), e=[1, 2])
    for argv, line in (
        (['--cfg-options', 'a=1', 'c.py'],
         "tool.py: error: --cfg-options: 'c.py' is no KEY=VALUE; it takes "
         'every word up to the next option, so give the other arguments '
         'before it, or end its list with --'),
        (['c.py', '--cfg-options', 'a=[1,2'],
         'tool.py: error: --cfg-options a=[1,2: its brackets do not '
         'balance.'),
    ):
        with pytest.raises(SystemExit) as exit_info:
            _parser().parse_args(argv)
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1] == line


def test_train_py_reads_a_dict_option(tmp_path, tiny_video_data):
    """The dict reaches the config: its misspelled key is named, where
    DictAction's string was refused as no dict."""
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        "env_cfg.mp_cfg=dict(mp_start_methd='fork')"
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-2000:]
    # The option that set the dict is named, not the config file.
    assert proc.stdout.strip().splitlines()[-1] == (
        'ConfigError: env_cfg.mp_cfg.mp_start_methd, set by --cfg-options '
        "env_cfg.mp_cfg={'mp_start_methd': 'fork'}: "
        "'mp_start_methd' is no "
        "env_cfg.mp_cfg key (did you mean 'mp_start_method'?); MMEngine's "
        'set_multi_processing would refuse it. It takes: mp_start_method, '
        'opencv_num_threads.'), proc.stdout[-2000:]
    assert not (tmp_path / 'w').exists()
