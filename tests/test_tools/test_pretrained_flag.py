# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--pretrained CHECKPOINT`` of tools/train.py and tools/test.py: one way,
on every config in configs/, for every layout the converters and MMEngine
write."""
import copy
import glob
import json
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from helpers import (CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, load_tool, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from refusal_lines import refused_line

from mmadaptformer.models.converters import (ConversionResult,
                                             save_converted_checkpoint)
from mmadaptformer.utils import backbone_checkpoint_prefix

train_tool = load_tool('train.py')
test_tool = load_tool('test.py')

ALL_CONFIGS = sorted(
    p for p in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    if '_base_' not in osp.relpath(p, CONFIGS).split(osp.sep))


def _name(path):
    return osp.relpath(path, CONFIGS)


def _is_wrapped(cfg):
    inner = cfg.model.backbone.get('backbone')
    return isinstance(inner, dict) and 'type' in inner


def _stock(cfg):
    return (cfg.model.backbone.backbone
            if _is_wrapped(cfg) else cfg.model.backbone)


def _shrink(cfg):
    """Make the stock backbone tiny, keeping its type (ViT-B -> width 64,
    2 blocks, 32x32), so a real checkpoint of it is cheap to write."""
    stock = _stock(cfg)
    if cfg.default_scope == 'mmaction':
        stock.update(embed_dims=64, depth=2, num_heads=2, img_size=32)
    else:
        stock.update(
            arch=dict(
                embed_dims=64,
                num_layers=2,
                num_heads=2,
                feedforward_channels=128),
            img_size=32)
    stock.pop('pretrained', None)
    stock.init_cfg = None


def _stock_state(cfg, seed=0):
    """Random weights of the config's stock backbone, as its own keys."""
    init_default_scope(cfg.default_scope)
    torch.manual_seed(seed)
    backbone = MODELS.build(copy.deepcopy(_stock(cfg)))
    backbone.init_weights()
    return OrderedDict(
        (k, v.clone()) for k, v in backbone.state_dict().items())


def _write_converted(path, state):
    """What tools/model_converters/convert_official.py writes."""
    full = OrderedDict((f'backbone.{k}', v) for k, v in state.items())
    full['cls_head.fc_cls.weight'] = torch.zeros(2, 64)
    save_converted_checkpoint(
        ConversionResult(state_dict=full, source_type='videomae'),
        str(path),
        converted_from='pretrain.pth')
    return str(path)


def _loaded_stock(cfg):
    """The config's model built and initialised; its stock backbone."""
    init_default_scope(cfg.default_scope)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    return (model.backbone.backbone if _is_wrapped(cfg) else model.backbone)


def _assert_loaded(module, state):
    loaded = module.state_dict()
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=_name)
def test_pretrained_on_every_config(path, tmp_path):
    """The flag sets the stock backbone's init_cfg, whatever the config had
    there (None, initialisers, another file), and the weights load."""
    cfg = Config.fromfile(path)
    _shrink(cfg)
    state = _stock_state(cfg)
    ckpt = _write_converted(tmp_path / 'converted.pth', state)

    args = train_tool.parse_args([path, '--pretrained', ckpt])
    cfg = train_tool.merge_args(cfg, args)
    expected = dict(type='Pretrained', checkpoint=ckpt, prefix='backbone.')
    assert _stock(cfg).init_cfg == expected
    if cfg.model.backbone.type in ('AdaptFormer', 'VPT'):
        assert cfg.model.backbone.backbone.init_cfg == expected
    _assert_loaded(_loaded_stock(cfg), state)

    test_cfg = Config.fromfile(path)
    args = test_tool.parse_args([path, 'ckpt.pth', '--pretrained', ckpt])
    test_cfg = test_tool.merge_args(test_cfg, args)
    assert _stock(test_cfg).init_cfg == expected


def _layouts(state):
    prefixed = OrderedDict((f'backbone.{k}', v) for k, v in state.items())
    prefixed['cls_head.fc_cls.weight'] = torch.zeros(2, 64)
    return {
        'bare backbone': (state, None),
        'state_dict backbone': ({
            'state_dict': state
        }, None),
        'mmengine full model': ({
            'state_dict': prefixed,
            'meta': {}
        }, 'backbone.'),
        'ddp module.': ({
            'state_dict':
            OrderedDict((f'module.{k}', v) for k, v in prefixed.items())
        }, 'module.backbone.'),
    }


@pytest.mark.parametrize(
    'config', [TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG],
    ids=['adaptformer', 'plain'])
@pytest.mark.parametrize('layout', [
    'bare backbone', 'state_dict backbone', 'mmengine full model',
    'ddp module.'
])
def test_every_checkpoint_layout_loads(config, layout, tmp_path):
    cfg = Config.fromfile(config)
    state = _stock_state(cfg, seed=3)
    obj, prefix = _layouts(state)[layout]
    ckpt = str(tmp_path / 'ckpt.pth')
    torch.save(obj, ckpt)
    assert backbone_checkpoint_prefix(obj) == prefix
    cfg = train_tool.merge_args(
        cfg, train_tool.parse_args([config, '--pretrained', ckpt]))
    assert _stock(cfg).init_cfg.get('prefix') == prefix
    _assert_loaded(_loaded_stock(cfg), state)


def test_unconverted_official_checkpoint_is_refused(tmp_path):
    ckpt = str(tmp_path / 'official.pth')
    torch.save(
        {
            'model': {
                'encoder.patch_embed.proj.weight': torch.zeros(1)
            },
            'epoch': 3
        }, ckpt)
    args = train_tool.parse_args(
        [TINY_ADAPTFORMER_VIDEO_CONFIG, '--pretrained', ckpt])
    with pytest.raises(ValueError, match=r'official\.pth.*convert_official'):
        train_tool.merge_args(
            Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG), args)


_VIDEO_PATCH = torch.zeros(8, 3, 2, 16, 16)
_IMAGE_PATCH = torch.zeros(8, 3, 16, 16)


@pytest.mark.parametrize(
    'config, weights, expected',
    [(TINY_VIDEO_CONFIG, {
        'patch_embed.proj.weight': _IMAGE_PATCH
    }, "It is an image checkpoint (a Conv2d patch embedding, 'patch_embed."
      "proj.weight' of shape (8, 3, 16, 16)), but this backbone is "
      "mmaction2's VisionTransformer, which takes video weights; "
      "convert_official.py converts image checkpoints for mmpretrain's "
      'VisionTransformer only.'),
     (TINY_VIDEO_CONFIG, {
         'patch_embed.proj.weight': _VIDEO_PATCH,
         'blocks.0.adaptmlp.down_proj.weight': torch.zeros(2, 8)
     }, 'It holds trained AdaptFormer adapters (an official AdaptFormer '
      'model): convert it with python tools/model_converters/'
      'convert_official.py {} CONVERTED.pth --type adaptformer-video and '
      'give CONVERTED.pth as the checkpoint (tools/test.py CONFIG '
      'CONVERTED.pth, load_from), not as --pretrained'),
     (TINY_IMAGE_CONFIG, {
         'encoder.patch_embed.proj.weight': _VIDEO_PATCH
     }, 'It is a video checkpoint (VideoMAE pre-training keys '
      "('encoder.patch_embed.proj.weight')), but this backbone is "
      "mmpretrain's VisionTransformer, which takes image weights")],
    ids=['image-for-video', 'adaptformer', 'video-for-image'])
def test_nested_vit_weights_the_converter_would_refuse_are_named(
        tmp_path, config, weights, expected):
    """Before, the advice came from the backbone's toolbox alone: --type
    videomae for any file on mmaction2's ViT (--type mae on mmpretrain's),
    which the converter refuses for an AdaptFormer model (adapters) and
    for a checkpoint of the other modality."""
    ckpt = str(tmp_path / 'nested.pth')
    torch.save({'model': weights, 'epoch': 3}, ckpt)
    args = train_tool.parse_args([config, '--pretrained', ckpt])
    with pytest.raises(ValueError) as refused:
        train_tool.merge_args(Config.fromfile(config), args)
    message = str(refused.value)
    assert expected.format(ckpt) in message
    # The trained model's type; none for a file of the other modality.
    assert message.count('--type') == ('but this backbone' not in expected)


def test_nested_vit_weights_of_an_unknown_toolbox_name_one_type():
    """A ``VisionTransformer`` whose toolbox is not known (no scope, no
    ``default_scope``) got both types; its keys tell which."""
    from mmadaptformer.utils.pretrained_conversion import conversion_advice
    backbone = dict(type='VisionTransformer')
    for patch, kind in ((_VIDEO_PATCH, 'videomae'), (_IMAGE_PATCH, 'mae')):
        advice = conversion_advice(
            backbone, None, 'model.backbone', 'f.pth',
            {'model': {
                'patch_embed.proj.weight': patch
            }})
        assert advice.count('--type') == 1
        assert f'f.pth CONVERTED.pth --type {kind} (' in advice
    # Keys that tell nothing: both, by the backbone's modality.
    advice = conversion_advice(backbone, None, 'model.backbone', 'f.pth',
                               {'model': {
                                   'x.weight': torch.zeros(1)
                               }})
    assert advice.endswith('--type videomae for a video backbone, --type mae '
                           'for an image one, and give CONVERTED.pth as '
                           '--pretrained.')


def test_a_2d_file_for_a_backbone_that_inflates_it_names_its_own_key(tmp_path):
    """Swin3D reads (and inflates) 2D ImageNet checkpoints through its own
    ``pretrained``: --pretrained cannot take such a file ({'model': ...}),
    and the refusal says which config keys do."""
    ckpt = str(tmp_path / 'swin2d.pth')
    torch.save({'model': {'patch_embed.proj.weight': torch.zeros(1)}}, ckpt)
    config = write_config(
        tmp_path / 'swin3d.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        'model = dict(backbone=dict(backbone=dict(_delete_=True, '
        "type='SwinTransformer3D', arch='tiny', pretrained=None, "
        'pretrained2d=True)))\n')
    args = train_tool.parse_args([config, '--pretrained', ckpt])
    with pytest.raises(
            ValueError,
            match=r"swin2d\.pth cannot be loaded as a backbone's "
            r"pretrained weights: its weights are nested under 'model'.* "
            r'SwinTransformer3D '
            r'reads checkpoints itself .* set model\.backbone\.backbone\.'
            rf"pretrained='{ckpt}' and model\.backbone\.backbone\."
            r'pretrained2d=True in the config instead of giving '
            r'--pretrained\.$'):
        train_tool.merge_args(Config.fromfile(config), args)


def test_a_file_for_mvit_gets_no_advice_to_set_its_own_pretrained(tmp_path):
    """MViT takes a ``pretrained`` key too, but it only becomes its
    ``init_cfg``: the refusal told it to set ``pretrained=FILE`` instead,
    which sends the file to the same refusal."""
    ckpt = str(tmp_path / 'official.pth')
    torch.save({'model': {'patch_embed.proj.weight': torch.zeros(1)}}, ckpt)
    config = write_config(
        tmp_path / 'mvit.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        'model = dict(backbone=dict(backbone=dict(_delete_=True, '
        "type='MViT', arch='tiny', pretrained=None)))\n")
    runs = ((train_tool, [config]), (test_tool, [config, 'model.pth']))
    for tool, argv in runs:
        args = tool.parse_args(argv + ['--pretrained', ckpt])
        with pytest.raises(ValueError) as refused:
            tool.merge_args(Config.fromfile(config), args)
        # Nor to run convert_official.py, which writes for ViTs only.
        assert str(refused.value).endswith(
            'model.backbone.backbone is a MViT: neither this package '
            "(convert_official.py writes for mmaction2's and mmpretrain's "
            "VisionTransformer) nor the installed mmpretrain's "
            'tools/model_converters converts checkpoints for it. Give '
            "--pretrained weights in MViT's own key layout (e.g. the "
            "toolbox's model-zoo checkpoint); if the nested weights already "
            "are, save them as {'state_dict': WEIGHTS}.")
        assert 'reads checkpoints itself' not in str(refused.value)


def test_cfg_options_refine_the_pretrained_init_cfg(tmp_path):
    ckpt = str(tmp_path / 'ckpt.pth')
    torch.save({'state_dict': {'backbone.x': torch.zeros(1)}}, ckpt)
    args = train_tool.parse_args([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--pretrained', ckpt, '--cfg-options',
        'model.backbone.backbone.init_cfg.map_location=cpu'
    ])
    cfg = train_tool.merge_args(
        Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG), args)
    assert cfg.model.backbone.backbone.init_cfg == dict(
        type='Pretrained',
        checkpoint=ckpt,
        prefix='backbone.',
        map_location='cpu')


def test_train_and_test_cli_with_pretrained(tmp_path, tiny_video_data):
    """Train AdaptFormer on a pretrained backbone given on the command line,
    then test its adapter-only checkpoint on the same backbone."""
    pretrained = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(pretrained, seed=5)
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    work = tmp_path / 'work'
    proc = run_tool([
        'train.py', cfg, '--work-dir', work, '--pretrained', pretrained,
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path)
    assert 'model.backbone.backbone.init_cfg' in proc.stdout
    metrics = tmp_path / 'metrics.json'
    run_tool([
        'test.py', cfg, work / 'epoch_1.pth', '--work-dir', tmp_path / 't',
        '--pretrained', pretrained, '--out', metrics, '--out-item', 'metrics'
    ],
             cwd=tmp_path)
    assert 0.0 <= json.loads(metrics.read_text())['acc/top1'] <= 1.0
    # Without the backbone it was trained on, the adapters are refused.
    proc = run_tool(
        ['test.py', cfg, work / 'epoch_1.pth', '--work-dir', tmp_path / 't'],
        cwd=tmp_path,
        check=False)
    assert proc.returncode != 0
    # The adapter-only checkpoint itself given as the backbone: said so, on
    # one line, with the backbone it was trained on.
    proc = run_tool([
        'test.py', cfg, work / 'epoch_1.pth', '--work-dir', tmp_path / 't',
        '--pretrained', work / 'epoch_1.pth'
    ],
                    cwd=tmp_path,
                    check=False)
    refused_line(proc)
    assert (f'PretrainedFileError: {work / "epoch_1.pth"} is an adapter-only '
            'checkpoint') in proc.stdout, proc.stdout
    assert f'the one it was trained on: {pretrained}.' in proc.stdout

    # tools/infer.py (one model, and tasks on the shared backbone) and
    # merge_adapters.py take the same flag.
    videos = sorted(glob.glob(osp.join(tiny_video_data['videos'],
                                       '*.mp4')))[:2]
    ckpt = work / 'epoch_1.pth'

    def infer(name, *args):
        out = tmp_path / f'{name}.json'
        run_tool(['infer.py', *args, *videos, '--out', out], cwd=tmp_path)
        return {
            path: {task: answer['scores']
                   for task, answer in answers.items()}
            for path, answers in json.loads(out.read_text()).items()
        }

    alone = infer('alone', cfg, ckpt, '--pretrained', pretrained)
    proc = run_tool(['infer.py', cfg, ckpt, *videos],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1
    assert 'FrozenBackboneMismatchError' in proc.stdout
    together = infer('together', '--task', 'a', cfg, ckpt, '--task', 'b', cfg,
                     ckpt, '--pretrained', pretrained)
    merged = tmp_path / 'merged.pth'
    run_tool([
        'model_converters/merge_adapters.py', cfg, ckpt, merged,
        '--pretrained', pretrained
    ],
             cwd=tmp_path)
    # A merged checkpoint holds the backbone: no --pretrained needed.
    from_merged = infer('merged', cfg, merged)
    assert len(alone) == len(videos)
    for path, answers in alone.items():
        expected = torch.tensor(answers['cfg'])
        for scores in (together[path]['a'], together[path]['b'],
                       from_merged[path]['cfg']):
            torch.testing.assert_close(torch.tensor(scores), expected)


def test_relative_pretrained_path_is_recorded_absolute(tmp_path, monkeypatch):
    """The work dir's config copy records the path; tools run later from
    another directory must find the file."""
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    _shrink(cfg)
    _write_converted(tmp_path / 'converted.pth', _stock_state(cfg))
    monkeypatch.chdir(tmp_path)
    args = train_tool.parse_args(
        [TINY_ADAPTFORMER_VIDEO_CONFIG, '--pretrained', 'converted.pth'])
    cfg = train_tool.merge_args(cfg, args)
    assert _stock(cfg).init_cfg['checkpoint'] == str(tmp_path /
                                                     'converted.pth')
