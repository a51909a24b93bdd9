# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Mistakes of the model part of a config that tools/train.py and
tools/test.py name on one line before the Runner makes the work dir: an
argument mmaction2's VideoMAE ViT would drop, a pretrained file that is
not there or empty, the AdaptFormer wrapper's own refusals and a head
width the backbone does not give."""
import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     image_data_cfg, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)
from mmengine.config import Config
from refusal_lines import refused_line, usage_line
from refused_runs import unread_checkpoint


def _refused(proc, tmp_path) -> str:
    """The last line of a run that ended with exit status 1, no traceback
    and no work dir."""
    return refused_line(proc, no_dir=tmp_path / 'w')


def _train(tmp_path, data, options, pretrained=True, body=''):
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(data) + body)
    args = ['train.py', config, '--work-dir', tmp_path / 'w']
    if pretrained:
        args += ['--pretrained', stock]
    if options:
        args += ['--cfg-options'] + options
    return config, run_tool(args, cwd=tmp_path, check=False)


@pytest.mark.parametrize('option, line', [
    ('model.backbone.backbone.drop_path_rat=0.3',
     'ConfigError: --cfg-options model.backbone.backbone.drop_path_rat=0.3: '
     "VisionTransformer takes no argument 'drop_path_rat' (did you mean "
     "'drop_path_rate' or 'drop_rate'?); mmaction2's VisionTransformer "
     'accepts and drops arguments it does not know, so it would be built '
     'as if it were not there.'),
    ('model.backbone.backbone.dept=2',
     'ConfigError: --cfg-options model.backbone.backbone.dept=2: '
     "VisionTransformer takes no argument 'dept' (did you mean 'depth'?);"),
])
def test_an_argument_the_videomae_vit_would_drop_is_one_line(
        tmp_path, tiny_video_data, option, line):
    """mmaction2's VisionTransformer takes **kwargs and drops them: the run
    trained without drop path (or with the config's depth), exit 0."""
    _, proc = _train(tmp_path, tiny_video_data, [option])
    assert _refused(proc, tmp_path).startswith(line)


def test_a_dropped_backbone_argument_in_the_file_names_the_file(
        tmp_path, tiny_video_data):
    config, proc = _train(
        tmp_path,
        tiny_video_data, [],
        body='model = dict(backbone=dict(backbone=dict(num_head=4)))\n')
    assert _refused(proc, tmp_path).startswith(
        f'ConfigError: {config}: model.backbone.backbone.num_head: '
        "VisionTransformer takes no argument 'num_head' (did you mean "
        "'num_heads'?)")


def test_a_missing_pretrained_file_is_named_before_the_runner(
        tmp_path, tiny_video_data):
    """It was ``FileNotFoundError: Checkpoint file not found: nope.pth``
    after 300 lines of log and a log folder, naming no key."""
    _, proc = _train(tmp_path, tiny_video_data,
                     ['model.backbone.backbone.init_cfg.checkpoint=nope.pth'])
    assert _refused(proc, tmp_path) == (
        'ConfigError: --cfg-options '
        "model.backbone.backbone.init_cfg.checkpoint='nope.pth': the "
        "checkpoint nope.pth does not exist; give the backbone's weights "
        'with --pretrained PATH, or set the key to the file.')


def test_an_empty_pretrained_file_points_at_pretrained(tmp_path,
                                                       tiny_video_data):
    """The stock MAE linear probe's placeholder ``checkpoint=''`` ended
    with ``Checkpoint file not found: `` and no name at all."""
    config, proc = _train(
        tmp_path,
        tiny_video_data, [],
        pretrained=False,
        body='model = dict(backbone=dict(backbone=dict(init_cfg=dict('
        "_delete_=True, type='Pretrained', checkpoint=''))))\n")
    assert _refused(proc, tmp_path) == (
        f'ConfigError: {config}: model.backbone.backbone.init_cfg.checkpoint:'
        " the pretrained checkpoint is '', a placeholder to fill in: give "
        "the backbone's weights with --pretrained PATH (which sets it), or "
        'set the key to the file.')


def test_pretrained_replaces_the_missing_file(tmp_path, tiny_video_data):
    """``--pretrained`` is applied first: the config's missing file is no
    mistake then (the run gets past the checks and trains)."""
    _, proc = _train(
        tmp_path,
        tiny_video_data, ['train_cfg.max_epochs=1'],
        body='model = dict(backbone=dict(backbone=dict(init_cfg=dict('
        "_delete_=True, type='Pretrained', checkpoint='gone.pth'))))\n")
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_a_wrong_adapter_type_is_one_line(tmp_path, tiny_video_data):
    """``adapter=8`` was ``TypeError: 'int' object is not iterable``."""
    _, proc = _train(tmp_path, tiny_video_data, ['model.backbone.adapter=8'])
    assert _refused(proc, tmp_path) == (
        'ConfigError: --cfg-options model.backbone.adapter=8: '
        'model.backbone.adapter must be a dict of AdaptMLP arguments such as '
        'dict(bottleneck=64, scale=0.1) (or None for the defaults), but got '
        '8.')


def test_an_adapter_mistake_in_the_file_names_the_file(tmp_path,
                                                       tiny_video_data):
    config, proc = _train(
        tmp_path,
        tiny_video_data, [],
        body="model = dict(backbone=dict(placement='serial'))\n")
    assert _refused(proc, tmp_path) == (
        f'ConfigError: {config}: model.backbone.placement must be one of '
        "('parallel', 'sequential'), but got 'serial'.")


def test_test_py_names_an_adapter_mistake_before_the_runner(
        tmp_path, tiny_video_data):
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'test.py', config, stock, '--work-dir', tmp_path / 'w',
        '--cfg-options', 'model.backbone.adapter.init=zeros'
    ],
                    cwd=tmp_path,
                    check=False)
    assert _refused(proc, tmp_path) == (
        "ConfigError: --cfg-options model.backbone.adapter.init='zeros': "
        "model.backbone.adapter.init must be one of ('lora', "
        "'trunc_normal'), but got 'zeros'.")


def test_a_block_types_module_that_is_not_there_is_one_line(
        tmp_path, tiny_image_data):
    """It was an AttributeError traceback whose example named modules the
    block does not have (norm='norm2', ffn='mlp' for mmpretrain's
    TransformerEncoderLayer); the example now uses the block's own."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "model = dict(backbone=dict(_delete_=True, type='AdaptFormer', "
        "backbone=dict(type='VisionTransformer', arch='deit-tiny', "
        "img_size=32, patch_size=16, out_type='cls_token'), block_types=["
        "dict(type='TransformerEncoderLayer', norm='ln_2', ffn='ffn')]))\n")
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    assert _refused(proc, tmp_path) == (
        f'ConfigError: {config}: model.backbone.block_types: '
        "TransformerEncoderLayer has no module 'ln_2', which block_types "
        "declares as its norm. Its child modules are ['ln1', 'attn', 'ln2', "
        "'ffn']; declare the right ones, e.g. block_types=[dict(type="
        "'TransformerEncoderLayer', norm='ln2', ffn='ffn')].")


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_a_head_width_the_backbone_does_not_give_is_one_line(
        tmp_path, tiny_image_data, tool):
    """It was ``RuntimeError: mat1 and mat2 shapes cannot be multiplied
    (4x64 and 768x2)`` at the first step, after the work dir was made."""
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    checkpoint = unread_checkpoint(tmp_path)
    args = [tool, config] + ([checkpoint] if tool == 'test.py' else [])
    proc = run_tool(
        args + [
            '--work-dir', tmp_path / 'w', '--cfg-options',
            'model.head.in_channels=768'
        ],
        cwd=tmp_path,
        check=False)
    assert _refused(proc, tmp_path) == (
        'ConfigError: --cfg-options model.head.in_channels=768: the head '
        'takes in_channels=768, but the backbone (model.backbone, '
        'VisionTransformer) gives it 64-wide features; set '
        'model.head.in_channels=64, or change the backbone.')


#: mmpretrain's Swin with the GlobalAveragePooling neck of its configs,
#: 32-wide features, and a head that takes 16.
TINY_SWIN_BODY = """
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        arch=dict(embed_dims=16, depths=[1, 1], num_heads=[1, 2]),
        img_size=32,
        window_size=2,
        out_indices=(1, )),
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(in_channels=16))
"""


def test_a_swin_head_width_behind_its_pooling_neck_is_one_line(
        tmp_path, tiny_image_data):
    """It was ``mat1 and mat2 shapes cannot be multiplied (4x32 and
    16x2)`` at the first step, after the work dir was made; the neck kept
    the check from running."""
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data) + TINY_SWIN_BODY)
    assert Config.fromfile(config).model.neck.type == 'GlobalAveragePooling'
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    assert _refused(proc, tmp_path) == (
        f'ConfigError: {config}: model.head.in_channels: the head takes '
        'in_channels=16, but the backbone (model.backbone, '
        'SwinTransformer) gives it 32-wide features; set '
        'model.head.in_channels=32, or change the backbone.')


def test_an_init_cfg_without_a_type_is_one_line(tmp_path, tiny_video_data):
    """An option that sets ``init_cfg.checkpoint`` where the config has no
    init_cfg made ``dict(checkpoint=...)``: ``KeyError: 'type'`` from
    MMEngine's init_weights, after the work dir was made."""
    _, proc = _train(
        tmp_path,
        tiny_video_data, ['model.cls_head.init_cfg.checkpoint=x.pth'],
        pretrained=True)
    assert _refused(proc, tmp_path) == (
        "ConfigError: --cfg-options model.cls_head.init_cfg.checkpoint='x.pth'"
        ": model.cls_head.init_cfg has no type (it is {'checkpoint': "
        "'x.pth'}); MMEngine's init_weights would stop with KeyError: "
        "'type'. Give the whole dict, e.g. model.cls_head.init_cfg=dict("
        "type='Pretrained', checkpoint=PATH) (for the backbone, --pretrained "
        'PATH sets it).')


def test_a_dict_over_a_base_value_is_one_line(tmp_path, tiny_video_data):
    """``init_cfg=dict(...)`` over a base's ``init_cfg=None`` was MMEngine's
    TypeError traceback from merging the configs. MMEngine cannot read
    such a config: a mistake of the command line's CONFIG, exit status 2, as
    in tools/infer.py."""
    base = write_config(tmp_path / 'base.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                        'model = dict(cls_head=dict(init_cfg=None))\n')
    child = write_config(
        tmp_path / 'child.py', base,
        "model = dict(cls_head=dict(init_cfg=dict(type='Normal')))\n")
    proc = run_tool(['train.py', child, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    assert usage_line(
        proc, no_dir=tmp_path / 'w'
    ).startswith(
        f'train.py: error: The config {child} (or a _base_ of it): init_cfg='
        "{'type': 'Normal'} in child config cannot inherit from base "
        'because init_cfg is a dict in the child config but is of type '
        "<class 'NoneType'> in base config. You may set `_delete_=True`")


def test_test_py_names_a_missing_pretrained_file_an_adapter_only_needs(
        video_tasks, tmp_path):
    """An adapter-only checkpoint takes its frozen backbone from the
    config's pretrained file: a missing one was ``FileNotFoundError:
    Checkpoint file not found`` at the load, after the work dir was made.
    A merged checkpoint, which holds the backbone, still tests without
    it."""
    task = video_tasks['full']
    config = write_config(
        tmp_path / 'cfg.py', task['config'],
        'model = dict(backbone=dict(backbone=dict(init_cfg=dict('
        "checkpoint='nope.pth'))))\n")
    proc = run_tool(
        ['test.py', config, task['checkpoint'], '--work-dir', tmp_path / 'w'],
        cwd=tmp_path,
        check=False)
    assert _refused(proc, tmp_path) == (
        f'ConfigError: {config}: model.backbone.backbone.init_cfg.checkpoint'
        ': the checkpoint nope.pth does not exist; give the backbone\'s '
        'weights with --pretrained PATH, or set the key to the file.')
    merged = str(tmp_path / 'merged.pth')
    run_tool([
        'model_converters/merge_adapters.py', task['config'],
        task['checkpoint'], merged
    ],
             cwd=tmp_path)
    proc = run_tool(['test.py', config, merged, '--work-dir', tmp_path / 'm'],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
