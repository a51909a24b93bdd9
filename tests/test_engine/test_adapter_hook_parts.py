# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What AdapterHook trains besides the adapters (the neck, the head) and
how it refuses a plan that would train silently wrong: a head that names
no module, linear probing of adapters, a pattern that matches nothing.
On real tiny runners and the real ``tools/``."""
import pytest
import torch
from helpers import (TINY_IMAGE_CONFIG, image_data_cfg, run_tool,
                     stripes_config, stripes_images, write_config)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS
from refusal_lines import refused_line

from mmadaptformer.models import plan_trainable
from mmadaptformer.utils import ConfigError, safe_torch_load

HOOK = ("custom_hooks = [dict(type='AdapterHook', "
        'adapter_only_checkpoint=True)]\n')
# The tiny config's ``neck=None`` is replaced, not merged into.
LINEAR_NECK = ("model['neck'] = dict(_delete_=True, type='LinearNeck', "
               'in_channels=64, out_channels=64)\n')
BN_NECK = ("model['neck'] = dict(_delete_=True, type='ClsBatchNormNeck', "
           'input_features=64)\n')


def _refusal(proc, error: str = 'ConfigError') -> str:
    refused_line(proc)
    out = proc.stdout
    return out[out.rindex(f'{error}: '):].strip()


@pytest.fixture(scope='module')
def backbone(tiny_image_data, tmp_path_factory) -> str:
    """A plain tiny ViT classifier trained for one epoch: the frozen
    backbone the adapters are trained on."""
    root = tmp_path_factory.mktemp('plain')
    cfg = write_config(root / 'plain.py', TINY_IMAGE_CONFIG,
                       image_data_cfg(tiny_image_data))
    run_tool([
        'train.py', cfg, '--work-dir', root / 'work', '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
             cwd=root)
    return str(root / 'work' / 'epoch_1.pth')


def _runner(cfg_path, work_dir, pretrained: str) -> Runner:
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    cfg.merge_from_dict(dict(train_cfg=dict(max_epochs=1, val_begin=2)))
    cfg.model.backbone.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    return Runner.from_cfg(cfg)


def _refused_option(tmp_path, cfg: str, backbone: str, option: str):
    """tools/train.py on ``cfg`` (work dir ``tmp_path/w``) with the
    pretrained ``backbone`` and ``--cfg-options option``, refused: the run
    and its refusal."""
    proc = run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'w', '--pretrained',
        backbone, '--cfg-options', option
    ],
                    cwd=tmp_path,
                    check=False)
    return proc, _refusal(proc)


def test_linear_neck_trains_with_the_head_and_tools_load_it(
        tmp_path, tiny_image_data, backbone, clean_loggers):
    """mmpretrain's LinearNeck (a random fc and a BatchNorm1d between
    backbone and head) trained, with its running statistics, is saved in
    the adapter-only checkpoint and restored by tools/test.py and
    tools/infer.py; it used to stay frozen at its initialisation."""
    cfg = stripes_config(tmp_path, tiny_image_data, LINEAR_NECK + HOOK)
    runner = _runner(cfg, tmp_path / 'work', backbone)
    runner.model.init_weights()
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    neck = {k for k in before if k.startswith('neck.')}
    assert {
        'neck.fc.weight', 'neck.norm.weight', 'neck.norm.running_mean',
        'neck.norm.running_var'
    } <= changed
    assert not any(k.startswith('backbone.backbone.') for k in changed)
    plan = next(h.plan for h in runner.hooks if hasattr(h, 'plan'))
    assert plan.groups['neck'] == [
        'neck.fc.weight', 'neck.fc.bias', 'neck.norm.weight', 'neck.norm.bias'
    ]

    ckpt = str(tmp_path / 'work' / 'epoch_1.pth')
    saved = safe_torch_load(ckpt, map_location='cpu')['state_dict']
    assert neck <= set(saved)
    assert torch.equal(saved['neck.norm.running_mean'],
                       after['neck.norm.running_mean'])
    assert not any(k.startswith('backbone.backbone.') for k in saved)

    pre = ['--pretrained', backbone]
    proc = run_tool(
        ['test.py', cfg, ckpt, '--work-dir', tmp_path / 'test', *pre],
        cwd=tmp_path)
    assert 'accuracy/top1' in proc.stdout, proc.stdout[-3000:]
    out = tmp_path / 'infer.json'
    run_tool([
        'infer.py', cfg, ckpt, *pre, *stripes_images(tiny_image_data), '--out',
        out
    ],
             cwd=tmp_path)
    assert out.exists()


def test_parameter_free_batch_norm_neck_updates_its_statistics(
        tmp_path, tiny_image_data, backbone, clean_loggers):
    """MAE's linear-probe neck, a BatchNorm without affine parameters: its
    running statistics are the neck's training; they stayed at 0 and 1.
    Naming it in extra_trainable says that buffers do not train."""
    cfg = stripes_config(tmp_path, tiny_image_data, BN_NECK + HOOK)
    runner = _runner(cfg, tmp_path / 'work', backbone)
    runner.train()
    bn = runner.model.neck.bn
    assert not torch.equal(bn.running_mean, torch.zeros_like(bn.running_mean))
    assert int(bn.num_batches_tracked) > 0

    _, text = _refused_option(tmp_path, cfg, backbone,
                              'custom_hooks.0.extra_trainable=[^neck\\.]')
    assert text.startswith(
        'ConfigError: --cfg-options custom_hooks.0.extra_trainable='
        "['^neck\\\\.']: AdapterHook extra_trainable pattern '^neck\\\\.' "
        "matches only buffers, ['neck.bn.running_mean'"), text
    assert 'which do not train' in text


def test_head_that_names_no_module_is_refused_in_one_line(
        tmp_path, tiny_image_data, backbone):
    """head=cls_head (the MMAction2 name) on an MMPretrain classifier
    trained 0 head parameters with loss 0.6931 and exit status 0."""
    cfg = stripes_config(tmp_path, tiny_image_data, HOOK)
    _, text = _refused_option(tmp_path, cfg, backbone,
                              'custom_hooks.0.head=cls_head')
    assert text.startswith(
        "ConfigError: --cfg-options custom_hooks.0.head='cls_head': "
        "AdapterHook head=['cls_head']: ImageClassifier builds no module of "
        'this name (model.head is its head)'), text
    assert "Did you mean 'head'?" in text, text
    assert not (tmp_path / 'w' / 'epoch_1.pth').exists()


def test_default_head_names_on_a_headless_model_are_refused():
    """A model whose head is not ``cls_head``/``head`` (or that has none)
    must say so: ``head=[]`` is the explicit way to train without one."""
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(TINY_IMAGE_CONFIG).model
    wrapper = MODELS.build(
        dict(
            type='AdaptFormer',
            backbone=cfg.backbone,
            adapter=dict(bottleneck=8)))
    with pytest.raises(
            ConfigError,
            match=r"head=\['cls_head', 'head'\]: AdaptFormer has "
            r'no module of these names.*head=\[\] for a model '
            'without a head'):
        plan_trainable(wrapper)
    plan = plan_trainable(wrapper, head=[])
    assert plan.head_name is None and plan.groups['adapters']


def test_linear_probe_with_adapters_is_refused_before_training(
        tmp_path, tiny_image_data, backbone):
    """The probe used to train on adapters frozen at their random
    initialisation, with exit status 0."""
    cfg = stripes_config(tmp_path, tiny_image_data, HOOK)
    proc, text = _refused_option(tmp_path, cfg, backbone,
                                 'custom_hooks.0.mode=linear_probe')
    assert text.startswith(
        "ConfigError: --cfg-options custom_hooks.0.mode='linear_probe': "
        "AdapterHook mode='linear_probe' trains the head (and "
        'its extra_trainable parameters) alone, but the model has 1 AdaptMLP '
        'adapter (e.g. backbone.'), text
    assert 'stay at their random initialisation' in text
    assert 'Use a config without adapters' in text
    assert 'Epoch(train)' not in proc.stdout


@pytest.mark.parametrize('option, start', [
    ('custom_hooks.0.extra_trainable=[^backbone\\.fcnorm\\.]',
     'ConfigError: --cfg-options custom_hooks.0.extra_trainable='
     "['^backbone\\\\.fcnorm\\\\.']: AdapterHook extra_trainable pattern "
     "'^backbone\\\\.fcnorm\\\\.' matches no parameter of ImageClassifier"),
    ('custom_hooks.0.mode=probe',
     "ConfigError: --cfg-options custom_hooks.0.mode='probe': AdapterHook "
     "mode='probe' is not one of ('adaptformer', 'linear_probe')"),
])
def test_argument_errors_are_one_line_refusals(tmp_path, tiny_image_data,
                                               backbone, option, start):
    cfg = stripes_config(tmp_path, tiny_image_data, HOOK)
    proc, text = _refused_option(tmp_path, cfg, backbone, option)
    assert text.startswith(start), proc.stdout[-2000:]


def test_adaptformer_mode_without_adapters_is_a_config_error():
    init_default_scope('mmpretrain')
    model = MODELS.build(Config.fromfile(TINY_IMAGE_CONFIG).model)
    with pytest.raises(
            ConfigError,
            match="mode='adaptformer' but the model "
            'has no AdaptMLP'):
        plan_trainable(model)
