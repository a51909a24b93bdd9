# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the frozen-host wrapper refuses to load instead of loading it wrong.

* a trained model (a full AdaptFormer checkpoint, with its adapters) given
  as the backbone's pretrained weights: ``--pretrained`` would drop the
  adapters and train fresh ones;
* a full checkpoint that lacks some of the backbone's tensors (another
  layout, e.g. ``fc_norm`` where the model has ``ln1``): they would keep
  the model's initial values;
* a checkpoint that lacks a norm inside a block: it is not a final norm
  that a pre-training checkpoint legitimately lacks.

Checkpoints are written in the official layout by the builders of
``test_converters.py`` and converted as users do.
"""
import copy
import os.path as osp
import re

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     run_tool, save_stock_video_checkpoint, video_data_cfg,
                     write_config)
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from test_converters import (IMAGE, IMG, convert_state_dict, format_report,
                             official_image, official_video,
                             reference_image_logits)

from mmadaptformer.models.converters import save_converted_checkpoint
from mmadaptformer.utils import PretrainedFileError
from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  fresh_keys)

CONVERTER = 'model_converters/convert_official.py'
IMAGE_ADAPTFORMER = """
model = dict(
    backbone=dict(
        _delete_=True, type='AdaptFormer', adapter=dict(bottleneck=8),
        backbone=dict(
            type='VisionTransformer',
            arch=dict(embed_dims=64, num_layers=2, num_heads=2,
                      feedforward_channels=128),
            img_size=32, patch_size=16, {layout})),
    head=dict(_delete_=True, type='BNLinearHead', num_classes=5,
              in_channels=64))
"""


def _two_classes(state_dict):
    """The official video checkpoint with the tiny config's 2 classes."""
    for key in ('head.1.weight', 'head.1.bias'):
        state_dict[key] = state_dict[key][:2]
    return state_dict


def _converted_video(path, state_dict):
    result = convert_state_dict(state_dict, img_size=IMG, num_frames=4)
    save_converted_checkpoint(result, str(path), converted_from='src.pth')
    return str(path)


# --- A: a trained model given as the pretrained backbone -----------------
def test_pretrained_full_adaptformer_checkpoint_is_refused(
        tmp_path, tiny_video_data):
    """``tools/train.py CONFIG --pretrained FULL.pth`` with FULL.pth a
    converted official AdaptFormer checkpoint: its adapters used to be
    dropped without a word and fresh ones trained."""
    full = _converted_video(tmp_path / 'full.pth',
                            _two_classes(official_video()))
    cfg = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + 'train_cfg = dict(max_epochs=1)\n')
    work = tmp_path / 'work'
    proc = run_tool(
        ['train.py', cfg, '--pretrained', full, '--work-dir', work],
        cwd=tmp_path,
        check=False)
    out = proc.stdout
    assert proc.returncode != 0, out[-3000:]
    assert (f'PretrainedFileError: {full} holds 8 tensors of trained '
            'adapters (e.g. blocks.0.adaptmlp.down_proj.weight): it is a '
            'trained AdaptFormer model') in out, out[-3000:]
    assert ('--pretrained and model.backbone.backbone.init_cfg.checkpoint '
            'load the frozen backbone only') in out
    assert f'tools/test.py CONFIG {full}' in out
    assert f"load_from='{full}'" in out
    assert not osp.exists(work / 'epoch_1.pth')
    assert 'Epoch(train)' not in out

    # The same file through the backbone's init_cfg, and the stock
    # backbone's checkpoint (no adapters) still loads.
    init_default_scope('mmaction')
    backbone = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model.backbone
    backbone.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=full, prefix='backbone.')
    with pytest.raises(PretrainedFileError, match='holds 8 tensors'):
        MODELS.build(backbone).init_weights()
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    backbone.backbone.init_cfg.checkpoint = stock
    model = MODELS.build(backbone)
    model.init_weights()
    assert model.host_source == stock


# --- B: a full checkpoint with holes -------------------------------------
def test_full_checkpoint_of_another_layout_is_refused_by_get_model(tmp_path):
    """A converted official image checkpoint with fc_norm (global pooling)
    loaded into a cls-token config lacks ln1: refused, naming the keys and
    the layout; with the settings it needs, it loads and matches the
    official forward."""
    from mmpretrain import get_model
    sd = official_image(global_pool=True)
    ckpt = str(tmp_path / 'global_pool.pth')
    save_converted_checkpoint(
        convert_state_dict(sd), ckpt, converted_from='src.pth')
    cls_token = write_config(
        tmp_path / 'cls_token.py', TINY_IMAGE_CONFIG,
        IMAGE_ADAPTFORMER.format(layout="out_type='cls_token'"))
    with pytest.raises(StateDictMismatchError) as info:
        get_model(cls_token, pretrained=ckpt)
    text = str(info.value)
    assert text.startswith(f'AdaptFormer: the state dict of {ckpt} is a '
                           'full checkpoint of its VisionTransformer '
                           '(it holds 28 of the 30 backbone tensors'), text
    assert 'lacks 2 of them: backbone.ln1.weight, backbone.ln1.bias.' in text
    assert ('holds 2 backbone keys that this model lacks: '
            'backbone.ln2.weight, backbone.ln2.bias.') in text
    assert "out_type='avg_featmap', final_norm=False" in text
    assert 'extract_adapters' not in text

    pooled = write_config(
        tmp_path / 'pooled.py', TINY_IMAGE_CONFIG,
        IMAGE_ADAPTFORMER.format(
            layout="out_type='avg_featmap', final_norm=False"))
    model = get_model(pooled, pretrained=ckpt).eval()
    x = torch.randn(*IMAGE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(
            model(x, mode='tensor'),
            reference_image_logits(sd, x),
            atol=1e-5,
            rtol=1e-5)


def test_old_adapter_only_state_dicts_are_not_full_checkpoints_with_holes():
    """The rule above: an adapter-only state dict without the frozen
    backbone's record, with the host tensors ``extra_trainable`` trained
    beside the adapters (fc_norm, the patch embedding, every norm and bias:
    more than half of the backbone's keys, but a small part of its blocks'
    elements), is named as adapter-only, not as a full checkpoint with
    holes. Without a record (nor a caller that checks a meta record) it is
    refused all the same: it loaded with a warning."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model
    torch.manual_seed(0)
    trained = MODELS.build(cfg)
    extra = re.compile(r'^backbone\.(fc_norm|patch_embed|.*norm|.*bias)')
    state = {
        k: v
        for k, v in trained.state_dict().items()
        if 'adaptmlp' in k or k.startswith('cls_head.') or extra.match(k)
    }
    host = trained.backbone.host_keys
    held = [k for k in host if 'backbone.' + k in state]
    assert 2 * len(held) > len(host)  # most keys, by count
    model = MODELS.build(cfg)
    with pytest.raises(StateDictMismatchError) as e:
        model.load_state_dict(state, strict=False)
    assert (f', {len(held)} of the {len(host)} backbone tensors (not the '
            "blocks' weights) and no record of the frozen backbone") in str(
                e.value)
    assert str(e.value).startswith(
        'AdaptFormer: the state dict being loaded holds 8 tensors of trained '
        'adapters (e.g. backbone.blocks.0.adaptmlp.')
    assert 'it looks like an adapter-only checkpoint whose record was ' \
        'lost' in str(e.value)
    assert 'full checkpoint' not in str(e.value)


# --- C: norms inside blocks ----------------------------------------------
def _without_block_norms(state_dict):
    del state_dict['blocks.0.norm2.weight']
    del state_dict['blocks.0.norm2.bias']
    del state_dict['blocks.1.norm1.weight']
    return state_dict


def test_converter_reports_and_tools_test_refuses_missing_block_norms(
        tmp_path, tiny_video_data):
    """The auditor's case: block norms deleted from an official video
    checkpoint. The converter names them; tools/test.py used to test it
    with identity norms in their place (exit 0, a warning)."""
    src = str(tmp_path / 'damaged.pth')
    torch.save({'model': _without_block_norms(_two_classes(official_video()))},
               src)
    ckpt = tmp_path / 'converted.pth'
    proc = run_tool(
        [CONVERTER, src, ckpt, '--img-size', IMG, '--num-frames', 4],
        cwd=tmp_path)
    assert ('Missing 3 key(s) that the other blocks hold (a damaged '
            'checkpoint: models refuse the result):\n'
            '  ? blocks.0.norm2.weight\n  ? blocks.0.norm2.bias\n'
            '  ? blocks.1.norm1.weight\n') in proc.stdout, proc.stdout

    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    proc = run_tool(['test.py', cfg, ckpt, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    out = proc.stdout
    assert proc.returncode != 0, out[-3000:]
    assert (f'StateDictMismatchError: {ckpt} does '
            "not fit the model: it lacks some of the model's tensors") in out
    assert ('3 missing keys (in the model, not in the checkpoint): '
            'backbone.blocks.0.norm2.weight, backbone.blocks.0.norm2.bias, '
            'backbone.blocks.1.norm1.weight') in out, out[-3000:]
    assert 'Epoch(test)' not in out


def test_converter_does_not_report_adapters_of_some_blocks():
    """``layers`` gives only some blocks an adapter: not a hole."""
    sd = official_video()
    for key in [k for k in sd if k.startswith('blocks.0.adaptmlp.')]:
        del sd[key]
    result = convert_state_dict(sd, img_size=IMG, num_frames=4)
    assert result.missing == []
    assert 'Missing' not in format_report(result)


def test_block_norms_are_not_fresh_final_norms_are(tmp_path):
    """A backbone checkpoint without fc_norm (a pre-training one) still
    loads through the backbone's init_cfg, fc_norm left at its
    initialisation; one without a block's norm is refused."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model
    fresh = fresh_keys(MODELS.build(cfg))
    assert {
        'backbone.fc_norm.weight', 'cls_head.fc_cls.weight',
        'backbone.blocks.0.adaptmlp.down_proj.weight'
    } <= fresh
    assert not any('.norm1.' in k or '.norm2.' in k for k in fresh), fresh

    state = save_stock_video_checkpoint(str(tmp_path / 'stock.pth'))

    def without(name, prefix):
        """An AdaptFormer on a copy of ``state`` without ``prefix``."""
        path = str(tmp_path / f'{name}.pth')
        kept = {k: v for k, v in state.items() if not k.startswith(prefix)}
        torch.save({'state_dict': kept}, path)
        backbone = copy.deepcopy(cfg.backbone)
        backbone.backbone.init_cfg = dict(
            type='Pretrained', checkpoint=path, prefix='backbone.')
        return MODELS.build(backbone), path

    model, path = without('no_fc_norm', 'backbone.fc_norm.')
    model.init_weights()
    assert model.host_source == path

    model, path = without('no_norm1', 'backbone.blocks.1.norm1.')
    with pytest.raises(StateDictMismatchError) as info:
        model.init_weights()
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f'Pretrained checkpoint {path} of '), lines
    assert lines[1] == ('2 missing keys (in the model, not in the '
                        'checkpoint): blocks.1.norm1.weight, '
                        'blocks.1.norm1.bias'), lines


def test_a_full_checkpoint_lacking_only_the_final_norm_loads(
        tmp_path, clean_loggers):
    """A pre-training file (backbone only, no fc_norm) given as load_from
    is not a checkpoint with holes: fc_norm starts as the identity, as
    through --pretrained. Missing a block norm, or holding keys the model
    lacks, it is refused. Through ``load_checkpoint`` (an inference load:
    mmengine's, init_recognizer's) the whole file is refused as a backbone
    checkpoint, the model's adapters and head left untrained."""
    from mmengine.runner import load_checkpoint, load_state_dict
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model
    torch.manual_seed(0)
    state = {
        k: v
        for k, v in MODELS.build(cfg).state_dict().items()
        if k.startswith('backbone.') and 'adaptmlp' not in k
    }
    assert 'backbone.fc_norm.weight' in state
    pretrain = {k: v for k, v in state.items() if '.fc_norm.' not in k}
    path = str(tmp_path / 'pretrain.pth')
    torch.save({'state_dict': pretrain, 'meta': {}}, path)
    model = MODELS.build(cfg)
    # What the Runner's load_from does with the file's state dict.
    load_state_dict(model, torch.load(path, weights_only=True)['state_dict'])
    for key, value in pretrain.items():
        assert torch.equal(model.state_dict()[key], value), key
    with pytest.raises(
            StateDictMismatchError, match='it is a backbone checkpoint'):
        load_checkpoint(MODELS.build(cfg), path, map_location='cpu')

    for name, broken in (('holes', {
            k: v
            for k, v in pretrain.items() if '.blocks.1.norm1.' not in k
    }), ('other_layout',
         dict(pretrain, **{'backbone.norm.weight': torch.ones(64)}))):
        path = str(tmp_path / f'{name}.pth')
        torch.save({'state_dict': broken, 'meta': {}}, path)
        with pytest.raises(
                StateDictMismatchError,
                match=f'the state dict of {re.escape(path)} is '
                'a full checkpoint'):
            load_checkpoint(MODELS.build(cfg), path, map_location='cpu')


def test_an_old_adapter_only_checkpoint_that_trained_a_block_loads(
        video_tasks, tiny_video_data, tmp_path, clean_loggers):
    """An adapter-only checkpoint without the frozen backbone's record
    (saved before the records existed) that trained a whole block through
    extra_trainable holds half of the blocks' elements: its meta says what
    it is, so the inference API does not refuse it as a full checkpoint
    with holes, and predicts as the checkpoint with the record."""
    from adapter_tasks import train_task

    from mmadaptformer.apis import ModelInferencer
    from mmadaptformer.models import FROZEN_HOST_KEY
    from mmadaptformer.utils import safe_torch_load
    task = train_task(
        str(tmp_path), 'block1', tiny_video_data, video_tasks['stock'],
        "custom_hooks = [dict(type='AdapterHook', adapter_only_checkpoint="
        "True, extra_trainable=[r'^backbone\\.blocks\\.1\\.'])]\n")
    ckpt = safe_torch_load(task['checkpoint'])
    del ckpt['state_dict']['backbone.' + FROZEN_HOST_KEY]
    old = str(tmp_path / 'old.pth')
    torch.save(ckpt, old)
    with open(tiny_video_data['val']) as f:
        video = osp.join(tiny_video_data['videos'], f.readline().split()[0])
    now = ModelInferencer(task['config'], task['checkpoint'], name='m')
    before = ModelInferencer(task['config'], old, name='m')
    torch.testing.assert_close(
        torch.tensor(before([video])[video]['m']['scores']),
        torch.tensor(now([video])[video]['m']['scores']))
