# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An option that sets one key of an ``init_cfg`` the config leaves None.

The README said such an option makes an ``init_cfg`` without a ``type``
(refused, exit status 1); over ``init_cfg=None`` MMEngine cannot merge it
at all (exit status 2, naming ``_delete_=True``), and ``_delete_=True``
beside it, as the README now says, merges: the run then goes on to the
next check, the pretrained file's. Guards behaviour that already worked,
so that the README's words cannot go stale again unseen.
"""
from checkpoint_makers import save_stock_image_checkpoint
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     image_data_cfg, run_tool, video_data_cfg, write_config)
from refusal_lines import refused_line, usage_line

KEY = 'model.backbone.backbone.init_cfg'


def _train(tmp_path, data, *options):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(data))
    return run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        *options
    ],
                    cwd=tmp_path,
                    check=False)


def test_a_key_over_none_cannot_be_merged(tmp_path, tiny_video_data):
    line = usage_line(
        _train(tmp_path, tiny_video_data, f'{KEY}.checkpoint=x.pth'),
        no_dir=tmp_path / 'w')
    assert line.startswith(
        f"train.py: error: --cfg-options {KEY}.checkpoint='x.pth' cannot be "
        'merged into the config '), line
    assert 'init_cfg is a dict in the child config but is of type ' \
        "<class 'NoneType'> in base config" in line, line
    assert '_delete_=True' in line, line


def test_delete_beside_it_merges(tmp_path, tiny_video_data):
    line = refused_line(
        _train(tmp_path, tiny_video_data, f'{KEY}._delete_=True',
               f'{KEY}.type=Pretrained', f'{KEY}.checkpoint=missing.pth'),
        no_dir=tmp_path / 'w')
    assert line == (
        f"ConfigError: --cfg-options {KEY}.checkpoint='missing.pth': the "
        'checkpoint missing.pth does not exist; give the backbone\'s weights '
        'with --pretrained PATH, or set the key to the file.'), line


def test_delete_where_no_base_sets_the_key_is_named(tmp_path, tiny_image_data):
    """Where no base config sets the ``init_cfg`` (the tiny image ViT has
    none), MMEngine's merge keeps ``_delete_`` as a key: the refusal said
    only that ``Pretrained`` takes no argument ``'_delete_'``, which the
    user had written on purpose, and only once the Runner had made the
    work dir; it now says why and what to remove, before."""
    key = 'model.backbone.init_cfg'
    stock = str(tmp_path / 'stock.pth')
    save_stock_image_checkpoint(stock)
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        f'{key}._delete_=True', f'{key}.type=Pretrained',
        f'{key}.checkpoint={stock}'
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(
        proc, no_dir=tmp_path / 'w') == (
            f'ConfigError: --cfg-options {key}._delete_=True: _delete_=True '
            f'replaces the value that a base config gives {key}, but none '
            'gives it one: MMEngine then keeps _delete_ as a key. Remove '
            f'_delete_=True from {key}.')
