# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every tool that reads a config takes ``--cfg-options`` from one place
(:func:`mmadaptformer.utils.cfg_options.add_cfg_options`), with one help.

Before, the block was written out in five places with five helps: the
adapter converters said only "as in tools/train.py", the analysis tools
"KEY=VALUE overrides of the config", and only ``tools/infer.py`` said that
the option takes every word up to the next one.
"""
import pytest
from helpers import load_tool

from mmadaptformer.benchmark import options as benchmark_train_options
from mmadaptformer.utils.cfg_options import CFG_OPTIONS_HELP

#: Each tool and the arguments it needs before ``--cfg-options``.
TOOLS = {
    'train.py': ['c.py'],
    'test.py': ['c.py', 'ck.pth'],
    'infer.py': ['c.py', 'ck.pth', 'in.mp4'],
    'model_converters/extract_adapters.py': ['c.py', 'ck.pth', 'out.pth'],
    'model_converters/merge_adapters.py': ['c.py', 'ck.pth', 'out.pth'],
    'analysis_tools/benchmark_infer.py': ['c.py'],
    'analysis_tools/benchmark_add_task.py': ['c.py'],
    'analysis_tools/get_flops.py': ['c.py'],
    'analysis_tools/benchmark_train.py': ['c.py'],
}
#: The sentence ``tools/infer.py`` adds: the options change every task's
#: config.
INFER_EXTRA = "With --task, they change every task's config."


def _words(text: str) -> str:
    return ' '.join(text.split())


def _parse_args(path: str):
    """The tool's ``parse_args``; ``benchmark_train.py`` has its parser in
    :mod:`mmadaptformer.benchmark.options`."""
    if path == 'analysis_tools/benchmark_train.py':
        return benchmark_train_options.parse_args
    return load_tool(path).parse_args


@pytest.mark.parametrize('path', TOOLS)
def test_each_tools_help_shows_the_one_cfg_options_help(path, capsys):
    """``--help`` names the option with its ``KEY=VALUE`` words and gives
    the shared help: how a list, a nested list and a dict are written, and
    that the option takes every word up to the next one."""
    with pytest.raises(SystemExit) as exc:
        _parse_args(path)(['--help'])
    assert exc.value.code == 0
    out = _words(capsys.readouterr().out)
    assert '--cfg-options KEY=VALUE [KEY=VALUE ...]' in out, out
    for part in ('key="[a,b]" or key=a,b', 'key="[(a,b),(c,d)]"',
                 'no white space is allowed',
                 'every word up to the next option'):
        assert part in out, (part, out)
    expected = _words(CFG_OPTIONS_HELP)
    if path == 'infer.py':
        expected += ' ' + INFER_EXTRA
    assert f'[KEY=VALUE ...] {expected}' in out, out


@pytest.mark.parametrize('path', TOOLS)
def test_each_tool_refuses_a_word_without_equals_by_name(path, capsys):
    """A guard of kept behaviour: an input given after ``--cfg-options`` is
    the parser's error (exit status 2), naming the word."""
    argv = TOOLS[path] + ['--cfg-options', 'a=1', 'oops']
    with pytest.raises(SystemExit) as exc:
        _parse_args(path)(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--cfg-options: 'oops' is no KEY=VALUE" in err, err
