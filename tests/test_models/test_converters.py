# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/model_converters/convert_official.py and its library.

Every checkpoint here is written by the test in the official key layout
(AdaptFormer ``models/vit_video.py``/``vit_image.py``, VideoMAE
``modeling_pretrain.py``, MAE ``models_mae.py``), converted, loaded with
``strict=True`` into the matching model built from the registries, and
checked against a plain-torch forward of the official model that reads the
original weights.
"""
import argparse
import copy
import functools
import os.path as osp
import re
import shlex
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, FailsToPickle,
                     run_tool)
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from torch.testing import assert_close

import mmadaptformer  # noqa: F401  (registers the models)
# yapf: disable
from mmadaptformer.models.converters import (ConversionError,
                                             SourceTypeMismatchError,
                                             convert_state_dict,
                                             detect_source_type, format_report,
                                             load_official_checkpoint,
                                             save_converted_checkpoint,
                                             unwrap_checkpoint)

# yapf: enable

TOOL = 'model_converters/convert_official.py'
VIDEO = (1, 3, 4, 32, 32)
IMAGE = (1, 3, 32, 32)
# The tiny configs' backbones: embed 64, depth 2, heads 2, patch 16, img 32,
# 4 frames, tubelet 2, MLP hidden 128.
DIMS, DEPTH, HEADS, PATCH, IMG, FRAMES, TUBELET, HIDDEN = (64, 2, 2, 16, 32, 4,
                                                           2, 128)
BOTTLENECK, CLASSES = 8, 5
VIDEO_TOKENS = (IMG // PATCH)**2 * (FRAMES // TUBELET)
IMAGE_TOKENS = (IMG // PATCH)**2
OFFICIAL_SCALE = 0.1  # ffn_adapter_scalar of main_video.py / main_image.py


# --- checkpoints in the official layouts ----------------------------------
class _Weights:
    """Random tensors, each a little away from any default init."""

    def __init__(self, seed: int = 0) -> None:
        self.generator = torch.Generator().manual_seed(seed)

    def randn(self, *shape, std=0.2):
        return torch.randn(*shape, generator=self.generator) * std

    def ln(self, sd, name, dims=DIMS):
        sd[f'{name}.weight'] = 1 + self.randn(dims, std=0.1)
        sd[f'{name}.bias'] = self.randn(dims, std=0.1)

    def linear(self, sd, name, out_dims, in_dims, bias=True):
        sd[f'{name}.weight'] = self.randn(out_dims, in_dims)
        if bias:
            sd[f'{name}.bias'] = self.randn(out_dims, std=0.1)

    def adapter(self, sd, prefix, norm=False, learnable=False):
        self.linear(sd, f'{prefix}.down_proj', BOTTLENECK, DIMS)
        self.linear(sd, f'{prefix}.up_proj', DIMS, BOTTLENECK)
        if norm:
            self.ln(sd, f'{prefix}.adapter_layer_norm_before')
        if learnable:
            sd[f'{prefix}.scale'] = torch.tensor([0.7])

    def bn_linear_head(self, sd):
        sd['head.0.running_mean'] = self.randn(DIMS)
        sd['head.0.running_var'] = 0.5 + torch.rand(
            DIMS, generator=self.generator)
        sd['head.0.num_batches_tracked'] = torch.tensor(100)
        self.linear(sd, 'head.1', CLASSES, DIMS)


def official_video(head='bn', adapter_norm=False, learnable=False, seed=0):
    """A state dict of AdaptFormer's ``models/vit_video.py`` after the
    ``main_video.py`` BatchNorm head hack (``ffn_adapt=True``)."""
    w, sd = _Weights(seed), OrderedDict()
    sd['patch_embed.proj.weight'] = w.randn(DIMS, 3, TUBELET, PATCH, PATCH)
    sd['patch_embed.proj.bias'] = w.randn(DIMS, std=0.1)
    for i in range(DEPTH):
        p = f'blocks.{i}.'
        w.ln(sd, p + 'norm1')
        for name in ('q', 'v', 'k'):
            w.linear(sd, f'{p}attn.{name}_proj', DIMS, DIMS, bias=False)
        sd[p + 'attn.q_bias'] = w.randn(DIMS, std=0.1)
        sd[p + 'attn.v_bias'] = w.randn(DIMS, std=0.1)
        w.linear(sd, p + 'attn.proj', DIMS, DIMS)
        w.ln(sd, p + 'norm2')
        w.linear(sd, p + 'fc1', HIDDEN, DIMS)
        w.linear(sd, p + 'fc2', DIMS, HIDDEN)
        w.adapter(sd, p + 'adaptmlp', adapter_norm, learnable)
    w.ln(sd, 'fc_norm')
    if head == 'bn':
        w.bn_linear_head(sd)
    else:
        w.linear(sd, 'head', CLASSES, DIMS)
    return sd


def official_image(global_pool=False, fused_qkv=False, seed=1):
    """A state dict of AdaptFormer's ``models/vit_image.py`` after the
    ``main_image.py`` BatchNorm head hack; ``fused_qkv`` gives the timm
    layout instead of the split one the official code saves."""
    w, sd = _Weights(seed), OrderedDict()
    sd['cls_token'] = w.randn(1, 1, DIMS)
    sd['pos_embed'] = w.randn(1, IMAGE_TOKENS + 1, DIMS)
    sd['patch_embed.proj.weight'] = w.randn(DIMS, 3, PATCH, PATCH)
    sd['patch_embed.proj.bias'] = w.randn(DIMS, std=0.1)
    for i in range(DEPTH):
        p = f'blocks.{i}.'
        w.ln(sd, p + 'norm1')
        if fused_qkv:
            w.linear(sd, p + 'attn.qkv', 3 * DIMS, DIMS)
        else:
            for name in ('q', 'v', 'k'):
                w.linear(sd, f'{p}attn.{name}_proj', DIMS, DIMS)
        w.linear(sd, p + 'attn.proj', DIMS, DIMS)
        w.ln(sd, p + 'norm2')
        w.linear(sd, p + 'fc1', HIDDEN, DIMS)
        w.linear(sd, p + 'fc2', DIMS, HIDDEN)
        w.adapter(sd, p + 'adaptmlp')
    w.ln(sd, 'fc_norm' if global_pool else 'norm')
    w.bn_linear_head(sd)
    return sd


def videomae_pretrain(seed=2):
    """A VideoMAE ``PretrainVisionTransformer`` state dict (encoder with
    fused qkv and q/v biases, a decoder to be dropped)."""
    w, sd = _Weights(seed), OrderedDict()
    sd['encoder.patch_embed.proj.weight'] = w.randn(DIMS, 3, TUBELET, PATCH,
                                                    PATCH)
    sd['encoder.patch_embed.proj.bias'] = w.randn(DIMS, std=0.1)
    for i in range(DEPTH):
        p = f'encoder.blocks.{i}.'
        w.ln(sd, p + 'norm1')
        w.linear(sd, p + 'attn.qkv', 3 * DIMS, DIMS, bias=False)
        sd[p + 'attn.q_bias'] = w.randn(DIMS, std=0.1)
        sd[p + 'attn.v_bias'] = w.randn(DIMS, std=0.1)
        w.linear(sd, p + 'attn.proj', DIMS, DIMS)
        w.ln(sd, p + 'norm2')
        w.linear(sd, p + 'mlp.fc1', HIDDEN, DIMS)
        w.linear(sd, p + 'mlp.fc2', DIMS, HIDDEN)
    w.ln(sd, 'encoder.norm')
    decoder_dims = 32
    w.ln(sd, 'decoder.blocks.0.norm1', decoder_dims)
    w.linear(sd, 'decoder.blocks.0.attn.qkv', 3 * decoder_dims, decoder_dims,
             False)
    w.ln(sd, 'decoder.norm', decoder_dims)
    w.linear(sd, 'decoder.head', 3 * TUBELET * PATCH**2, decoder_dims)
    w.linear(sd, 'encoder_to_decoder', decoder_dims, DIMS, bias=False)
    sd['mask_token'] = w.randn(1, 1, decoder_dims)
    return sd


def official_convert_py(videomae_sd):
    """What AdaptFormer's ``convert.py`` writes for a VideoMAE checkpoint:
    the encoder only, q/k/v split, the MLP flattened, ``encoder.`` kept."""
    out = OrderedDict()
    for key, value in videomae_sd.items():
        if not key.startswith('encoder.'):
            continue
        if key.endswith('attn.qkv.weight'):
            for name, part in zip('qkv', value.chunk(3)):
                out[key.replace('qkv', f'{name}_proj')] = part
        else:
            out[key.replace('mlp.fc', 'fc')] = value
    return out


def mae_pretrain(seed=3):
    """An MAE ``MaskedAutoencoderViT`` state dict (timm encoder, decoder)."""
    w, sd = _Weights(seed), OrderedDict()
    sd['cls_token'] = w.randn(1, 1, DIMS)
    sd['pos_embed'] = w.randn(1, IMAGE_TOKENS + 1, DIMS)
    sd['mask_token'] = w.randn(1, 1, 32)
    sd['patch_embed.proj.weight'] = w.randn(DIMS, 3, PATCH, PATCH)
    sd['patch_embed.proj.bias'] = w.randn(DIMS, std=0.1)
    for i in range(DEPTH):
        p = f'blocks.{i}.'
        w.ln(sd, p + 'norm1')
        w.linear(sd, p + 'attn.qkv', 3 * DIMS, DIMS)
        w.linear(sd, p + 'attn.proj', DIMS, DIMS)
        w.ln(sd, p + 'norm2')
        w.linear(sd, p + 'mlp.fc1', HIDDEN, DIMS)
        w.linear(sd, p + 'mlp.fc2', DIMS, HIDDEN)
    w.ln(sd, 'norm')
    w.linear(sd, 'decoder_embed', 32, DIMS)
    sd['decoder_pos_embed'] = torch.zeros(1, IMAGE_TOKENS + 1, 32)
    w.ln(sd, 'decoder_blocks.0.norm1', 32)
    w.ln(sd, 'decoder_norm', 32)
    w.linear(sd, 'decoder_pred', PATCH**2 * 3, 32)
    return sd


# --- a plain-torch forward of the official models -------------------------
def _ln(x, sd, name, eps=1e-6):
    return F.layer_norm(x, x.shape[-1:], sd[f'{name}.weight'],
                        sd[f'{name}.bias'], eps)


def _fc(x, sd, name):
    return F.linear(x, sd[f'{name}.weight'], sd.get(f'{name}.bias'))


def _qkv(h, sd, p):
    """q, k, v as the official/VideoMAE/timm attention computes them."""
    if p + 'attn.qkv.weight' in sd:
        bias = sd.get(p + 'attn.qkv.bias')
        if p + 'attn.q_bias' in sd:  # VideoMAE: the key has no bias
            bias = torch.cat([
                sd[p + 'attn.q_bias'],
                torch.zeros(DIMS), sd[p + 'attn.v_bias']
            ])
        return F.linear(h, sd[p + 'attn.qkv.weight'], bias).chunk(3, dim=-1)
    q = F.linear(h, sd[p + 'attn.q_proj.weight'],
                 sd.get(p + 'attn.q_proj.bias', sd.get(p + 'attn.q_bias')))
    k = F.linear(h, sd[p + 'attn.k_proj.weight'],
                 sd.get(p + 'attn.k_proj.bias'))
    v = F.linear(h, sd[p + 'attn.v_proj.weight'],
                 sd.get(p + 'attn.v_proj.bias', sd.get(p + 'attn.v_bias')))
    return q, k, v


def _block(x, sd, p, adapter_norm=None):
    """x + attn(norm1(x)), then x + mlp(norm2(x)) + s * adapter(x)."""
    B, N, C = x.shape
    heads = [
        t.reshape(B, N, HEADS, C // HEADS).transpose(1, 2)
        for t in _qkv(_ln(x, sd, p + 'norm1'), sd, p)
    ]
    q, k, v = heads
    attn = ((q * (C // HEADS)**-0.5) @ k.transpose(-2, -1)).softmax(-1)
    out = (attn @ v).transpose(1, 2).reshape(B, N, C)
    x = x + _fc(out, sd, p + 'attn.proj')

    mlp = 'mlp.' if p + 'mlp.fc1.weight' in sd else ''
    branch = _fc(
        F.gelu(_fc(_ln(x, sd, p + 'norm2'), sd, f'{p}{mlp}fc1')), sd,
        f'{p}{mlp}fc2')
    a = p + 'adaptmlp.'
    if a + 'down_proj.weight' in sd:
        ln = a + 'adapter_layer_norm_before'
        h = _ln(x, sd, ln, 1e-5) if adapter_norm == 'in' else x
        h = _fc(F.relu(_fc(h, sd, a + 'down_proj')), sd, a + 'up_proj')
        h = h * sd.get(a + 'scale', OFFICIAL_SCALE)
        branch = branch + (
            _ln(h, sd, ln, 1e-5) if adapter_norm == 'out' else h)
    return x + branch


def _official_sinusoid(num_tokens, dims):
    """VideoMAE's ``get_sinusoid_encoding_table``, as numpy float64."""
    angles = np.array(
        [[pos / np.power(10000, 2 * (j // 2) / dims) for j in range(dims)]
         for pos in range(num_tokens)])
    angles[:, 0::2] = np.sin(angles[:, 0::2])
    angles[:, 1::2] = np.cos(angles[:, 1::2])
    return torch.tensor(angles, dtype=torch.float32)[None]


def _video_tokens(sd, x, prefix=''):
    """Patch embedding plus the fixed sine-cosine position table."""
    weight = sd[prefix + 'patch_embed.proj.weight']
    x = F.conv3d(
        x,
        weight,
        sd[prefix + 'patch_embed.proj.bias'],
        stride=weight.shape[2:])
    x = x.flatten(2).transpose(1, 2)
    x = x + _official_sinusoid(x.shape[1], x.shape[2])
    return x


def _image_tokens(sd, x):
    x = F.conv2d(
        x,
        sd['patch_embed.proj.weight'],
        sd['patch_embed.proj.bias'],
        stride=PATCH).flatten(2).transpose(1, 2)
    x = torch.cat([sd['cls_token'].expand(x.shape[0], -1, -1), x], dim=1)
    return x + sd['pos_embed']


def _bn_linear(feat, sd):
    if 'head.0.running_mean' in sd:
        feat = (feat - sd['head.0.running_mean']
                ) / torch.sqrt(sd['head.0.running_var'] + 1e-6)
        return _fc(feat, sd, 'head.1')
    return _fc(feat, sd, 'head')


def reference_video_logits(sd, x, adapter_norm=None):
    tokens = _video_tokens(sd, x)
    for i in range(DEPTH):
        tokens = _block(tokens, sd, f'blocks.{i}.', adapter_norm)
    return _bn_linear(_ln(tokens.mean(1), sd, 'fc_norm'), sd)


def reference_image_logits(sd, x):
    tokens = _image_tokens(sd, x)
    for i in range(DEPTH):
        tokens = _block(tokens, sd, f'blocks.{i}.')
    if 'fc_norm.weight' in sd:
        feat = _ln(tokens[:, 1:].mean(1), sd, 'fc_norm')
    else:
        feat = _ln(tokens, sd, 'norm')[:, 0]
    return _bn_linear(feat, sd)


def reference_videomae_tokens(sd, x):
    """The VideoMAE encoder with nothing masked, before its final norm."""
    tokens = _video_tokens(sd, x, 'encoder.')
    for i in range(DEPTH):
        tokens = _block(tokens, sd, f'encoder.blocks.{i}.')
    return tokens


def reference_mae_tokens(sd, x):
    """The MAE encoder with nothing masked, before its final norm."""
    tokens = _image_tokens(sd, x)
    for i in range(DEPTH):
        tokens = _block(tokens, sd, f'blocks.{i}.')
    return tokens


# --- models built from the repository's tiny configs ----------------------
@functools.lru_cache()
def _config_backbone(config):
    return Config.fromfile(config).model.backbone.to_dict()


def _backbone_cfg(config, **overrides):
    cfg = copy.deepcopy(_config_backbone(config))
    cfg.update(overrides)
    return cfg


def video_backbone_cfg(**overrides):
    cfg = _backbone_cfg(TINY_VIDEO_CONFIG, **overrides)
    assert (cfg['embed_dims'], cfg['depth'], cfg['num_heads'],
            cfg['embed_dims'] * cfg['mlp_ratio']) == (DIMS, DEPTH, HEADS,
                                                      HIDDEN)
    return cfg


def image_backbone_cfg(**overrides):
    cfg = _backbone_cfg(TINY_IMAGE_CONFIG, **overrides)
    assert cfg['arch'] == dict(
        embed_dims=DIMS,
        num_layers=DEPTH,
        num_heads=HEADS,
        feedforward_channels=HIDDEN)
    return cfg


def build(scope, cfg):
    init_default_scope(scope)
    model = MODELS.build(cfg)
    # Not ``return model.eval()``: some backbones' train() returns None.
    model.eval()
    return model


def video_classifier(adapter=None, head='BNLinearHead', **backbone):
    return build(
        'mmaction',
        dict(
            type='Recognizer3D',
            backbone=dict(
                type='AdaptFormer',
                backbone=video_backbone_cfg(**backbone),
                adapter=adapter or dict(bottleneck=BOTTLENECK)),
            cls_head=dict(type=head, num_classes=CLASSES, in_channels=DIMS)))


def image_classifier(**backbone):
    return build(
        'mmpretrain',
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='AdaptFormer',
                backbone=image_backbone_cfg(**backbone),
                adapter=dict(bottleneck=BOTTLENECK)),
            head=dict(
                type='BNLinearHead', num_classes=CLASSES, in_channels=DIMS)))


def video_logits(model, x):
    return model.cls_head(model.backbone(x))


def strip_backbone(state_dict):
    assert all(k.startswith('backbone.') for k in state_dict)
    return OrderedDict(
        (k[len('backbone.'):], v) for k, v in state_dict.items())


def _inputs(shape, seed=10):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _save_official(path, state_dict):
    """As the official ``misc.save_model`` does: with optimizer and args."""
    torch.save(
        dict(
            model=state_dict,
            optimizer=dict(state={}, param_groups=[dict(lr=0.1)]),
            epoch=89,
            scaler=dict(scale=65536.0, _growth_tracker=3),
            args=argparse.Namespace(
                model='vit_base_patch16_224', ffn_adapt=True, ffn_num=64)),
        path)
    return str(path)


# --- AdaptFormer checkpoints ----------------------------------------------
def test_cli_converts_official_video_checkpoint(tmp_path):
    sd = official_video()
    src = _save_official(tmp_path / 'checkpoint-89.pth', sd)
    dst = tmp_path / 'out' / 'converted.pth'
    proc = run_tool(
        [TOOL, src, dst, '--img-size', IMG, '--num-frames', FRAMES],
        cwd=tmp_path)
    assert 'adaptformer-video' in proc.stdout
    assert 'backbone.pos_embed' in proc.stdout  # reported as added
    assert 'bottleneck=8' in proc.stdout  # the adapter config it needs

    saved = torch.load(dst, weights_only=True)
    assert saved['meta'] == dict(
        converted_from='checkpoint-89.pth', source_type='adaptformer-video')
    model = video_classifier()
    assert model.load_state_dict(saved['state_dict'], strict=True)
    # The rebuilt table is the buffer mmaction2 registers itself.
    assert saved['state_dict']['backbone.pos_embed'].shape == (1, VIDEO_TOKENS,
                                                               DIMS)
    assert torch.equal(saved['state_dict']['backbone.pos_embed'],
                       video_classifier().backbone.pos_embed)
    x = _inputs(VIDEO)
    with torch.no_grad():
        assert_close(
            video_logits(model, x),
            reference_video_logits(sd, x),
            atol=1e-5,
            rtol=1e-5)


@pytest.mark.parametrize('norm', ['in', 'out'])
def test_video_adapter_norm_and_learnable_scale(norm):
    sd = official_video(adapter_norm=True, learnable=True, seed=4)
    result = convert_state_dict(sd, img_size=IMG, num_frames=FRAMES)
    out = result.state_dict
    assert_close(out['backbone.blocks.1.adaptmlp.norm.weight'],
                 sd['blocks.1.adaptmlp.adapter_layer_norm_before.weight'])
    assert_close(out['backbone.blocks.0.adaptmlp.scale'], torch.tensor([0.7]))
    assert any("scale='learnable'" in n for n in result.notes)

    model = video_classifier(
        adapter=dict(bottleneck=BOTTLENECK, scale='learnable', norm=norm))
    model.load_state_dict(out, strict=True)
    x = _inputs(VIDEO)
    with torch.no_grad():
        assert_close(
            video_logits(model, x),
            reference_video_logits(sd, x, adapter_norm=norm),
            atol=1e-5,
            rtol=1e-5)


def test_video_plain_linear_head():
    sd = official_video(head='linear', seed=5)
    x = _inputs(VIDEO)
    expected = reference_video_logits(sd, x)

    result = convert_state_dict(sd, img_size=IMG, num_frames=FRAMES)
    assert set(result.added) == {
        'backbone.pos_embed', 'cls_head.bn.running_mean',
        'cls_head.bn.running_var', 'cls_head.bn.num_batches_tracked'
    }
    model = video_classifier()
    model.load_state_dict(result.state_dict, strict=True)
    with torch.no_grad():
        assert_close(video_logits(model, x), expected, atol=1e-5, rtol=1e-5)

    # Without the statistics it is a plain Linear head.
    result = convert_state_dict(
        sd, img_size=IMG, num_frames=FRAMES, identity_bn=False)
    assert not any(k.startswith('cls_head.bn.') for k in result.state_dict)
    model = video_classifier(head='TimeSformerHead')
    model.load_state_dict(result.state_dict, strict=True)
    with torch.no_grad():
        assert_close(video_logits(model, x), expected, atol=1e-5, rtol=1e-5)


def official_video_without_mean_pooling(seed=7):
    """:func:`official_video` trained with ``use_mean_pooling=False``: a
    trained per-token ``norm`` (the class-free VideoMAE ViT then reads the
    first token), no ``fc_norm``."""
    sd = official_video(seed=seed)
    for name in ('weight', 'bias'):
        sd[f'norm.{name}'] = sd.pop(f'fc_norm.{name}')
    return sd


def test_a_trained_norm_dropped_for_pooling_says_how_to_keep_it():
    """The video default, --final-norm pooled, drops the final ``norm``;
    a fine-tuned checkpoint without ``fc_norm`` then lost its trained norm
    with no word on it. A note names the keys and the option and setting
    that keep them, and following it gives the official logits."""
    sd = official_video_without_mean_pooling()
    result = convert_state_dict(sd, img_size=IMG, num_frames=FRAMES)
    assert {'norm.weight', 'norm.bias'} <= set(result.dropped)
    # The reason must not claim an fc_norm the checkpoint lacks.
    assert result.dropped['norm.weight'] == (
        "final per-token norm, dropped by final_norm='pooled' for mean "
        'pooling; the checkpoint has no fc_norm')
    assert 'backbone.fc_norm.weight' not in result.state_dict
    notes = [n for n in result.notes if 'final norm' in n]
    assert notes == [
        'The trained final norm (norm.weight, norm.bias) was dropped: '
        "--final-norm pooled (final_norm='pooled', the default for video "
        'checkpoints) drops it for mean pooling, but the checkpoint has no '
        'fc_norm to pool through, so it was trained without mean pooling. '
        "To keep it, convert with --final-norm keep (final_norm='keep') and "
        'build the mmaction2 VisionTransformer with use_mean_pooling=False.'
    ], result.notes
    assert 'Note: ' + notes[0] in format_report(result)

    kept = convert_state_dict(
        sd, final_norm='keep', img_size=IMG, num_frames=FRAMES)
    assert not kept.dropped
    assert not [n for n in kept.notes if 'final norm' in n], kept.notes
    assert 'Build the mmaction2 VisionTransformer with ' \
        'use_mean_pooling=False.' in kept.notes
    model = video_classifier(use_mean_pooling=False)
    model.load_state_dict(kept.state_dict, strict=True)
    x = _inputs(VIDEO)
    tokens = _video_tokens(sd, x)
    for i in range(DEPTH):
        tokens = _block(tokens, sd, f'blocks.{i}.')
    with torch.no_grad():
        assert_close(
            video_logits(model, x),
            _bn_linear(_ln(tokens, sd, 'norm')[:, 0], sd),
            atol=1e-5,
            rtol=1e-5)


def test_a_trained_image_norm_dropped_for_pooling_says_how_to_keep_it():
    """The same for an image checkpoint given --final-norm pooled: the
    setting that keeps its norm is mmpretrain's."""
    result = convert_state_dict(official_image(), final_norm='pooled')
    assert {'norm.weight', 'norm.bias'} <= set(result.dropped)
    notes = [n for n in result.notes if 'final norm' in n]
    assert len(notes) == 1 and notes[0].endswith(
        "To keep it, convert with --final-norm keep (final_norm='keep') "
        'and build the mmpretrain VisionTransformer with out_type='
        "'cls_token', final_norm=True (the defaults)."), result.notes
    assert "final_norm='pooled')" in notes[0]  # not the default for images
    # A pre-training checkpoint gets a fresh pooled norm: nothing to say.
    for pretrain in (videomae_pretrain(), mae_pretrain()):
        result = convert_state_dict(
            pretrain, final_norm='pooled', img_size=IMG, num_frames=FRAMES)
        assert not [n for n in result.notes if 'final norm' in n]


def test_cli_says_how_to_keep_a_trained_norm_it_dropped(tmp_path):
    src = _save_official(tmp_path / 'checkpoint-89.pth',
                         official_video_without_mean_pooling())
    common = [src, '--img-size', IMG, '--num-frames', FRAMES]
    proc = run_tool(
        [TOOL, common[0], tmp_path / 'pooled.pth'] + common[1:], cwd=tmp_path)
    assert 'Note: The trained final norm (norm.weight, norm.bias) was ' \
        'dropped' in proc.stdout, proc.stdout
    assert "convert with --final-norm keep (final_norm='keep') and build " \
        'the mmaction2 VisionTransformer with use_mean_pooling=False.' \
        in proc.stdout
    proc = run_tool(
        [TOOL, common[0], tmp_path / 'kept.pth', '--final-norm', 'keep'] +
        common[1:],
        cwd=tmp_path)
    assert 'The trained final norm' not in proc.stdout, proc.stdout
    assert 'Build the mmaction2 VisionTransformer with ' \
        'use_mean_pooling=False.' in proc.stdout
    saved = torch.load(tmp_path / 'kept.pth', weights_only=True)
    video_classifier(use_mean_pooling=False).load_state_dict(
        saved['state_dict'], strict=True)


@pytest.mark.parametrize(
    'global_pool', [False, True], ids=['cls_token', 'global_pool'])
@pytest.mark.parametrize('fused_qkv', [False, True], ids=['split', 'fused'])
def test_official_image_checkpoint(global_pool, fused_qkv):
    sd = official_image(global_pool=global_pool, fused_qkv=fused_qkv)
    result = convert_state_dict(sd)
    assert result.source_type == 'adaptformer-image'
    assert not result.dropped and not result.added and not result.unmapped
    out = result.state_dict
    # q, k, v stacked in this order, each with its bias.
    if not fused_qkv:
        assert_close(out['backbone.layers.1.attn.qkv.weight'][DIMS:2 * DIMS],
                     sd['blocks.1.attn.k_proj.weight'])
        assert_close(out['backbone.layers.1.attn.qkv.bias'][2 * DIMS:],
                     sd['blocks.1.attn.v_proj.bias'])

    if global_pool:  # MAE fine-tuning: mean of patch tokens, then fc_norm
        backbone = dict(out_type='avg_featmap', final_norm=False)
    else:
        backbone = dict(out_type='cls_token', final_norm=True)
    model = image_classifier(**backbone)
    model.load_state_dict(out, strict=True)
    x = _inputs(IMAGE)
    with torch.no_grad():
        assert_close(
            model(x, mode='tensor'),
            reference_image_logits(sd, x),
            atol=1e-5,
            rtol=1e-5)


# --- pre-training checkpoints ---------------------------------------------
def test_videomae_pretrain_to_backbone(tmp_path):
    sd = videomae_pretrain()
    x = _inputs(VIDEO)
    tokens = reference_videomae_tokens(sd, x)

    # Default: the official AdaptFormer recipe drops the encoder norm and
    # mean-pools through a fresh fc_norm.
    result = convert_state_dict(sd, img_size=IMG, num_frames=FRAMES)
    assert result.source_type == 'videomae'
    decoder = {k for k in sd if not k.startswith('encoder.')}
    assert decoder <= set(result.dropped)
    # Named as in the checkpoint, not as after ``encoder.`` was stripped.
    assert {'encoder.norm.weight', 'encoder.norm.bias'} <= set(result.dropped)
    assert set(result.dropped) <= set(sd)
    assert 'decoder.head.weight' in format_report(result)
    assert not result.unmapped
    assert set(result.added) == {
        'backbone.pos_embed', 'backbone.fc_norm.weight',
        'backbone.fc_norm.bias'
    }

    dst = str(tmp_path / 'videomae_backbone.pth')
    save_converted_checkpoint(result, dst, converted_from='pretrain.pth')
    # The documented use: init_cfg of the stock backbone with a prefix.
    backbone = build(
        'mmaction',
        video_backbone_cfg(
            init_cfg=dict(
                type='Pretrained', checkpoint=dst, prefix='backbone.')))
    backbone.init_weights()
    backbone.load_state_dict(strip_backbone(result.state_dict), strict=True)
    with torch.no_grad():
        assert_close(
            backbone(x),
            F.layer_norm(tokens.mean(1), (DIMS, ), eps=1e-6),
            atol=1e-5,
            rtol=1e-5)

    # The AdaptFormer-wrapped backbone misses exactly the adapters.
    wrapped = build(
        'mmaction',
        dict(
            type='AdaptFormer',
            backbone=video_backbone_cfg(),
            adapter=dict(bottleneck=BOTTLENECK)))
    missing, unexpected = wrapped.load_state_dict(
        strip_backbone(result.state_dict), strict=False)
    assert not unexpected
    assert missing and all('.adaptmlp.' in k for k in missing)

    # 'keep': the encoder norm stays a per-token norm.
    result = convert_state_dict(
        sd, final_norm='keep', img_size=IMG, num_frames=FRAMES)
    backbone = build(
        'mmaction',
        video_backbone_cfg(use_mean_pooling=False, return_feat_map=True))
    backbone.load_state_dict(strip_backbone(result.state_dict), strict=True)
    with torch.no_grad():
        feat = backbone(x).flatten(2).transpose(1, 2)
    assert_close(feat, _ln(tokens, sd, 'encoder.norm'), atol=1e-5, rtol=1e-5)


def test_a_failed_save_keeps_the_old_converted_file(tmp_path):
    """convert_official.py's writer leaves a file it fails to replace as it
    was, with no temporary file beside it."""
    result = convert_state_dict(
        videomae_pretrain(), img_size=IMG, num_frames=FRAMES)
    dst = tmp_path / 'backbone.pth'
    save_converted_checkpoint(result, str(dst), converted_from='a.pth')
    before = dst.read_bytes()
    # Fails after the converted tensors before it were written.
    result.state_dict['backbone.broken'] = FailsToPickle()
    with pytest.raises(RuntimeError, match='cannot be pickled'):
        save_converted_checkpoint(result, str(dst), converted_from='b.pth')
    assert dst.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['backbone.pth']


def test_key_bias_is_dropped_exactly():
    """A full (timm-style) qkv bias into VideoMAE attention, which has no key
    bias: q.(k + b) adds one constant per softmax row, so it cancels."""
    sd = videomae_pretrain()
    w = _Weights(6)
    for i in range(DEPTH):
        p = f'encoder.blocks.{i}.attn.'
        del sd[p + 'q_bias'], sd[p + 'v_bias']
        sd[p + 'qkv.bias'] = w.randn(3 * DIMS)
    result = convert_state_dict(
        sd, final_norm='keep', img_size=IMG, num_frames=FRAMES)
    assert 'encoder.blocks.1.attn.qkv.bias[k]' in result.dropped
    assert_close(result.state_dict['backbone.blocks.1.attn.v_bias'],
                 sd['encoder.blocks.1.attn.qkv.bias'][2 * DIMS:])
    backbone = build(
        'mmaction',
        video_backbone_cfg(use_mean_pooling=False, return_feat_map=True))
    backbone.load_state_dict(strip_backbone(result.state_dict), strict=True)
    x = _inputs(VIDEO)
    with torch.no_grad():
        feat = backbone(x).flatten(2).transpose(1, 2)
    expected = _ln(reference_videomae_tokens(sd, x), sd, 'encoder.norm')
    assert_close(feat, expected, atol=1e-5, rtol=1e-5)


def test_videomae_official_convert_py_copy():
    """AdaptFormer's convert.py output converts to the same weights."""
    sd = videomae_pretrain()
    expected = convert_state_dict(sd, img_size=IMG, num_frames=FRAMES)
    result = convert_state_dict(
        official_convert_py(sd), img_size=IMG, num_frames=FRAMES)
    assert result.source_type == 'videomae'
    assert list(result.state_dict) == list(expected.state_dict)
    for key, value in expected.state_dict.items():
        assert torch.equal(result.state_dict[key], value), key


def test_mae_pretrain_to_backbone():
    sd = mae_pretrain()
    x = _inputs(IMAGE)
    tokens = reference_mae_tokens(sd, x)

    result = convert_state_dict(sd)
    assert result.source_type == 'mae'
    assert set(result.dropped) == {
        k
        for k in sd if k.startswith('decoder_') or k == 'mask_token'
    }
    assert not result.added and not result.unmapped
    backbone = build('mmpretrain', image_backbone_cfg())
    backbone.load_state_dict(strip_backbone(result.state_dict), strict=True)
    with torch.no_grad():
        assert_close(
            backbone(x)[-1],
            _ln(tokens, sd, 'norm')[:, 0],
            atol=1e-5,
            rtol=1e-5)

    # 'pooled': MAE's global-pool fine-tuning starts from a fresh fc_norm.
    result = convert_state_dict(sd, final_norm='pooled')
    assert set(result.added) == {'backbone.ln2.weight', 'backbone.ln2.bias'}
    backbone = build(
        'mmpretrain',
        image_backbone_cfg(out_type='avg_featmap', final_norm=False))
    backbone.load_state_dict(strip_backbone(result.state_dict), strict=True)
    with torch.no_grad():
        assert_close(
            backbone(x)[-1],
            F.layer_norm(tokens[:, 1:].mean(1), (DIMS, ), eps=1e-6),
            atol=1e-5,
            rtol=1e-5)


# --- inputs, detection and failures ---------------------------------------
@pytest.mark.parametrize('wrapper', ['model', 'module', 'state_dict', None])
def test_wrapped_checkpoints_and_module_prefix(tmp_path, wrapper):
    sd = mae_pretrain()
    expected = convert_state_dict(sd).state_dict
    prefixed = OrderedDict(('module.' + k, v) for k, v in sd.items())
    path = str(tmp_path / 'ckpt.pth')
    torch.save(prefixed if wrapper is None else {wrapper: prefixed}, path)

    state_dict, where = unwrap_checkpoint(load_official_checkpoint(path))
    assert where == ('checkpoint'
                     if wrapper is None else f'checkpoint[{wrapper!r}]')
    # As stored: the conversion strips the 'module.', once.
    assert list(state_dict) == list(prefixed)
    converted = convert_state_dict(state_dict).state_dict
    assert list(converted) == list(expected)
    assert all(torch.equal(converted[k], expected[k]) for k in expected)


def test_unwrap_rejects_non_state_dicts():
    with pytest.raises(ConversionError, match="non-tensor entries.*'epoch'"):
        unwrap_checkpoint(dict(epoch=3, weights=torch.ones(1)))


@pytest.mark.parametrize(
    'builder, expected', [
        (official_video, 'adaptformer-video'),
        (official_image, 'adaptformer-image'),
        (videomae_pretrain, 'videomae'),
        (lambda: official_convert_py(videomae_pretrain()), 'videomae'),
        (mae_pretrain, 'mae'),
        (lambda: {
            k: v
            for k, v in mae_pretrain().items() if not k.startswith(
                ('decoder', 'mask'))
        }, 'mae'),
    ],
    ids=[
        'adaptformer-video', 'adaptformer-image', 'videomae',
        'videomae-convert-py', 'mae', 'mae-encoder-only'
    ])
def test_auto_detection(builder, expected):
    assert detect_source_type(builder()) == expected


def test_a_type_the_keys_contradict_is_refused():
    """An AdaptFormer checkpoint as 'videomae' was converted into a
    backbone-only file that kept the trained adapters (every pair:
    test_converter_types.py)."""
    sd = official_video()
    for given in ('videomae', 'mae', 'adaptformer-image'):
        with pytest.raises(
                SourceTypeMismatchError,
                match=rf"does not fit source type '{given}'.*trained adapters"
                r".*say it is 'adaptformer-video'") as error:
            convert_state_dict(
                sd, source_type=given, img_size=IMG, num_frames=FRAMES)
        assert error.value.detected == 'adaptformer-video'
    result = convert_state_dict(
        sd, source_type='adaptformer-video', img_size=IMG, num_frames=FRAMES)
    assert result.source_type == 'adaptformer-video'


def test_shape_errors_name_keys_and_shapes():
    sd = official_video()
    sd['blocks.1.attn.k_proj.weight'] = torch.zeros(DIMS, DIMS // 2)
    with pytest.raises(
            ConversionError,
            match=r"blocks\.1\.attn\.k_proj\.weight': \(64, 32\)"):
        convert_state_dict(sd)

    sd = official_video()
    sd['blocks.0.adaptmlp.up_proj.weight'] = torch.zeros(DIMS, BOTTLENECK + 1)
    with pytest.raises(
            ConversionError, match=r'up_proj\.weight \(64, 9\) do not form'):
        convert_state_dict(sd)

    sd = official_video()
    del sd['blocks.0.attn.v_proj.weight']
    with pytest.raises(ConversionError, match=r'v_proj\.weight'):
        convert_state_dict(sd)


def test_cli_fails_on_unmappable_keys(tmp_path):
    sd = official_video()
    sd['embeddings.0'] = torch.zeros(1, 1, DIMS)  # the official VPT baseline
    sd['blocks.1.attn.relative_bias'] = torch.zeros(3)
    src = _save_official(tmp_path / 'vpt.pth', sd)
    dst = tmp_path / 'converted.pth'

    proc = run_tool([TOOL, src, dst, '--type', 'adaptformer-video'],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode != 0
    assert 'embeddings.0' in proc.stdout and 'VPT' in proc.stdout
    assert 'blocks.1.attn.relative_bias' in proc.stdout
    assert 'could not be mapped' in proc.stdout
    assert not osp.exists(dst)

    with pytest.raises(ConversionError, match=r'embeddings\.0'):
        convert_state_dict(sd)
    result = convert_state_dict(sd, strict=False)
    assert result.unmapped == ['embeddings.0', 'blocks.1.attn.relative_bias']


def test_encoder_keys_are_reported_by_their_own_names():
    """A VideoMAE pre-training checkpoint's keys lose ``encoder.`` to
    match the layouts; what is reported unmapped or dropped keeps it, so
    that it names keys the file really has."""
    sd = videomae_pretrain()
    sd['encoder.blocks.0.attn.relative_position_bias_table'] = torch.zeros(3)
    result = convert_state_dict(
        sd, img_size=IMG, num_frames=FRAMES, strict=False)
    assert result.unmapped == [
        'encoder.blocks.0.attn.relative_position_bias_table'
    ]
    assert set(result.dropped) <= set(sd)
    with pytest.raises(
            ConversionError,
            match=r'encoder\.blocks\.0\.attn\.relative_position_bias'):
        convert_state_dict(sd, img_size=IMG, num_frames=FRAMES)


def test_cli_wrong_type_says_what_the_checkpoint_is(tmp_path, capsys):
    """A wrong --type listed every key it could not map; now the detected
    type and the --type to pass are named, as a mistake of the command
    line (exit status 2; it was 1, as if the conversion had failed)."""
    from helpers import load_tool
    main = load_tool(TOOL).main
    dst = tmp_path / 'converted.pth'
    # Every key would be unmapped (encoder.*): no list of them.
    src = _save_official(tmp_path / 'videomae.pth', videomae_pretrain())
    num_keys = sum(
        k.startswith(('encoder', 'decoder')) for k in videomae_pretrain())
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main([src, str(dst), '--type', 'adaptformer-video'])
    assert exit.value.code == 2
    printed = capsys.readouterr()
    assert printed.err.strip().splitlines()[-1].endswith(
        f': error: --type adaptformer-video: cannot convert {src}: The '
        "checkpoint does not fit source type 'adaptformer-video' (an "
        'official AdaptFormer video model, with adapters or a classifier '
        f'head): it has VideoMAE pre-training keys ({num_keys} tensors, e.g. '
        "'encoder.patch_embed.proj.weight'), but no adapters and no "
        "classifier head. Its key names say it is 'videomae', not "
        "'adaptformer-video': pass --type videomae, or leave --type out to "
        'detect it.'), printed.err
    assert 'encoder.blocks.0' not in printed.out
    # The patch embedding of the other modality: the same hint.
    src = _save_official(tmp_path / 'image.pth', official_image())
    with pytest.raises(SystemExit) as exit:
        main([src, str(dst), '--type', 'adaptformer-video'])
    assert exit.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f': error: --type adaptformer-video: cannot convert {src}: ' \
        in line, line
    assert line.endswith(
        "Its key names say it is 'adaptformer-image', not "
        "'adaptformer-video': pass --type adaptformer-image, or leave --type "
        'out to detect it.'), line
    assert not osp.exists(dst)


def test_cli_refuses_sizes_and_a_dst_that_cannot_work(tmp_path, capsys):
    """Exit status 2 before anything is read: non-positive sizes (they
    made a pos_embed of shape (1, 0, dims)), dst = src (the official file
    was replaced) and dst a folder."""
    from helpers import load_tool
    parse = load_tool(TOOL).parse_args
    src = _save_official(tmp_path / 'video.pth', official_video())
    before = open(src, 'rb').read()
    for argv, message in [
        ([src, 'out.pth', '--img-size', '0'], '--img-size: must be >= 1'),
        ([src, 'out.pth', '--num-frames', '-4'], '--num-frames: must be >= 1'),
        ([src, str(tmp_path / '.' / 'video.pth')],
         'is the same file as the source checkpoint'),
        ([src, str(tmp_path)], 'is a folder'),
    ]:
        with pytest.raises(SystemExit) as exit:
            parse(argv)
        assert exit.value.code == 2, argv
        assert message in capsys.readouterr().err, argv
    assert open(src, 'rb').read() == before


def test_the_refusal_of_an_official_file_gives_a_command_that_works(tmp_path):
    """Loading an unconverted official checkpoint is refused for its
    argparse.Namespace; the command the message gives converts it into a
    file that then loads safely."""
    from mmengine.runner import CheckpointLoader

    from mmadaptformer.utils import CheckpointLoadError, safe_torch_load
    src = _save_official(tmp_path / 'checkpoint-89.pth', official_video())
    with pytest.raises(CheckpointLoadError) as err:
        CheckpointLoader.load_checkpoint(src)
    text = str(err.value)
    assert 'official AdaptFormer, VideoMAE and MAE training scripts' in text
    command = re.search(r'python (tools/\S+\.py \S+) CONVERTED\.pth;', text)
    assert command, text
    args = shlex.split(command.group(1))
    assert args[0] == f'tools/{TOOL}' and args[1] == src, args
    dst = str(tmp_path / 'converted.pth')
    run_tool([TOOL, args[1], dst], cwd=tmp_path)
    converted = CheckpointLoader.load_checkpoint(dst)['state_dict']
    assert set(converted) >= {'backbone.pos_embed', 'cls_head.fc_cls.weight'}
    assert set(safe_torch_load(dst)['state_dict']) == set(converted)


def test_api_defaults_to_the_frames_of_the_cli_and_the_recipes(tmp_path):
    """convert_state_dict defaulted to 16 frames, the CLI and every recipe
    to 8: a Python-API conversion got a pos_embed twice too long."""
    from helpers import CONFIGS, load_tool
    recipe = Config.fromfile(
        osp.join(CONFIGS, '_base_', 'models',
                 'videomae_vit-b_8x224.py')).model.backbone
    source = tmp_path / 'in.pth'
    torch.save({}, source)
    cli = load_tool(TOOL).parse_args([str(source), str(tmp_path / 'out.pth')])
    assert (cli.num_frames, cli.img_size) == (recipe.num_frames,
                                              recipe.img_size) == (8, 224)
    sd = videomae_pretrain()
    pos_embed = convert_state_dict(sd).state_dict['backbone.pos_embed']
    tokens = (recipe.img_size // PATCH)**2 * (recipe.num_frames // TUBELET)
    assert pos_embed.shape == (1, tokens, DIMS)
    assert torch.equal(
        pos_embed,
        convert_state_dict(
            sd, img_size=cli.img_size,
            num_frames=cli.num_frames).state_dict['backbone.pos_embed'])


def test_official_vit_reproduction_matches_official_forward():
    """The GPU check's baseline row (mmadaptformer.benchmark.official_vit)
    has the official keys and computes the official forward."""
    from mmadaptformer.benchmark.official_vit import OfficialVideoViT
    model = OfficialVideoViT(
        CLASSES,
        img_size=IMG,
        patch_size=PATCH,
        num_frames=FRAMES,
        tubelet_size=TUBELET,
        embed_dims=DIMS,
        depth=DEPTH,
        num_heads=HEADS,
        mlp_ratio=HIDDEN / DIMS)
    w = _Weights(seed=7)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(w.randn(*p.shape))
        model.head[0].running_mean.copy_(w.randn(DIMS))
        model.head[0].running_var.copy_(0.5 + w.randn(DIMS).abs())
    state = model.state_dict()
    assert detect_source_type(state) == 'adaptformer-video'
    assert 'blocks.0.adaptmlp.down_proj.weight' in state
    assert 'pos_embed' not in state  # a fixed table, as in VideoMAE
    x = _inputs(VIDEO)
    with torch.no_grad():
        assert_close(
            model.eval()(x),
            reference_video_logits(state, x),
            rtol=1e-4,
            atol=1e-4)
    # What main_video.py trains: adapters, fc_norm and the head.
    assert set(model.trainable_names()) == {
        n
        for n, _ in model.named_parameters()
        if '.adaptmlp.' in n or n.startswith(('fc_norm.', 'head.'))
    } and len(model.trainable_names()) == DEPTH * 4 + 2 + 2
