# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdapterHook's warning about a paramwise_cfg that slows the adapters down,
on real MMEngine runners, and the fix it prints, applied as a user does."""
import contextlib
import logging
import re
from types import SimpleNamespace

import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     image_data_cfg, pretrained_cfg,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DATA_SAMPLERS, MODELS, init_default_scope
from mmengine.runner import Runner
from torch.utils.data import BatchSampler

from mmadaptformer.engine.lr_multipliers import (auto_scale_ratio,
                                                 custom_key_for)
from mmadaptformer.models import AdaptMLP
from mmadaptformer.utils.cfg_options import parse_option_value
from mmadaptformer.utils.cfg_options_merge import merge_cfg_options
from mmadaptformer.utils.config_place import giving_cfg_options

FIX_LINE = re.compile(r'^    (optim_wrapper = dict\(.*\))$', re.M)
OPTIONS_FIX = re.compile(r'add at the end of your --cfg-options:\n    (.*)$',
                         re.M)
# The tiny video config: SGD lr 0.05, batch 4; auto-scaled to a base batch
# of 8 (x 0.5) and warmed up from 0.1 x, so neither the group's current lr
# nor the config's lr is the lr a multiplier is relative to.
BASE_LR = 0.05 * 0.5
SCHEDULE = """
auto_scale_lr = dict(enable=True, base_batch_size=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='CosineAnnealingLR', T_max=2, eta_min=0., by_epoch=True)]
train_cfg = dict(max_epochs=1, val_begin=2)
"""
STOCK_CUSTOM_KEYS = ('optim_wrapper = dict(paramwise_cfg=dict(custom_keys='
                     'dict(backbone=dict(lr_mult=0.1))))\n')
# The stock Swin3D recipe of MMAction2 (swin-*-p244-w877_*_kinetics400).
STOCK_SWIN = """optim_wrapper = dict(
    constructor='SwinOptimWrapperConstructor',
    paramwise_cfg=dict(
        absolute_pos_embed=dict(decay_mult=0.),
        relative_position_bias_table=dict(decay_mult=0.),
        norm=dict(decay_mult=0.),
        backbone=dict(lr_mult=0.1)))
"""


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('pretrained') / 'stock.pth')
    save_stock_video_checkpoint(path, seed=0)
    return path


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def lr_warnings(self):
        return [
            r.getMessage() for r in self.records
            if r.levelno == logging.WARNING and 'AdaptFormer trains its '
            'adapters at the base lr' in r.getMessage()
        ]


def _train(cfg_path, work_dir, options=None):
    """Train one epoch; the runner and the lr warnings it logged. With
    ``options``, as tools/train.py runs with those ``--cfg-options``:
    merged into the config, and known to the refusals while it runs."""
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    if options is not None:
        merge_cfg_options(cfg, options)
    with giving_cfg_options(options) if options is not None else \
            contextlib.nullcontext():
        runner = Runner.from_cfg(cfg)
        records = _Records()
        runner.logger.addHandler(records)
        try:
            runner.train()
        finally:
            runner.logger.removeHandler(records)
    return runner, records.lr_warnings()


def _initial_lrs(runner):
    """``{parameter name: initial lr}`` of what the optimizer holds."""
    lr_of = {
        id(p): g['initial_lr']
        for g in runner.optim_wrapper.optimizer.param_groups
        for p in g['params']
    }
    return {
        n: lr_of[id(p)]
        for n, p in runner.model.named_parameters() if id(p) in lr_of
    }


def _all(lrs, expected):
    return all(v == pytest.approx(expected) for v in lrs.values())


def _parts(lrs):
    adapters = {n: v for n, v in lrs.items() if '.adaptmlp.' in n}
    head = {n: v for n, v in lrs.items() if n.startswith('cls_head.')}
    other = {n: v for n, v in lrs.items() if 'fc_norm' in n}
    assert len(adapters) == 8 and len(head) == 2 and len(other) == 2
    assert set(lrs) == set(adapters) | set(head) | set(other)
    return adapters, head, other


def _video_cfg(tmp_path, data, pretrained, name, extra):
    body = video_data_cfg(data) + pretrained_cfg(pretrained) + SCHEDULE
    return write_config(tmp_path / name, TINY_ADAPTFORMER_VIDEO_CONFIG,
                        body + extra)


@pytest.mark.parametrize(
    'stock, cause, fix',
    [(STOCK_CUSTOM_KEYS, "optim_wrapper.paramwise_cfg.custom_keys['backbone']"
      ' (lr_mult=0.1)', 'optim_wrapper = dict(paramwise_cfg=dict(custom_keys='
      'dict(backbone=dict(lr_mult=1.0))))'),
     (STOCK_SWIN, "optim_wrapper.paramwise_cfg['backbone'] (lr_mult=0.1, "
      'SwinOptimWrapperConstructor)',
      'optim_wrapper = dict(paramwise_cfg=dict(backbone=dict(lr_mult=1.0)))')],
    ids=['custom_keys', 'swin_constructor'])
def test_backbone_lr_mult_is_named_and_the_printed_fix_works(
        tmp_path, tiny_video_data, pretrained, clean_loggers, stock, cause,
        fix):
    # A stock recipe's backbone multiplier: it reaches only the adapters and
    # fc_norm, the trainable tensors inside the frozen backbone.
    cfg = _video_cfg(tmp_path, tiny_video_data, pretrained, 'stock.py', stock)
    runner, warnings = _train(cfg, tmp_path / 'stock')
    assert len(warnings) == 1, warnings
    message = warnings[0]
    assert message.startswith(
        'AdapterHook: 8 adapter tensors train at 0.1x and 2 extra_trainable '
        'tensors train at 0.1x the base lr (optim_wrapper.optimizer.lr=0.05 '
        'x 0.5 by auto_scale_lr; the head at 1x)'), message
    assert f'Likely cause: {cause}.' in message
    assert FIX_LINE.findall(message) == [fix]
    # The hook only warns: the lr stays as configured.
    adapters, head, other = _parts(_initial_lrs(runner))
    assert _all(head, BASE_LR)
    assert _all(adapters, 0.1 * BASE_LR) and _all(other, 0.1 * BASE_LR)

    # The printed line, added to the config: the base lr, no warning.
    cfg = _video_cfg(tmp_path, tiny_video_data, pretrained, 'fixed.py',
                     stock + fix + '\n')
    runner, warnings = _train(cfg, tmp_path / 'fixed')
    assert warnings == []
    lrs = _initial_lrs(runner)
    assert _all(lrs, BASE_LR), lrs
    # And the adapters trained at it.
    assert all(m.up_proj.weight.abs().sum() > 0
               for m in runner.model.modules() if isinstance(m, AdaptMLP))


def test_no_warning_when_adapters_train_at_the_heads_lr(
        tmp_path, tiny_video_data, pretrained, clean_loggers):
    # Auto-scaling and the warm-up change every lr alike: no warning.
    cfg = _video_cfg(tmp_path, tiny_video_data, pretrained, 'plain.py', '')
    runner, warnings = _train(cfg, tmp_path / 'plain')
    assert warnings == []
    assert _all(_initial_lrs(runner), BASE_LR)

    # OneCycleLR sets one initial lr for every group, which undoes the
    # backbone multiplier: the adapters do train at the head's lr, so
    # there is nothing to warn about, although no lr is the base lr.
    one_cycle = ("param_scheduler = [dict(type='OneCycleLR', "
                 'eta_max=0.1, total_steps=2, by_epoch=False)]\n')
    cfg = _video_cfg(tmp_path, tiny_video_data, pretrained, 'cycle.py',
                     STOCK_CUSTOM_KEYS + one_cycle)
    runner, warnings = _train(cfg, tmp_path / 'cycle')
    assert warnings == []
    assert _all(_initial_lrs(runner), 0.1 / 25)


def test_layer_wise_decay_is_named(tmp_path, tiny_image_data, clean_loggers):
    """MMPretrain's layer-wise lr decay: the adapters of the 2 blocks train
    at 0.25x and 0.5x; the fix is the decay rate 1."""
    body = image_data_cfg(tiny_image_data) + """
model = dict(backbone=dict(_delete_=True, type='AdaptFormer',
                           backbone={{_base_.model.backbone}},
                           adapter=dict(bottleneck=8, scale=0.1)))
custom_hooks = [dict(type='AdapterHook', allow_random_backbone=True)]
train_cfg = dict(max_epochs=1, val_begin=2)
optim_wrapper = dict(constructor='LearningRateDecayOptimWrapperConstructor',
                     paramwise_cfg=dict(layer_decay_rate=0.5))
"""
    cfg = write_config(tmp_path / 'decay.py', TINY_IMAGE_CONFIG, body)
    _, warnings = _train(cfg, tmp_path / 'decay')
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        'AdapterHook: 8 adapter tensors train at 0.25x (4), 0.5x (4) the '
        'base lr'), warnings[0]
    assert 'Likely cause: layer-wise lr decay (optim_wrapper.paramwise_cfg.' \
        'layer_decay_rate=0.5, LearningRateDecayOptimWrapperConstructor).' \
        in warnings[0]
    fix = FIX_LINE.findall(warnings[0])
    assert fix == [
        'optim_wrapper = dict(paramwise_cfg=dict('
        'layer_decay_rate=1.0))'
    ]
    cfg = write_config(tmp_path / 'fixed.py', TINY_IMAGE_CONFIG,
                       body + fix[0] + '\n')
    _, warnings = _train(cfg, tmp_path / 'fixed')
    assert warnings == []


BACKBONE_MULT = 'optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult'


@pytest.mark.parametrize(
    'options, cause',
    [({
        BACKBONE_MULT: 0.1
    }, f'--cfg-options {BACKBONE_MULT}=0.1'),
     ({
         'optim_wrapper.paramwise_cfg':
         dict(custom_keys=dict(backbone=dict(lr_mult=0.1)))
     }, f'{BACKBONE_MULT} = 0.1, set by --cfg-options '
      "optim_wrapper.paramwise_cfg={'custom_keys': {'backbone': "
      "{'lr_mult': 0.1}}}")],
    ids=['the_key', 'a_dict_above_it'])
def test_a_lr_mult_given_by_cfg_options_is_named_and_fixed_there(
        tmp_path, tiny_video_data, pretrained, clean_loggers, options, cause):
    """A backbone multiplier that ``--cfg-options`` gave: the warning named
    the config file's key and told to add a config line, which the option,
    merged after the file, overrides; it names the option now, and prints
    options that fix it."""
    cfg = _video_cfg(tmp_path, tiny_video_data, pretrained, 'plain.py', '')
    runner, warnings = _train(cfg, tmp_path / 'given', options)
    assert len(warnings) == 1, warnings
    message = warnings[0]
    assert f'Likely cause: {cause}.' in message, message
    assert FIX_LINE.findall(message) == [], message
    fix = OPTIONS_FIX.findall(message)
    assert fix == [f'{BACKBONE_MULT}=1.0'], message
    adapters, head, other = _parts(_initial_lrs(runner))
    assert _all(adapters, 0.1 * BASE_LR) and _all(head, BASE_LR)

    # The printed options, added at the end of the user's: the base lr.
    fixed = dict(options)
    for entry in fix[0].split():
        key, value = entry.split('=', 1)
        fixed[key] = parse_option_value(value)
    runner, warnings = _train(cfg, tmp_path / 'fixed', fixed)
    assert warnings == []
    assert _all(_initial_lrs(runner), BASE_LR)


def test_a_config_rule_in_a_tools_run_is_still_the_files(
        tmp_path, tiny_video_data, pretrained, clean_loggers):
    """Guard of kept behaviour: in a tool's run whose options did not set
    the multiplier, the cause and the fix are the config file's."""
    cfg = _video_cfg(tmp_path, tiny_video_data, pretrained, 'stock.py',
                     STOCK_CUSTOM_KEYS)
    _, warnings = _train(cfg, tmp_path / 'stock', {'train_cfg.max_epochs': 1})
    assert len(warnings) == 1, warnings
    assert 'Likely cause: optim_wrapper.paramwise_cfg.custom_keys' \
        "['backbone'] (lr_mult=0.1)." in warnings[0]
    assert FIX_LINE.findall(warnings[0]) == [
        'optim_wrapper = dict(paramwise_cfg=dict(custom_keys='
        'dict(backbone=dict(lr_mult=1.0))))'
    ]


def test_auto_scale_ratio_under_a_batch_sampler_is_mmengines(
        tmp_path, tiny_video_data, pretrained, clean_loggers):
    """Under a ``batch_sampler`` the train DataLoader's batch_size is None:
    the ratio was taken as 1 without a word, while MMEngine scaled the lr
    by 0.5 (the config's batch 4 over 8), and the warning said the
    adapters train at 0.05x, the head at 0.5x."""
    DATA_SAMPLERS.register_module(
        name='OptimCheckBatchSampler', module=BatchSampler, force=True)
    sampler = ("train_dataloader['batch_sampler'] = dict("
               "type='OptimCheckBatchSampler', drop_last=False)\n")
    cfg = _video_cfg(tmp_path, tiny_video_data, pretrained, 'sampler.py',
                     STOCK_CUSTOM_KEYS + sampler)
    runner, warnings = _train(cfg, tmp_path / 'sampler')
    assert runner.train_dataloader.batch_size is None
    assert auto_scale_ratio(runner) == 0.5
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        'AdapterHook: 8 adapter tensors train at 0.1x and 2 extra_trainable '
        'tensors train at 0.1x the base lr (optim_wrapper.optimizer.lr=0.05 '
        'x 0.5 by auto_scale_lr; the head at 1x)'), warnings[0]


@pytest.mark.parametrize(
    'auto_scale_lr, loader, error',
    [(dict(enable=True), None, 'has no base_batch_size'),
     (dict(enable=True, base_batch_size=8),
      SimpleNamespace(batch_size=None, batch_sampler=None), 'batch size that '
      'Runner.scale_lr scaled the lr by cannot be read')],
    ids=['no_base_batch_size', 'no_batch_size'])
def test_auto_scale_ratio_it_cannot_read_is_an_error(auto_scale_lr, loader,
                                                     error):
    """A ratio it cannot read was taken as 1 (a bare ``except``), which
    made every multiplier the warning names wrong; it is an error now.
    MMEngine's own ``scale_lr`` fails on both before the hook runs, so
    only a direct call meets them: a stand-in Runner."""
    runner = SimpleNamespace(
        auto_scale_lr=auto_scale_lr,
        cfg=Config(),
        world_size=1,
        train_dataloader=loader)
    with pytest.raises(ValueError, match=error):
        auto_scale_ratio(runner)


@pytest.fixture(scope='module')
def tiny_model():
    init_default_scope('mmaction')
    return MODELS.build(Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model)


@pytest.mark.parametrize(
    'custom_keys, adapter_mult',
    [
        # Equal lengths: alphabetical order, so 'adaptmlp' wins.
        (dict(backbone=0.1, adaptmlp=1.0), 1.0),
        (dict(backbone=0.1, adaptmlp=1.0, blocks=0.3), 1.0),
        # The longer key wins, whatever the order in the dict.
        ({
            'backbone.backbone': 0.1,
            'adaptmlp': 1.0
        }, 0.1),
        ({
            'adaptmlp': 1.0,
            'backbone.backbone': 0.1
        }, 0.1),
        ({
            'backbone.backbone': 0.1,
            '.adaptmlp.': 1.0
        }, 0.1),
        ({
            'backbone.blocks': 0.1,
            '.adaptmlp.': 1.0
        }, 0.1),
        ({
            'backbone': 0.1,
            '.adaptmlp.': 1.0
        }, 1.0),
        (dict(zzzzzzzz=0.1, adaptmlp=1.0, ckbone=0.2), 1.0),
        (dict(backbone=0.1), 0.1),
    ])
def test_custom_key_for_is_mmengines_order(tiny_model, custom_keys,
                                           adapter_mult):
    """``custom_key_for`` picks the entry MMEngine's constructor applies,
    which is what the printed fixes rely on."""
    model = tiny_model
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='SGD', lr=1.0),
            paramwise_cfg=dict(custom_keys={
                k: dict(lr_mult=v)
                for k, v in custom_keys.items()
            })))
    lr_of = {
        id(p): g['lr']
        for g in wrapper.optimizer.param_groups for p in g['params']
    }
    names = [n for n, _ in model.named_parameters()]
    for name, param in model.named_parameters():
        key = custom_key_for(name, custom_keys)
        expected = custom_keys[key] if key else 1.0
        assert lr_of[id(param)] == pytest.approx(expected), (name, key)
    adapters = [n for n in names if '.adaptmlp.' in n]
    assert _all(
        {
            n: lr_of[id(p)]
            for n, p in model.named_parameters() if n in adapters
        }, adapter_mult)


def test_an_adaptmlp_entry_is_no_fix_for_the_swin_constructor(tiny_model):
    """What the README says of the alternative fix: MMAction2's
    SwinOptimWrapperConstructor multiplies every matching key, so an
    ``adaptmlp`` entry of 1.0 leaves the adapters at the backbone's 0.1."""
    init_default_scope('mmaction')
    paramwise = dict(backbone=dict(lr_mult=0.1), adaptmlp=dict(lr_mult=1.0))
    for extra in ({}, dict(custom_keys=dict(adaptmlp=dict(lr_mult=1.0)))):
        wrapper = build_optim_wrapper(
            tiny_model,
            dict(
                optimizer=dict(type='SGD', lr=1.0),
                constructor='SwinOptimWrapperConstructor',
                paramwise_cfg=dict(paramwise, **extra)))
        lr_of = {
            id(p): g['lr']
            for g in wrapper.optimizer.param_groups for p in g['params']
        }
        assert _all(
            {
                n: lr_of[id(p)]
                for n, p in tiny_model.named_parameters() if '.adaptmlp.' in n
            }, 0.1)
