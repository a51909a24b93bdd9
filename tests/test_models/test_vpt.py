# Copyright (c) mmadaptformer contributors. All rights reserved.
import copy
import math

import pytest
import torch
from helpers import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, VIDEO_HOST
from mmaction.registry import MODELS as MMACTION_MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.structures import DataSample
from torch.testing import assert_close

from mmadaptformer.models import VPT, apply_trainable, plan_trainable
from mmadaptformer.utils import ConfigError

VIDEO = (1, 3, 4, 32, 32)
IMAGE = (1, 3, 32, 32)
NUM_PROMPTS = 3
MMACTION_VIT = dict(VIDEO_HOST)
TINY_ARCH = dict(
    embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)
MMPRETRAIN_VIT = dict(
    type='mmpretrain.VisionTransformer',
    arch=TINY_ARCH,
    img_size=32,
    patch_size=16)
# name: (backbone config, input shape, tokens in front of the prompts)
HOSTS = {
    'mmaction-vit': (MMACTION_VIT, VIDEO, 0),
    'mmpretrain-vit': (MMPRETRAIN_VIT, IMAGE, 1),
    'mmpretrain-vit-no-cls':
    (dict(MMPRETRAIN_VIT, with_cls_token=False,
          out_type='avg_featmap'), IMAGE, 0),
    'mmpretrain-deit-distilled':
    (dict(MMPRETRAIN_VIT,
          type='mmpretrain.DistilledVisionTransformer'), IMAGE, 2),
    'mmpretrain-deit3': (dict(MMPRETRAIN_VIT,
                              type='mmpretrain.DeiT3'), IMAGE, 1),
}


def _vpt(cfg, **kwargs):
    kwargs.setdefault('num_prompts', NUM_PROMPTS)
    return VPT(backbone=cfg, **kwargs).eval()


def _stock_twin(model, cfg):
    """The stock backbone with the wrapper's stock weights."""
    stock = MODELS.build(cfg)
    state = {
        k: v
        for k, v in model.state_dict().items() if k != 'prompt_embeddings'
    }
    stock.load_state_dict(state, strict=True)
    # Not ``.eval()``: mmpretrain backbones' train() returns None.
    stock.train(False)
    return stock


def _with_prompts(tokens, prompts, pos):
    prompts = prompts.expand(tokens.size(0), -1, -1)
    return torch.cat((tokens[:, :pos], prompts, tokens[:, pos:]), dim=1)


def _blocks_by_hand(tokens, blocks, prompts, pos, deep):
    """Insert prompts[i] before block i and drop them after it (deep), or
    insert prompts[0] once and drop them after the last block."""
    num = prompts.size(1)
    for i, block in enumerate(blocks):
        if deep or i == 0:
            tokens = _with_prompts(tokens, prompts[i], pos)
        tokens = block(tokens)
        if deep or i == len(blocks) - 1:
            tokens = torch.cat((tokens[:, :pos], tokens[:, pos + num:]), 1)
    return tokens


def _mmaction_by_hand(stock, prompts, x, deep):
    tokens = stock.pos_drop(stock.patch_embed(x)[0] + stock.pos_embed)
    tokens = _blocks_by_hand(tokens, stock.blocks, prompts, 0, deep)
    return stock.fc_norm(stock.norm(tokens).mean(1))


def _mmpretrain_by_hand(stock, prompts, x, deep):
    tokens, _ = stock.patch_embed(x)
    cls_token = stock.cls_token.expand(x.size(0), -1, -1)
    tokens = torch.cat((cls_token, tokens), dim=1) + stock.pos_embed
    tokens = stock.pre_norm(stock.drop_after_pos(tokens))
    tokens = _blocks_by_hand(tokens, stock.layers, prompts, 1, deep)
    tokens = stock.ln1(tokens)
    if stock.out_type == 'cls_token':
        return tokens[:, 0]
    return stock.ln2(tokens[:, 1:].mean(1))


@pytest.mark.parametrize('deep', [True, False])
@pytest.mark.parametrize(
    'host',
    ['mmaction-vit', 'mmpretrain-vit-cls_token', 'mmpretrain-vit-avg_featmap'])
def test_matches_hand_computed_prompting(host, deep):
    if host == 'mmaction-vit':
        cfg, shape, by_hand = MMACTION_VIT, VIDEO, _mmaction_by_hand
    else:
        cfg = dict(MMPRETRAIN_VIT, out_type=host.rsplit('-', 1)[-1])
        shape, by_hand = IMAGE, _mmpretrain_by_hand
    torch.manual_seed(0)
    model = _vpt(cfg, deep=deep)
    with torch.no_grad():
        # Large prompts, so that a prompt-free output is far off.
        model.prompt_embeddings.normal_()
    stock = _stock_twin(model, cfg)
    x = torch.randn((2, ) + shape[1:])

    out = model(x)
    out = out if isinstance(out, torch.Tensor) else out[-1]
    expected = by_hand(stock, model.prompt_embeddings, x, deep)
    assert out.shape == (2, 64)
    assert_close(out, expected)
    stock_out = stock(x)
    stock_out = stock_out if isinstance(stock_out,
                                        torch.Tensor) else stock_out[-1]
    assert not torch.allclose(out, stock_out, atol=1e-2)
    if not deep:
        # VPT-shallow keeps the first prompts and nothing else.
        assert model.prompt_embeddings.shape == (1, NUM_PROMPTS, 64)


@pytest.mark.parametrize('deep', [True, False])
@pytest.mark.parametrize('host', HOSTS)
def test_blocks_see_prompts_after_the_extra_tokens(host, deep):
    cfg, shape, pos = HOSTS[host]
    torch.manual_seed(0)
    model = _vpt(cfg, deep=deep)
    assert model.prompt_position == pos
    blocks = [model.backbone.get_submodule(n) for n in model.prompted_blocks]
    assert len(blocks) == 2
    seen = []
    # Registered after VPT's hooks, so they see what the block sees.
    handles = [
        block.register_forward_pre_hook(
            lambda m, args: seen.append(args[0].detach())) for block in blocks
    ]
    x = torch.randn((2, ) + shape[1:])
    stock_out = _stock_twin(model, cfg)(x)
    out = model(x)
    for handle in handles:
        handle.remove()

    num_tokens = 4 * (2 if shape == VIDEO else 1) + pos
    assert [tuple(t.shape) for t in seen] == \
        [(2, num_tokens + NUM_PROMPTS, 64)] * 2
    assert_close(seen[0][:, pos:pos + NUM_PROMPTS],
                 model.prompt_embeddings[0].expand(2, -1, -1))
    later = seen[1][:, pos:pos + NUM_PROMPTS]
    if deep:
        assert_close(later, model.prompt_embeddings[1].expand(2, -1, -1))
    else:
        # Block 0's outputs at the prompt positions, not fresh prompts.
        assert not torch.allclose(later[0], model.prompt_embeddings[0])
    # The host's own output format is kept.
    assert type(out) is type(stock_out)
    for ours, theirs in zip(out, stock_out):
        ours, theirs = (ours, ) if torch.is_tensor(ours) else ours, \
            (theirs, ) if torch.is_tensor(theirs) else theirs
        assert [o.shape for o in ours] == [t.shape for t in theirs]


@pytest.mark.parametrize('deep', [True, False])
def test_intermediate_featmaps_hold_real_tokens_only(deep):
    cfg = dict(MMPRETRAIN_VIT, out_indices=[0, 1], out_type='featmap')
    torch.manual_seed(0)
    model = _vpt(cfg, deep=deep)
    raw = _vpt(dict(cfg, out_type='raw'), deep=deep)
    raw.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(IMAGE)
    featmaps, tokens = model(x), raw(x)
    # A reshape with prompts left in would fail or scramble the tokens.
    assert [tuple(f.shape) for f in featmaps] == [(1, 64, 2, 2)] * 2
    assert [tuple(t.shape) for t in tokens] == [(1, 5, 64)] * 2
    for featmap, token in zip(featmaps, tokens):
        assert_close(featmap.flatten(2).transpose(1, 2), token[:, 1:])
    assert not torch.allclose(tokens[0], tokens[1])


def test_prompts_steer_the_output_and_alone_get_gradients():
    torch.manual_seed(0)
    model = _vpt(MMACTION_VIT)
    x = torch.randn(VIDEO)
    before = model(x)
    with torch.no_grad():
        model.prompt_embeddings[1].normal_()
    assert not torch.allclose(model(x), before, atol=1e-3)

    # A bare backbone: no head to train.
    plan = plan_trainable(
        model,
        mode='linear_probe',
        head=[],
        extra_trainable=[r'prompt_embeddings'])
    assert plan.groups['other'] == ['prompt_embeddings']
    apply_trainable(model, plan)
    out = model(x)
    # Not ``.sum()``: the sum of a LayerNorm output has no gradient.
    (out * torch.randn_like(out)).sum().backward()
    for name, param in model.named_parameters():
        if name == 'prompt_embeddings':
            # Every block's own prompts get a gradient.
            assert (param.grad.abs().flatten(1).sum(1) > 0).all()
        else:
            assert param.grad is None, name


@pytest.mark.parametrize('host,fan_in', [('mmaction-vit', 3 * 2 * 16 * 16),
                                         ('mmpretrain-vit', 3 * 16 * 16)])
def test_xavier_uniform_init_from_the_patch_embedding(host, fan_in):
    torch.manual_seed(0)
    prompts = _vpt(HOSTS[host][0], num_prompts=50).prompt_embeddings
    assert prompts.shape == (2, 50, 64)
    bound = math.sqrt(6 / (fan_in + 64))
    assert prompts.abs().max() <= bound
    assert prompts.abs().max() > 0.98 * bound
    assert abs(prompts.std().item() - bound / math.sqrt(3)) < 0.05 * bound
    assert abs(prompts.mean().item()) < 0.05 * bound


def test_state_dict_is_stock_plus_prompts():
    torch.manual_seed(0)
    model = _vpt(MMACTION_VIT, num_prompts=7)
    stock = MODELS.build(MMACTION_VIT)
    keys = list(model.state_dict())
    assert sorted(keys) == sorted(
        list(stock.state_dict()) + ['prompt_embeddings'])
    assert model.state_dict()['prompt_embeddings'].shape == (2, 7, 64)
    assert sum(p.numel() for p in model.parameters()) - \
        sum(p.numel() for p in stock.parameters()) == 2 * 7 * 64

    result = model.load_state_dict(stock.state_dict(), strict=False)
    assert result.missing_keys == ['prompt_embeddings']
    assert result.unexpected_keys == []
    assert torch.equal(model.state_dict()['blocks.1.mlp.layers.1.weight'],
                       stock.state_dict()['blocks.1.mlp.layers.1.weight'])

    # Strict round trip, prompts included.
    twin = _vpt(MMACTION_VIT, num_prompts=7)
    twin.load_state_dict(model.state_dict(), strict=True)
    assert torch.equal(twin.prompt_embeddings, model.prompt_embeddings)
    x = torch.randn(VIDEO)
    assert torch.equal(twin(x), model(x))


@pytest.mark.parametrize('where', ['backbone', 'wrapper'])
def test_pretrained_init_cfg_with_backbone_prefix(tmp_path, monkeypatch,
                                                  where):
    import mmengine.runner.checkpoint as checkpoint
    messages = []
    monkeypatch.setattr(checkpoint, 'print_log',
                        lambda msg, *a, **k: messages.append(msg))
    torch.manual_seed(0)
    stock = MODELS.build(MMPRETRAIN_VIT)
    stock.init_weights()
    path = tmp_path / 'classifier.pth'
    state = {f'backbone.{k}': v for k, v in stock.state_dict().items()}
    state['head.layers.head.weight'] = torch.zeros(10, 64)
    torch.save({'state_dict': state, 'meta': {}}, path)
    pretrained = dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.')

    torch.manual_seed(1)
    if where == 'backbone':
        model = _vpt(dict(MMPRETRAIN_VIT, init_cfg=pretrained))
        prompts = model.prompt_embeddings.detach().clone()
        # Loaded lazily, by init_weights() (as Runner.train calls it).
        model.init_weights()
    else:
        model = _vpt(MMPRETRAIN_VIT, init_cfg=pretrained)
        prompts = model.prompt_embeddings.detach().clone()
        model.init_weights()
        mismatches = [m for m in messages if 'state dict' in m]
        assert mismatches == [
            'The model and loaded state dict do not match exactly\n\n'
            'missing keys in source state_dict: prompt_embeddings\n'
        ]
    for key, value in stock.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    assert torch.equal(model.prompt_embeddings, prompts)


def test_deepcopy_rewires_the_copy():
    torch.manual_seed(0)
    model = _vpt(MMACTION_VIT)
    x = torch.randn(VIDEO)
    before = model(x)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        twin.prompt_embeddings.normal_()
    assert torch.equal(model(x), before)
    assert not torch.allclose(twin(x), before, atol=1e-3)
    assert twin.backbone.blocks[0]._vpt_router.owner is twin


def test_prompt_dropout_is_per_sample_and_off_in_eval():
    torch.manual_seed(0)
    model = _vpt(MMACTION_VIT, prompt_dropout=0.5, num_prompts=20)
    seen = []
    model.backbone.blocks[0].register_forward_pre_hook(
        lambda m, args: seen.append(args[0][:, :20].detach()))
    x = torch.randn((2, ) + VIDEO[1:])
    model.eval()(x)
    model.train()(x)
    prompts = model.prompt_embeddings[0].detach()
    assert_close(seen[0], prompts.expand(2, -1, -1))
    dropped = seen[1] == 0
    assert dropped.any() and not dropped.all()
    assert_close(seen[1][~dropped], (2 * prompts.expand(2, -1, -1))[~dropped])
    assert not torch.equal(dropped[0], dropped[1])


def test_recognizer3d_from_the_tiny_config_trains_the_prompts():
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.model.backbone = dict(
        type='VPT', backbone=cfg.model.backbone, num_prompts=4)
    init_default_scope('mmaction')
    model = MMACTION_MODELS.build(cfg.model)
    model.init_weights()
    assert isinstance(model.backbone, VPT)
    assert type(model.backbone.backbone).__module__ == \
        'mmaction.models.backbones.vit_mae'
    plan = plan_trainable(
        model, mode='linear_probe', extra_trainable=[r'prompt_embeddings'])
    assert plan.groups['other'] == ['backbone.prompt_embeddings']
    apply_trainable(model, plan)

    sample = ActionDataSample().set_gt_label(1)
    data = model.data_preprocessor(
        dict(
            inputs=[torch.randint(0, 255, VIDEO, dtype=torch.uint8)],
            data_samples=[sample]))
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_cls'])
    losses['loss_cls'].backward()
    grad = model.backbone.prompt_embeddings.grad
    assert grad is not None and (grad.abs().flatten(1).sum(1) > 0).all()
    assert model.backbone.backbone.blocks[0].attn.qkv.weight.grad is None


def test_image_classifier_from_the_tiny_config_trains_the_prompts():
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.backbone = dict(
        type='VPT', backbone=cfg.model.backbone, num_prompts=4, deep=False)
    init_default_scope('mmpretrain')
    model = MMPRETRAIN_MODELS.build(cfg.model)
    model.init_weights()
    assert type(model.backbone.backbone).__module__ == \
        'mmpretrain.models.backbones.vision_transformer'
    assert model.backbone.prompt_position == 1
    apply_trainable(
        model,
        plan_trainable(
            model, mode='linear_probe',
            extra_trainable=[r'prompt_embeddings']))

    losses = model(
        torch.randn(IMAGE), [DataSample().set_gt_label(1)], mode='loss')
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    grad = model.backbone.prompt_embeddings.grad
    assert grad.shape == (1, 4, 64) and grad.abs().sum() > 0
    assert model.backbone.backbone.layers[0].attn.qkv.weight.grad is None


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(num_prompts=0), ValueError,
     'num_prompts must be a positive int.*got 0'),
    (dict(num_prompts=-5), ValueError,
     'num_prompts must be a positive int.*got -5'),
    (dict(num_prompts=2.5), ValueError,
     'num_prompts must be a positive int.*got 2.5'),
    (dict(num_prompts=True), ValueError,
     'num_prompts must be a positive int.*got True'),
    (dict(prompt_dropout=1.), ValueError, r'prompt_dropout .*\[0, 1\).*1.0'),
    (dict(prompt_dropout=-0.1), ValueError,
     r'prompt_dropout .*\[0, 1\).*-0.1'),
    (dict(deep='yes'), TypeError, "deep must be True.*got 'yes'"),
])
def test_invalid_values_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        VPT(backbone=MMACTION_VIT, **kwargs)


def test_swin_is_refused_as_an_adaptformer_host():
    # A ConfigError naming the key, so that the tools end with it on one
    # line naming the config file (it was a bare ValueError's traceback).
    # The hosts VPT prompts and the wrapper to use instead: see
    # test_vpt_hosts_C.py.
    with pytest.raises(ConfigError) as e:
        VPT(
            backbone=dict(
                type='mmpretrain.SwinTransformer', arch='tiny', img_size=32))
    message = str(e.value)
    assert message.startswith('model.backbone.backbone.type: VPT cannot '
                              'prompt SwinTransformer: ')
    assert '(its SwinBlock blocks are not the ViT token sequence' in message
    assert "Use type='AdaptFormer' for it." in message


def test_checkpoint_errors_speak_of_prompts():
    """VPT trains prompts: its errors said "adapter-only checkpoint" and
    "the adapters were trained on"."""
    from mmadaptformer.models import (FROZEN_HOST_KEY,
                                      FrozenBackboneMismatchError,
                                      frozen_host_entries)
    from mmadaptformer.utils.fingerprint import state_fingerprints
    trained = _vpt(MMPRETRAIN_VIT)
    trained.host_source = 'stock.pth'
    host = set(trained.host_keys)
    entry = frozen_host_entries(
        trained,
        state_fingerprints((k, v) for k, v in trained.state_dict().items()
                           if k in host))[FROZEN_HOST_KEY]
    entry['source'] = 'prompts.pth'
    other = _vpt(MMPRETRAIN_VIT)  # another random backbone
    # Without a pretrained file (None), the unset key is the cause.
    openings = {
        'other.pth': 'was trained on a different frozen backbone',
        None: 'needs the frozen backbone its prompts were trained on'
    }
    for source, opening in openings.items():
        other.host_source = source
        with pytest.raises(FrozenBackboneMismatchError) as info:
            other.load_state_dict(
                {
                    'prompt_embeddings': trained.prompt_embeddings,
                    FROZEN_HOST_KEY: entry
                },
                strict=False)
        message = str(info.value)
        assert message.startswith(
            f'The prompt-only checkpoint prompts.pth {opening}'), message
        assert 'The prompts were trained on stock.pth.' in message
        assert 'checkpoint the prompts were trained on' in message
        assert 'adapter' not in message
