# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``{{_base_.X}}`` reference to a key the bases do not define, and two
``_base_`` files that define one key, ended the tools and the APIs with a
bare ``KeyError`` after a traceback of 30 to 40 lines, naming no file, line
or base. Now they are one line: the file (and line), the reference and the
keys there are, or the key and the two bases."""
import pytest
from config_writers import write_config
from helpers import TINY_VIDEO_CONFIG
from tool_runners import run_tool

#: The tiny video config's backbone, under a misspelt reference.
TYPO = 'model = dict(backbone=dict(_delete_=True, type="AdaptFormer",\n' \
    '    backbone={{_base_.model.backbon}}))\n'


def _error_line(proc):
    lines = [line for line in proc.stderr.splitlines() if 'error:' in line]
    assert len(lines) == 1 and 'Traceback' not in proc.stderr, proc.stderr
    return lines[0]


def test_a_misspelt_base_reference_is_named_in_the_tools_and_the_api(tmp_path):
    """tools/train.py ends on one line (exit 2) naming the file, the line,
    the reference, the closest key and the keys at that level; init_model
    raises the same message, still a KeyError."""
    from mmadaptformer.apis import init_model
    from mmadaptformer.utils.config_error import ConfigError
    config = write_config(tmp_path / 'typo.py', TINY_VIDEO_CONFIG, TYPO)
    said = f'{config}, line 3: {{{{_base_.model.backbon}}}} names ' \
        "'backbon' (did you mean 'backbone'?), which its bases do not " \
        'define; _base_.model has: backbone, cls_head, data_preprocessor, ' \
        'type.'
    proc = run_tool(['train.py', config],
                    cwd=tmp_path,
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 2, proc.stderr
    assert _error_line(proc) == f'train.py: error: {said}'
    with pytest.raises(ConfigError) as info:
        init_model(config)
    assert isinstance(info.value, KeyError)
    assert str(info.value) == said


def test_a_reference_in_a_base_names_that_base(tmp_path):
    """The reference sits in a base of the config given: the base and its
    line are named, and the config read through it."""
    from mmadaptformer.utils.config_loading import load_config_file
    base = write_config(tmp_path / 'mid.py', TINY_VIDEO_CONFIG,
                        'x = 1\ny = {{ _base_.nope }}\n')
    config = write_config(tmp_path / 'child.py', base)
    with pytest.raises(KeyError) as info:
        load_config_file(config)
    assert str(info.value).startswith(
        f'{base}, line 3 (a _base_ of the config {config}): '
        "{{_base_.nope}} names 'nope', which its bases do not define; "
        '_base_ has: '), str(info.value)


def test_a_key_two_bases_define_names_both(tmp_path):
    """A data file beside the stock config in ``_base_``, both with
    ``train_cfg``: tools/test.py ends on one line (exit 2) naming the
    config, the key, both bases as written and the fix."""
    from checkpoint_makers import save_stock_video_checkpoint
    checkpoint = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    with open(tmp_path / 'data.py', 'w') as f:
        f.write('train_cfg = dict(max_epochs=2)\n')
    config = str(tmp_path / 'dup.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{TINY_VIDEO_CONFIG!r}, "./data.py"]\n')
    proc = run_tool(['test.py', config, checkpoint],
                    cwd=tmp_path,
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 2, proc.stderr
    assert _error_line(proc) == (
        f'test.py: error: {config}: two of its _base_ files define '
        f'train_cfg: ./data.py and {TINY_VIDEO_CONFIG} (directly or through '
        'their own bases); MMEngine merges bases only where their keys '
        'differ. Drop it from one base (and set it in this config if it '
        'needs another value), or make one base inherit the other.')


def test_other_key_errors_pass_unchanged(tmp_path):
    """Guards kept behaviour: a KeyError the config's own code raises is
    not taken for a base mistake."""
    from mmadaptformer.utils.config_error import ConfigError
    from mmadaptformer.utils.config_loading import load_config_file
    config = write_config(tmp_path / 'own.py', TINY_VIDEO_CONFIG,
                          'x = dict(a=1)["b"]\n')
    with pytest.raises(KeyError) as info:
        load_config_file(config)
    assert not isinstance(info.value, ConfigError)
