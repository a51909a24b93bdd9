# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every shipped config builds, trains a step and tests a step, and the
paper's recipe values are what the configs say."""
import copy
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from helpers import CONFIGS
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner

from mmadaptformer.engine import adapter_hook_cfg
from mmadaptformer.models import (AdaptMLP, adapter_modules, apply_trainable,
                                  plan_trainable)

RECIPES = sorted(
    glob.glob(osp.join(CONFIGS, 'adaptformer_vitb_*.py')) +
    glob.glob(osp.join(CONFIGS, 'baselines', '*.py')))
TASKS = dict(ssv2=174, hmdb51=51, cifar100=100, svhn=10, food101=101)


def _name(path):
    return osp.relpath(path, CONFIGS)


def _is_video(cfg):
    return cfg.default_scope == 'mmaction'


def _stock_backbone(cfg):
    backbone = cfg.model.backbone
    return backbone.backbone if 'backbone' in backbone else backbone


def _views(pipeline):
    """(clip_len, clips x crops) of a video pipeline."""
    sample = next(t for t in pipeline if t['type'] == 'SampleFrames')
    crops = {'ThreeCrop': 3, 'TenCrop': 10}
    n_crops = max([crops.get(t['type'], 1) for t in pipeline])
    return sample['clip_len'], sample['num_clips'] * n_crops


def _batch(cfg, size, mode, batch_size):
    num_classes = TASKS[next(t for t in TASKS if f'_{t}' in cfg.filename)]
    labels = torch.arange(batch_size) % num_classes
    if _is_video(cfg):
        from mmaction.structures import ActionDataSample
        pipeline = (
            cfg.train_pipeline if mode == 'train' else cfg.test_pipeline)
        clip_len, views = _views(pipeline)
        if mode == 'train':
            views = 1
        inputs = [
            torch.randint(
                0, 256, (views, 3, clip_len, size, size), dtype=torch.uint8)
            for _ in range(batch_size)
        ]
        samples = [ActionDataSample().set_gt_label(i) for i in labels]
    else:
        from mmpretrain.structures import DataSample
        inputs = [
            torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
            for _ in range(batch_size)
        ]
        samples = [DataSample().set_gt_label(i) for i in labels]
    return dict(inputs=inputs, data_samples=samples)


def _build(cfg, img_size):
    """The config's model without a pretrained file, at ``img_size``."""
    init_default_scope(cfg.default_scope)
    model_cfg = copy.deepcopy(cfg.model)
    stock = (
        model_cfg.backbone.backbone
        if 'backbone' in model_cfg.backbone else model_cfg.backbone)
    stock.init_cfg = None
    stock.img_size = img_size
    return MODELS.build(model_cfg)


def _step(cfg, model, img_size, test_batch_size=2):
    hook = adapter_hook_cfg(cfg)
    if hook is not None:
        plan = plan_trainable(
            model,
            mode=hook.get('mode', 'adaptformer'),
            extra_trainable=hook.get('extra_trainable', ()))
        apply_trainable(model, plan)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg.type = 'OptimWrapper'  # mixed precision is a GPU's
    optim_cfg.pop('loss_scale', None)
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    trainable = {
        n: p.detach().clone()
        for n, p in model.named_parameters() if p.requires_grad
    }
    frozen = {
        n: p.detach().clone()
        for n, p in model.named_parameters() if not p.requires_grad
    }
    model.train()
    # Batch 2: the BatchNorm head needs more than one sample in training.
    losses = model.train_step(_batch(cfg, img_size, 'train', 2), optim_wrapper)
    assert torch.isfinite(losses['loss'])
    params = dict(model.named_parameters())
    assert any(not torch.equal(params[n], v) for n, v in trainable.items())
    assert all(torch.equal(params[n], v) for n, v in frozen.items())
    model.eval()
    with torch.no_grad():  # as MMEngine's TestLoop runs it
        outputs = model.test_step(
            _batch(cfg, img_size, 'test', test_batch_size))
    num_classes = TASKS[next(t for t in TASKS if f'_{t}' in cfg.filename)]
    assert len(outputs) == test_batch_size
    assert outputs[0].pred_score.shape == (num_classes, )
    return outputs


@pytest.mark.parametrize('path', RECIPES, ids=_name)
def test_config_builds_trains_and_tests_a_step(path):
    """Small-resolution override for speed (the ViT-B itself is kept)."""
    cfg = Config.fromfile(path)
    model = _build(cfg, img_size=32)
    stock = _stock_backbone(cfg)
    assert stock.get('embed_dims', 768) == 768
    assert stock.get('depth', 12) == 12
    _step(cfg, model, img_size=32)


def test_ssv2_adaptformer_full_size_vit_b():
    """The real ViT-B/16 at 8x224x224: train step and 12-view test step."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'adaptformer_vitb_ssv2.py'))
    model = _build(cfg, img_size=224)
    plan = plan_trainable(
        model, extra_trainable=adapter_hook_cfg(cfg)['extra_trainable'])
    # Adapters: 12 x (768*64 + 64 + 64*768 + 768); head: 768*174 + 174;
    # fc_norm: 2*768.
    assert plan.count(plan.groups['adapters']) == 1_189_632
    assert plan.count(plan.groups['head']) == 768 * 174 + 174
    assert plan.count(plan.groups['other']) == 2 * 768
    total = sum(p.numel() for p in model.parameters())
    assert plan.count(plan.trainable_keys) / total < 0.02
    _step(cfg, model, img_size=224, test_batch_size=1)


def _scaled_lr(cfg, world_size):
    """The lr MMEngine's Runner.scale_lr gives for ``world_size`` ranks."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                                lr=cfg.optim_wrapper.optimizer.lr)
    wrapper = OptimWrapper(optimizer)
    runner = SimpleNamespace(
        world_size=world_size,
        _train_dataloader=cfg.train_dataloader,
        param_schedulers=None,
        logger=MMLogger.get_current_instance())
    Runner.scale_lr(runner, wrapper, cfg.auto_scale_lr)
    return optimizer.param_groups[0]['lr']


@pytest.mark.parametrize('task', ['ssv2', 'hmdb51'])
def test_video_recipe_values(task):
    cfg = Config.fromfile(osp.join(CONFIGS, f'adaptformer_vitb_{task}.py'))
    # lr = 0.1 x total batch / 256: the paper's 64 GPUs x 16 -> 0.4.
    assert cfg.train_dataloader.batch_size == 16
    assert _scaled_lr(cfg, 64) == pytest.approx(0.4)
    assert _scaled_lr(cfg, 8) == pytest.approx(0.05)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.9, 0.)
    assert cfg.optim_wrapper.type == 'AdaptAmpOptimWrapper'
    assert cfg.optim_wrapper.get('clip_grad') is None
    # 90 epochs: 10 warm-up epochs, then cosine to 0, per iteration.
    warmup, cosine = cfg.param_scheduler
    assert cfg.train_cfg.max_epochs == 90
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 10)
    assert (cosine.type, cosine.begin, cosine.end,
            cosine.eta_min) == ('CosineAnnealingLR', 10, 90, 0.)
    assert warmup.convert_to_iter_based and cosine.convert_to_iter_based
    # 8 frames at interval 4, one clip; 4 clips x 3 crops at test.
    sample = next(t for t in cfg.train_pipeline if t['type'] == 'SampleFrames')
    assert (sample.clip_len, sample.frame_interval, sample.num_clips) == (8, 4,
                                                                          1)
    assert _views(cfg.test_pipeline) == (8, 12)
    crop = next(t for t in cfg.train_pipeline if t['type'] == 'MultiScaleCrop')
    assert crop.scales == (1, .875, .75, .66) and crop.input_size == 224
    flips = [t for t in cfg.train_pipeline if t['type'] == 'Flip']
    # Left/right matters in SSv2: no flip there; HMDB51 flips.
    assert (len(flips) == 0) if task == 'ssv2' else (len(flips) == 1)
    backbone = cfg.model.backbone
    # The official video model re-initialises the adapters' Linears.
    assert backbone.adapter == dict(
        bottleneck=64, scale=0.1, dropout=0., norm=None, init='trunc_normal')
    assert backbone.backbone.drop_path_rate == 0.
    assert backbone.backbone.num_frames == 8
    assert cfg.model.cls_head.type == 'BNLinearHead'
    assert cfg.model.cls_head.num_classes == TASKS[task]
    hook = adapter_hook_cfg(cfg)
    assert hook['mode'] == 'adaptformer'
    assert hook['extra_trainable'] == [r'^backbone\.fc_norm\.']
    assert cfg.default_hooks.sync_buffers.type == 'SyncNormStatsHook'


@pytest.mark.parametrize('task', ['cifar100', 'svhn', 'food101'])
def test_image_recipe_values(task):
    cfg = Config.fromfile(osp.join(CONFIGS, f'adaptformer_vitb_{task}.py'))
    assert cfg.train_dataloader.batch_size == 128
    assert _scaled_lr(cfg, 8) == pytest.approx(0.4)  # 0.1 x 1024 / 256
    assert _scaled_lr(cfg, 2) == pytest.approx(0.1)
    assert cfg.train_cfg.max_epochs == 100
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end, cosine.begin, cosine.end) == (0, 20, 20,
                                                                    100)
    assert cfg.model.backbone.adapter.dropout == 0.1
    assert cfg.model.backbone.backbone.out_type == 'cls_token'
    types = [t['type'] for t in cfg.train_pipeline]
    assert 'RandomResizedCrop' in types and 'RandomFlip' in types
    test_types = [t['type'] for t in cfg.test_pipeline]
    assert 'ResizeEdge' in test_types and 'CenterCrop' in test_types
    assert cfg.model.head.num_classes == TASKS[task]
    assert adapter_hook_cfg(cfg)['extra_trainable'] == []


@pytest.mark.parametrize('path', RECIPES, ids=_name)
def test_recipes_train_through_our_amp_wrapper_on_cuda(path):
    """Every recipe's GPU run goes through AdaptAmpOptimWrapper (torch 2's
    GradScaler, explicit autocast dtype, bfloat16 heads), not MMEngine's
    AmpOptimWrapper, and asks for no bfloat16 on a CPU."""
    from mmengine.registry import OPTIM_WRAPPERS

    from mmadaptformer.engine import AdaptAmpOptimWrapper
    cfg = Config.fromfile(path)
    init_default_scope(cfg.default_scope)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    assert OPTIM_WRAPPERS.get(optim_cfg.type) is AdaptAmpOptimWrapper
    assert 'cpu_bf16' not in optim_cfg
    optim_cfg.device_type = 'cuda'
    model = torch.nn.Linear(2, 2)
    if torch.cuda.is_available():
        wrapper = build_optim_wrapper(model.cuda(), optim_cfg)
        assert type(wrapper.loss_scaler) is torch.amp.GradScaler
        assert wrapper.cast_dtype is torch.float16
        return
    # As far as a CPU goes: the wrapper's own CUDA path is taken, and
    # refuses a machine without CUDA.
    with pytest.raises(
            RuntimeError,
            match="^AdaptAmpOptimWrapper was built for device_type 'cuda'"):
        build_optim_wrapper(model, optim_cfg)


def test_baselines_train_what_the_paper_compares(tmp_path):
    """Linear probe: head (+ fc_norm for video); full fine-tuning: all."""
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'baselines', 'linear-probe_vitb_hmdb51.py'))
    model = _build(cfg, img_size=32)
    assert not adapter_modules(model)
    plan = plan_trainable(
        model,
        mode='linear_probe',
        extra_trainable=adapter_hook_cfg(cfg)['extra_trainable'])
    assert set(plan.trainable_keys) == {
        'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias',
        'backbone.fc_norm.weight', 'backbone.fc_norm.bias'
    }
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'baselines', 'full-finetune_vitb_hmdb51.py'))
    assert adapter_hook_cfg(cfg) is None
    model = _build(cfg, img_size=32)
    assert not any(isinstance(m, AdaptMLP) for m in model.modules())
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize(
    'name',
    ['adaptformer_videomae-vit-b_k400.py', 'adaptformer_vit-b_in1k.py'])
def test_readme_inheritance_examples_build(name):
    """The README's minimal diffs from stock toolbox configs."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'examples', name))
    assert cfg.model.backbone.type == 'AdaptFormer'
    model = _build(cfg, img_size=32)
    adapters = adapter_modules(model)
    assert len(adapters) == 12
    stock_keys = {
        k
        for k in model.state_dict()
        if k.startswith('backbone.') and '.adaptmlp.' not in k
    }
    init_default_scope(cfg.default_scope)
    base = copy.deepcopy(_stock_backbone(cfg))
    base.init_cfg = None
    base.img_size = 32
    stock = MODELS.build(base)
    assert stock_keys == {f'backbone.{k}' for k in stock.state_dict()}
    assert adapter_hook_cfg(cfg)['adapter_only_checkpoint'] is True
