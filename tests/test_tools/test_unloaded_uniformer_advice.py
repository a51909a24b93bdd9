# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The refusal of a UniFormer / UniFormerV2 backbone that was never loaded
says one coherent thing: the file way first, the name way as an
alternative labelled as such.

Before, a plain UniFormer (``pretrained2d=True``, its default) was told to
give ``--pretrained PATH`` or set ``model.backbone.init_cfg`` (which the
config check then refuses: with ``pretrained2d`` on, UniFormer never runs
its init_cfg), and the refusal ended with "... set pretrained2d=True and
pretrained to 'uniformer_small_in1k' ... in the config instead of giving
--pretrained", which contradicted the first advice for a user with a file.
Now the setting turns the flag off, ``--pretrained`` says that it does,
and the name way follows as "Alternatively, ...", for a wrapped host too.
"""
import os.path as osp

import pytest
from config_writers import video_data_cfg, write_config
from plain_hosts import HEADS
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG
from tiny_uniformer import UNIFORMER_HOST, save_uniformer_checkpoint
from tool_runners import run_tool

#: A tiny UniFormerV2 (``clip_pretrained=True``, its default).
UNIFORMERV2_HOST = dict(
    type='UniFormerV2',
    input_resolution=32,
    width=64,
    layers=2,
    heads=2,
    t_size=4,
    return_list=[1],
    n_layers=1,
    n_dim=64,
    n_head=2,
    mlp_dropout=[0.5])
_ONE_EPOCH = ('train_cfg = dict(max_epochs=1)\nval_dataloader = None\n'
              'val_cfg = None\nval_evaluator = None\n')


def _probe(tmp_path, data, host: dict) -> str:
    """The tiny video recipe linear probing the plain ``host``."""
    model = dict(
        backbone=dict(host, _delete_=True), cls_head=HEADS['UniFormer'])
    return write_config(
        tmp_path / 'probe.py', TINY_VIDEO_CONFIG,
        video_data_cfg(data) + f'model = {model!r}\n' + _ONE_EPOCH +
        "custom_hooks = [dict(type='AdapterHook', mode='linear_probe')]\n")


def _refusal(tmp_path, config) -> str:
    work_dir = str(tmp_path / 'w')
    return refused_line(
        run_tool(['train.py', config, '--work-dir', work_dir],
                 cwd=tmp_path,
                 check=False),
        no_dir=work_dir)


@pytest.mark.parametrize(
    'host, flag, names',
    [(UNIFORMER_HOST, 'pretrained2d', "'uniformer_small_in1k' or "
      "'uniformer_base_in1k' (mmaction2 downloads them)"),
     (UNIFORMERV2_HOST, 'clip_pretrained', "'ViT-B/16', 'ViT-L/14' or "
      "'ViT-L/14_336' (mmaction2 downloads it)")],
    ids=['UniFormer', 'UniFormerV2'])
def test_a_plain_host_is_told_the_file_way_then_the_name_way(
        tmp_path, tiny_video_data, host, flag, names):
    line = _refusal(tmp_path, _probe(tmp_path, tiny_video_data, host))
    name = host['type']
    assert line.startswith(
        f'UnloadedBackboneError: AdapterHook: The frozen backbone {name} '
        '(model.backbone) was never loaded'), line
    # The file way, with the flag that makes the init_cfg run.
    assert (f'Give tools/train.py --pretrained PATH (which turns '
            f'model.backbone.{flag} off), or set model.backbone.{flag} = '
            "False and model.backbone.init_cfg = dict(type='Pretrained', "
            'checkpoint=PATH) (config key model.backbone.init_cfg.'
            'checkpoint), or load a full checkpoint with load_from. ') in line
    # Then the name way, labelled as the alternative it is.
    file_way, name_way = line.split(' Alternatively, ')
    assert f'model.backbone.{flag}=True' not in file_way
    assert name_way.startswith(f'instead of a file of its own keys, {name} '
                               'can load the '), name_way
    assert f'set model.backbone.{flag}=True and model.backbone.pretrained ' \
        f'to {names}. To train on a random' in name_way, name_way
    assert 'instead of giving --pretrained' not in line


def test_the_setting_the_plain_uniformer_refusal_gives_trains(
        tmp_path, tiny_video_data):
    """Guards kept behaviour: what the refusal now says to set, set as it
    says, trains from the file (the config check passes it)."""
    path = str(tmp_path / 'uniformer.pth')
    save_uniformer_checkpoint(path)
    host = dict(
        UNIFORMER_HOST,
        pretrained2d=False,
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    config = _probe(tmp_path, tiny_video_data, host)
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path)
    assert 'Epoch(train) [1]' in proc.stdout
    assert osp.isfile(tmp_path / 'w' / 'epoch_1.pth')


def test_a_wrapped_uniformer_gets_the_name_way_as_the_alternative(
        tmp_path, tiny_video_data):
    model = dict(
        backbone=dict(backbone=dict(UNIFORMER_HOST, _delete_=True)),
        cls_head=HEADS['UniFormer'])
    config = write_config(
        tmp_path / 'wrapped.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + f'model = {model!r}\n' + _ONE_EPOCH +
        "custom_hooks = [dict(type='AdapterHook')]\n")
    line = _refusal(tmp_path, config)
    assert ('Give tools/train.py --pretrained PATH, or set '
            "model.backbone.backbone.init_cfg = dict(type='Pretrained', "
            'checkpoint=PATH)') in line, line
    assert ' Alternatively, instead of a file of its own keys, UniFormer '\
        'can load the 2D ImageNet weights it inflates, which it reads by '\
        'name only, not from a file: set model.backbone.backbone.'\
        'pretrained2d=True and model.backbone.backbone.pretrained to '\
        "'uniformer_small_in1k' or 'uniformer_base_in1k'" in line, line
