# Copyright (c) mmadaptformer contributors. All rights reserved.
import copy

import pytest
import torch
from block_builders import assert_only_adapters_have_gradients
from helpers import VIDEO_HOST
from mmaction.registry import MODELS as MMACTION_MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import CheckpointLoader, load_checkpoint
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.structures import DataSample
from torch.testing import assert_close

from mmadaptformer.models import (AdaptFormer, adapter_modules,
                                  adapter_parameter_names)

VIDEO = (1, 3, 4, 32, 32)
IMAGE = (1, 3, 32, 32)
MMACTION_VIT = dict(VIDEO_HOST)
MMPRETRAIN_VIT = dict(
    type='mmpretrain.VisionTransformer',
    arch='deit-tiny',
    img_size=32,
    patch_size=16)
# name: (backbone config, input shape, number of blocks)
HOSTS = {
    'mmaction-vit': (MMACTION_VIT, VIDEO, 2),
    'mmaction-swin3d': (
        dict(
            type='mmaction.SwinTransformer3D',
            arch='tiny',
            pretrained2d=False,  # True inflates a 2D checkpoint, which is None
            drop_path_rate=0.,
            window_size=(2, 4, 4)),
        VIDEO,
        12),
    'mmpretrain-vit': (MMPRETRAIN_VIT, IMAGE, 12),
    'mmpretrain-deit': (dict(
        type='mmpretrain.DistilledVisionTransformer',
        arch='deit-tiny',
        img_size=32,
        patch_size=16), IMAGE, 12),
    'mmpretrain-deit3':
    (dict(type='mmpretrain.DeiT3', arch='s', img_size=32,
          patch_size=16), IMAGE, 12),
    'mmpretrain-swin': (dict(
        type='mmpretrain.SwinTransformer',
        arch='tiny',
        img_size=32,
        pad_small_map=True,
        drop_path_rate=0.), IMAGE, 12),
}
ADAPTER_PARAMS = ('down_proj.weight', 'down_proj.bias', 'up_proj.weight',
                  'up_proj.bias')


def _flat(out):
    """All tensors of a backbone output as one vector."""
    if isinstance(out, torch.Tensor):
        return out.flatten()
    return torch.cat([_flat(o) for o in out])


def _stock(cfg):
    backbone = MODELS.build(cfg)
    backbone.init_weights()
    # Not ``.eval()``: SwinTransformer3D.train() returns None.
    backbone.train(False)
    return backbone


def _adapter_keys(model, prefix=''):
    return {
        f'{prefix}{name}.{param}'
        for name in adapter_modules(model.backbone) for param in ADAPTER_PARAMS
    }


@pytest.mark.parametrize('placement', ['parallel', 'sequential'])
@pytest.mark.parametrize('host', HOSTS)
def test_zero_init_keeps_stock_outputs_and_keys(host, placement):
    cfg, shape, num_blocks = HOSTS[host]
    torch.manual_seed(0)
    stock = _stock(cfg)
    torch.manual_seed(0)
    # The plain path, bit for bit; test_fast_path.py compares the fast path.
    model = AdaptFormer(
        backbone=cfg,
        placement=placement,
        fused_attention=False,
        contiguous_tokens=False).eval()
    # The host is initialised lazily; give it the stock weights.
    model.load_state_dict(stock.state_dict(), strict=False)

    assert len(model.adapted_blocks) == num_blocks
    assert len(adapter_modules(model)) == num_blocks
    x = torch.randn(shape)
    assert torch.equal(_flat(model(x)), _flat(stock(x)))
    keys = set(model.state_dict())
    assert set(stock.state_dict()) == keys - _adapter_keys(model)
    assert len(keys) == len(stock.state_dict()) + 4 * num_blocks
    assert all(f'{block}.adaptmlp.down_proj.weight' in keys
               for block in model.adapted_blocks)


@pytest.fixture(scope='module')
def vit_b():
    from mmpretrain.models import VisionTransformer
    return VisionTransformer(arch='b', img_size=224, patch_size=16)


def _num_params(module):
    return sum(p.numel() for p in module.parameters())


def test_vit_b_parameter_count(vit_b, monkeypatch):
    import mmadaptformer.models.backbones.base_wrapper as base_wrapper
    monkeypatch.setattr(base_wrapper, 'build_host_backbone',
                        lambda cfg: copy.deepcopy(vit_b))
    model = AdaptFormer(backbone=dict(type='VisionTransformer', arch='b'))
    added = _num_params(model) - _num_params(vit_b)
    assert added == 12 * (768 * 64 + 64 + 64 * 768 + 768) == 1_189_632
    assert sum(
        model.get_parameter(n).numel()
        for n in adapter_parameter_names(model)) == added

    layers, bottlenecks = [0, 5, -1], [8, 16, 32]
    model = AdaptFormer(
        backbone=dict(type='VisionTransformer', arch='b'),
        adapter=dict(bottleneck=bottlenecks, scale='learnable'),
        layers=layers)
    assert model.adapted_blocks == ['layers.0', 'layers.5', 'layers.11']
    assert model.backbone.layers[11].adaptmlp.bottleneck == 32
    expected = sum(2 * 768 * b + b + 768 + 1 for b in bottlenecks)
    assert _num_params(model) - _num_params(vit_b) == expected


def test_gradients_reach_only_the_adapters(freeze_all_but_adapters):
    torch.manual_seed(0)
    model = AdaptFormer(backbone=MMACTION_VIT)
    freeze_all_but_adapters(model)
    # Not ``.sum()``: the sum of a LayerNorm output has no gradient.
    out = model(torch.randn(VIDEO))
    (out * torch.randn_like(out)).sum().backward()
    trainable = set(adapter_parameter_names(model))
    assert len(trainable) == 8
    assert_only_adapters_have_gradients(model, trainable)


@pytest.mark.parametrize('host', ['mmpretrain-swin', 'mmaction-swin3d'])
def test_swin_sgd_step_trains_the_adapters(host, freeze_all_but_adapters):
    cfg, shape, num_blocks = HOSTS[host]
    torch.manual_seed(0)
    model = AdaptFormer(backbone=cfg, adapter=dict(bottleneck=8))
    freeze_all_but_adapters(model)
    frozen = {
        k: v.clone()
        for k, v in model.state_dict().items() if 'adaptmlp' not in k
    }
    before = {
        k: v.clone()
        for k, v in model.named_parameters() if v.requires_grad
    }
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1.)
    x = torch.randn(shape)
    target = torch.randn_like(_flat(model(x)))
    for _ in range(2):
        optimizer.zero_grad()
        loss = (_flat(model(x)) - target).pow(2).mean()
        assert torch.isfinite(loss)
        loss.backward()
        optimizer.step()
    # Two steps: the first moves up_proj, the second also down_proj.
    for name, param in model.named_parameters():
        if param.requires_grad:
            assert not torch.equal(param, before[name]), name
    for key, value in model.state_dict().items():
        if key in frozen:
            assert torch.equal(value, frozen[key]), key
    assert torch.isfinite(_flat(model(x))).all()


@pytest.mark.parametrize('host', ['mmpretrain-swin', 'mmaction-swin3d'])
def test_gradient_checkpointing_gives_the_same_gradients(
        host, randomize_adapters, freeze_all_but_adapters):
    cfg, shape, _ = HOSTS[host]
    x = torch.randn(shape)
    grads = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        model = AdaptFormer(
            backbone=dict(cfg, with_cp=with_cp),
            adapter=dict(bottleneck=8, dropout=0.3)).train()
        randomize_adapters(model)
        freeze_all_but_adapters(model)
        torch.manual_seed(1)
        out = _flat(model(x))
        (out * torch.linspace(-1, 1, out.numel())).sum().backward()
        grads.append({
            n: p.grad
            for n, p in model.named_parameters() if p.requires_grad
        })
    assert grads[0].keys() == grads[1].keys()
    for name, grad in grads[0].items():
        # Without care, reentrant checkpointing of a frozen model gives
        # None or partial gradients.
        assert grads[1][name] is not None, name
        # The recomputation runs the same float32 operations, but not always
        # bit-identically: up to 1.4e-6 of a gradient's largest value was
        # measured on Swin3D (and the default tolerance failed once in five
        # suite runs). Another dropout mask moves it by more than 1 (2.7).
        scale = grad.abs().max().item()
        assert_close(
            grads[1][name], grad, rtol=1e-4, atol=1e-4 * scale, msg=name)


def test_deepcopy_rewires_the_copy(randomize_adapters):
    torch.manual_seed(0)
    model = AdaptFormer(backbone=MMACTION_VIT).eval()
    stock_out = model(torch.zeros(VIDEO))
    twin = copy.deepcopy(model)
    randomize_adapters(twin)
    x = torch.zeros(VIDEO)
    assert torch.equal(model(x), stock_out)
    assert not torch.allclose(twin(x), stock_out)
    block = twin.backbone.blocks[0]
    assert block._adapter_router.block is block


def test_loads_a_stock_recognizer_checkpoint(randomize_adapters):
    init_default_scope('mmaction')
    head = dict(type='TimeSformerHead', num_classes=5, in_channels=64)
    preprocessor = dict(type='ActionDataPreprocessor', format_shape='NCTHW')
    torch.manual_seed(0)
    stock = MMACTION_MODELS.build(
        dict(
            type='Recognizer3D',
            backbone=MMACTION_VIT,
            cls_head=head,
            data_preprocessor=preprocessor)).eval()
    model = MMACTION_MODELS.build(
        dict(
            type='Recognizer3D',
            backbone=dict(type='AdaptFormer', backbone=MMACTION_VIT),
            cls_head=head,
            data_preprocessor=preprocessor)).eval()

    result = model.load_state_dict(stock.state_dict(), strict=False)
    adapter_keys = _adapter_keys(model.backbone, prefix='backbone.')
    assert sorted(result.missing_keys) == sorted(adapter_keys)
    assert result.unexpected_keys == []
    x = torch.randn((1, ) + VIDEO)
    # Equal up to rounding: the wrapper's fast path fuses the attention.
    assert_close(model(x, mode='tensor'), stock(x, mode='tensor'))
    assert set(model.state_dict()) == \
        set(stock.state_dict()) | adapter_keys

    # Round trip of an adapted checkpoint, strict.
    randomize_adapters(model)
    twin = copy.deepcopy(stock)
    twin.backbone = AdaptFormer(backbone=MMACTION_VIT)
    twin.load_state_dict(model.state_dict(), strict=True)
    assert_close(twin(x, mode='tensor'), model(x, mode='tensor'))


@pytest.mark.parametrize('where', ['backbone', 'wrapper'])
def test_pretrained_init_cfg_with_backbone_prefix(tmp_path, where):
    torch.manual_seed(0)
    stock = _stock(MMPRETRAIN_VIT)
    path = tmp_path / 'classifier.pth'
    state = {f'backbone.{k}': v for k, v in stock.state_dict().items()}
    state['head.layers.head.weight'] = torch.zeros(10, 192)
    torch.save({'state_dict': state, 'meta': {}}, path)
    pretrained = dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.')

    torch.manual_seed(1)
    if where == 'backbone':
        model = AdaptFormer(backbone=dict(MMPRETRAIN_VIT, init_cfg=pretrained))
    else:
        model = AdaptFormer(backbone=MMPRETRAIN_VIT, init_cfg=pretrained)
    # Loaded lazily, by init_weights() (as Runner.train calls it).
    model.init_weights()
    model.eval()

    for key, value in stock.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    for adapter in adapter_modules(model).values():
        assert torch.count_nonzero(adapter.up_proj.weight) == 0
    x = torch.randn(IMAGE)
    assert torch.equal(_flat(model(x)), _flat(stock(x)))


def test_host_load_hooks_still_see_their_keys(tmp_path):
    """mmpretrain ViT resizes ``pos_embed`` in a load pre-hook."""
    torch.manual_seed(0)
    stock = _stock(dict(MMPRETRAIN_VIT, img_size=64))
    path = tmp_path / 'vit64.pth'
    torch.save({'state_dict': stock.state_dict()}, path)
    model = AdaptFormer(backbone=MMPRETRAIN_VIT)
    load_checkpoint(model, str(path), strict=False)
    assert model.state_dict()['pos_embed'].shape == (1, 5, 192)
    assert not torch.equal(model.state_dict()['pos_embed'],
                           torch.zeros(1, 5, 192))


def test_builds_in_each_default_scope():
    init_default_scope('mmaction')
    model = MMACTION_MODELS.build(
        dict(
            type='AdaptFormer',
            backbone=dict(MMACTION_VIT, type='VisionTransformer'),
            adapter=dict(bottleneck=16, scale=0.1, dropout=0., norm=None)))
    assert isinstance(model, AdaptFormer)
    assert type(model.backbone).__module__ == \
        'mmaction.models.backbones.vit_mae'
    assert model.backbone.blocks[1].adaptmlp.bottleneck == 16
    # Unknown attributes are read from the stock backbone.
    assert model.patch_size == 16 and model.grid_size == (2, 2)

    init_default_scope('mmpretrain')
    model = MMPRETRAIN_MODELS.build(
        dict(
            type='AdaptFormer',
            backbone=dict(MMPRETRAIN_VIT, type='VisionTransformer')))
    assert type(model.backbone).__module__ == \
        'mmpretrain.models.backbones.vision_transformer'
    assert model.num_extra_tokens == 1
    # An explicit scope wins over the default one.
    model = MMPRETRAIN_MODELS.build(
        dict(type='AdaptFormer', backbone=MMACTION_VIT))
    assert type(model.backbone).__module__ == \
        'mmaction.models.backbones.vit_mae'


def test_unscoped_type_outside_a_default_scope():
    # Registered in one toolbox only: found.
    model = AdaptFormer(
        backbone=dict(
            HOSTS['mmaction-swin3d'][0], type='SwinTransformer3D',
            arch='tiny'),
        layers=[0])
    assert model.adapted_blocks == ['layers.0.blocks.0']
    # Registered in both: ambiguous.
    with pytest.raises(
            ValueError,
            match="'VisionTransformer' is ambiguous.*"
            r"type='mmaction.VisionTransformer'.*"
            'init_default_scope'):
        AdaptFormer(backbone=dict(MMACTION_VIT, type='VisionTransformer'))
    with pytest.raises(KeyError, match='neither mmaction nor mmpretrain'):
        AdaptFormer(backbone=dict(type='NoSuchTransformer'))


def test_unsupported_backbone_error_lists_block_types():
    with pytest.raises(ValueError) as e:
        AdaptFormer(backbone=dict(type='mmpretrain.ResNet', depth=18))
    message = str(e.value)
    assert 'No transformer block of a known type was found in ResNet' \
        in message
    assert 'BasicBlock (mmpretrain.models.backbones.resnet.BasicBlock)' \
        in message
    assert "block_types=[dict(type='MyBlock', norm='norm2', ffn='mlp')]" \
        in message


def test_recognizer3d_loss(freeze_all_but_adapters):
    init_default_scope('mmaction')
    model = MMACTION_MODELS.build(
        dict(
            type='Recognizer3D',
            backbone=dict(
                type='AdaptFormer',
                backbone=dict(MMACTION_VIT, type='VisionTransformer'),
                adapter=dict(bottleneck=8)),
            cls_head=dict(
                type='TimeSformerHead', num_classes=5, in_channels=64),
            data_preprocessor=dict(
                type='ActionDataPreprocessor', format_shape='NCTHW')))
    # The stock init_cfg re-initialises every Linear; not the adapters.
    model.init_weights()
    for adapter in adapter_modules(model).values():
        assert torch.count_nonzero(adapter.up_proj.weight) == 0
    freeze_all_but_adapters(model)
    sample = ActionDataSample().set_gt_label(3)
    losses = model(torch.randn((1, ) + VIDEO), [sample], mode='loss')
    assert torch.isfinite(losses['loss_cls'])
    losses['loss_cls'].backward()
    up = model.backbone.backbone.blocks[0].adaptmlp.up_proj.weight
    assert up.grad is not None and up.grad.abs().sum() > 0


def test_image_classifier_loss(freeze_all_but_adapters):
    init_default_scope('mmpretrain')
    model = MMPRETRAIN_MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='AdaptFormer',
                backbone=dict(MMPRETRAIN_VIT, type='VisionTransformer'),
                adapter=dict(bottleneck=8),
                placement='sequential'),
            head=dict(
                type='VisionTransformerClsHead',
                num_classes=5,
                in_channels=192,
                init_cfg=None)))  # not zeros, so gradients reach the body
    model.init_weights()
    for adapter in adapter_modules(model).values():
        assert torch.count_nonzero(adapter.up_proj.weight) == 0
    freeze_all_but_adapters(model)
    sample = DataSample().set_gt_label(2)
    losses = model(torch.randn(IMAGE), [sample], mode='loss')
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    up = model.backbone.backbone.layers[0].adaptmlp.up_proj.weight
    assert up.grad is not None and up.grad.abs().sum() > 0


def test_pretrained_file_is_read_once_per_build(tmp_path):
    """The pre-load check and MMEngine's ``PretrainedInit`` share one read.

    The file is served by a counting loader registered for its own scheme
    through MMEngine's public ``CheckpointLoader.register_scheme``."""
    torch.manual_seed(0)
    stock = _stock(MMPRETRAIN_VIT)
    path = tmp_path / 'classifier.pth'
    state = {f'backbone.{k}': v for k, v in stock.state_dict().items()}
    torch.save({'state_dict': state, 'meta': {}}, path)
    reads = []

    def count_reads(filename, map_location=None):
        reads.append(filename)
        return torch.load(
            filename[len('countreads://'):],
            map_location=map_location,
            weights_only=True)

    CheckpointLoader.register_scheme(
        prefixes='countreads://', loader=count_reads, force=True)
    pretrained = dict(
        type='Pretrained',
        checkpoint=f'countreads://{path}',
        prefix='backbone.')
    for builds in (1, 2):
        model = AdaptFormer(backbone=dict(MMPRETRAIN_VIT, init_cfg=pretrained))
        model.init_weights()
        # Once per build: nothing is kept between builds.
        assert len(reads) == builds
        for key, value in stock.state_dict().items():
            assert torch.equal(model.state_dict()[key], value), key
