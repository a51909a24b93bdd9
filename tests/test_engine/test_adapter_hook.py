# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdapterHook on real MMEngine runners, real video files and real CLIs."""
import json
import os.path as osp
import pickle
import re

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     pretrained_cfg, run_ranks, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.optim import build_optim_wrapper
from mmengine.registry import HOOKS, MODELS, init_default_scope
from mmengine.runner import Runner
from tool_runners import free_port
from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY, restrict_optimizer
from mmadaptformer.models import (FROZEN_HOST_KEY, AdaptMLP,
                                  frozen_batch_norms, plan_trainable)
from mmadaptformer.utils import safe_torch_load

# The tiny config: 2 blocks of width 64, bottleneck 8, 2 classes.
ADAPTER_PARAMS = 2 * (64 * 8 + 8 + 8 * 64 + 64)
ADAPTER_KEYS = {
    f'backbone.blocks.{i}.adaptmlp.{proj}.{kind}'
    for i in range(2) for proj in ('down_proj', 'up_proj')
    for kind in ('weight', 'bias')
}
HEAD_PARAM_KEYS = {'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'}
HEAD_BUFFER_KEYS = {
    'cls_head.bn.running_mean', 'cls_head.bn.running_var',
    'cls_head.bn.num_batches_tracked'
}
FC_NORM_KEYS = {'backbone.fc_norm.weight', 'backbone.fc_norm.bias'}
# The fingerprints of the frozen backbone, which the wrapper checks on load.
FROZEN_ENTRY = {'backbone.' + FROZEN_HOST_KEY}


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    root = tmp_path_factory.mktemp('pretrained')
    path = str(root / 'stock.pth')
    other = str(root / 'other.pth')
    state = save_stock_video_checkpoint(path, seed=0)
    save_stock_video_checkpoint(other, seed=1)
    return dict(path=path, other=other, state=state)


def _cfg_file(tmp_path, data, pretrained_path, extra=''):
    body = video_data_cfg(data) + pretrained_cfg(pretrained_path) + extra
    return write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                        body)


def _runner(cfg_path, work_dir, **overrides):
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    cfg.merge_from_dict(overrides)
    return Runner.from_cfg(cfg)


def _assert_optimizer_and_frozen_weights(runner, pretrained_state):
    """The optimizer holds exactly the trainable parameters, and the frozen
    backbone weights are exactly the pretrained ones."""
    model = runner.model
    in_optimizer = {
        id(p)
        for group in runner.optim_wrapper.optimizer.param_groups
        for p in group['params']
    }
    assert in_optimizer == {
        id(p)
        for p in model.parameters() if p.requires_grad
    }
    state = model.state_dict()
    for key, value in pretrained_state.items():
        if key.startswith('backbone.') and key not in FC_NORM_KEYS:
            assert torch.equal(state[key], value), key


def test_hook_freezes_reports_guards_and_saves_adapter_only(
        tmp_path, tiny_video_data, pretrained, clean_loggers):
    cfg = _cfg_file(tmp_path, tiny_video_data, pretrained['path'])
    runner = _runner(cfg, tmp_path / 'work')
    runner.train()
    model = runner.model

    trainable = {
        k
        for k, p in model.state_dict(keep_vars=True).items()
        if isinstance(p, torch.nn.Parameter) and p.requires_grad
    }
    assert trainable == ADAPTER_KEYS | HEAD_PARAM_KEYS | FC_NORM_KEYS
    _assert_optimizer_and_frozen_weights(runner, pretrained['state'])
    # The adapters trained.
    state = model.state_dict()
    for adapter in (m for m in model.modules() if isinstance(m, AdaptMLP)):
        assert adapter.up_proj.weight.abs().sum() > 0

    # The table in the log.
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert re.search(rf'adapters\s+{ADAPTER_PARAMS:,}\s+8', log)
    assert re.search(r'head\s+130\s+2', log)
    assert re.search(r'other\s+128\s+2', log)

    # The checkpoint holds the trainable parts and their buffers only.
    ckpt = safe_torch_load(str(tmp_path / 'work' / 'epoch_2.pth'))
    assert set(ckpt['state_dict']) == (
        ADAPTER_KEYS | HEAD_PARAM_KEYS
        | HEAD_BUFFER_KEYS | FC_NORM_KEYS
        | FROZEN_ENTRY)
    entry = ckpt['state_dict'].pop('backbone.' + FROZEN_HOST_KEY)
    # One fingerprint per frozen backbone tensor (fc_norm trains), and the
    # pretrained file it was trained on.
    frozen = {
        k[len('backbone.'):]
        for k in pretrained['state'] if k.startswith('backbone.')
    } - {k[len('backbone.'):]
         for k in FC_NORM_KEYS}
    assert set(entry['fingerprints']) == frozen
    assert entry['pretrained'] == pretrained['path']
    info = ckpt['meta'][ADAPTER_META_KEY]
    assert info['mode'] == 'adaptformer' and len(info['frozen_digest']) == 64
    assert 'optimizer' in ckpt and 'message_hub' in ckpt
    saved = sum(v.numel() for v in ckpt['state_dict'].values())
    total = sum(v.numel() for v in state.values())
    assert saved < 0.03 * total


def test_compiled_train_step_trains_as_eager(tmp_path, tiny_video_data,
                                             pretrained, clean_loggers):
    """MMEngine's ``compile`` key (``torch.compile`` of ``train_step``,
    as a GPU user sets it) with the hooks on: TorchDynamo traces the model
    with its adapters, and the trained tensors equal those of the
    uncompiled step within 1e-7 (bit-identical on torch 2.14; 3.7e-9 apart
    on torch 2.11). The ``eager`` backend keeps the test to the tracing
    (inductor's C++ build takes minutes here; run by hand it agreed within
    7e-7)."""
    torch._dynamo.reset()
    cfg = _cfg_file(tmp_path, tiny_video_data, pretrained['path'])
    states = []
    for name, extra in (('eager', {}), ('compiled', {
            'compile': dict(backend='eager')
    })):
        runner = _runner(
            cfg, tmp_path / name, train_cfg=dict(max_epochs=1), **extra)
        runner.train()
        states.append(runner.model.state_dict())
        if extra:
            # The step really went through TorchDynamo.
            step = runner.model.train_step
            assert hasattr(step, '_torchdynamo_orig_callable')
        _assert_optimizer_and_frozen_weights(runner, pretrained['state'])
    assert states[0].keys() == states[1].keys()
    changed = [
        k for k in states[0]
        if not torch.allclose(states[0][k], states[1][k], rtol=0, atol=1e-7)
    ]
    assert not changed, changed
    # The adapters did train.
    assert states[1]['backbone.blocks.0.adaptmlp.up_proj.weight'].abs().sum(
    ) > 0


@HOOKS.register_module(force=True)
class _CorruptFrozenWeightHook(Hook):
    """Changes a frozen weight behind the optimizer's back."""

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        with torch.no_grad():
            runner.model.backbone.backbone.blocks[1].attn.proj.weight[0,
                                                                      0] += 1


def test_guard_stops_training_when_a_frozen_weight_changes(
        tmp_path, tiny_video_data, pretrained, clean_loggers):
    cfg = _cfg_file(tmp_path, tiny_video_data, pretrained['path'])
    runner = _runner(
        cfg,
        tmp_path / 'work',
        custom_hooks=[
            dict(type='AdapterHook', extra_trainable=[r'^backbone\.fc_norm']),
            dict(type='_CorruptFrozenWeightHook')
        ])
    with pytest.raises(
            RuntimeError,
            match=r'1 frozen tensors changed during epoch 1.*'
            r'backbone\.blocks\.1\.attn\.proj\.weight'):
        runner.train()


def test_linear_probe_trains_only_the_head(tmp_path, tiny_video_data,
                                           clean_loggers):
    # A random frozen backbone on purpose: only what trains matters here.
    body = video_data_cfg(tiny_video_data) + (
        "custom_hooks = [dict(type='AdapterHook', mode='linear_probe', "
        'allow_random_backbone=True)]\n')
    cfg = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG, body)
    runner = _runner(cfg, tmp_path / 'work', train_cfg=dict(max_epochs=1))
    # Initialise now (train() then skips it) to see what training changes.
    runner.model.init_weights()
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'}


def test_bad_extra_trainable_pattern_is_named(tmp_path, tiny_video_data,
                                              pretrained, clean_loggers):
    cfg = _cfg_file(tmp_path, tiny_video_data, pretrained['path'])
    runner = _runner(
        cfg,
        tmp_path / 'work',
        custom_hooks=[
            dict(type='AdapterHook', extra_trainable=[r'^backbone\.prompt'])
        ])
    with pytest.raises(ValueError, match=r"'\^backbone\\\\.prompt'"):
        runner.train()


def test_adapter_only_resume_test_merge_extract(tmp_path, tiny_video_data,
                                                pretrained):
    cfg = _cfg_file(tmp_path, tiny_video_data, pretrained['path'])
    work = tmp_path / 'work'
    run_tool(['train.py', cfg, '--work-dir', work, '--seed', '0'],
             cwd=tmp_path)
    ckpt2 = safe_torch_load(str(work / 'epoch_2.pth'))

    # Resume from the adapter-only checkpoint: frozen weights come from the
    # config's pretrained path.
    proc = run_tool([
        'train.py', cfg, '--work-dir', work, '--resume', '--cfg-options',
        'train_cfg.max_epochs=3'
    ],
                    cwd=tmp_path)
    assert 'resumed epoch: 2, iter: 4' in proc.stdout
    ckpt3 = safe_torch_load(str(work / 'epoch_3.pth'))
    assert set(ckpt3['state_dict']) == set(ckpt2['state_dict'])
    assert (ckpt3['meta'][ADAPTER_META_KEY]['frozen_digest'] == ckpt2['meta']
            [ADAPTER_META_KEY]['frozen_digest'])
    assert not torch.equal(
        ckpt3['state_dict']['backbone.blocks.0.adaptmlp.up_proj.weight'],
        ckpt2['state_dict']['backbone.blocks.0.adaptmlp.up_proj.weight'])

    # Test with pretrained backbone + adapters.
    run_tool([
        'test.py', cfg, work / 'epoch_3.pth', '--work-dir', tmp_path / 't1',
        '--dump', tmp_path / 'adapter_preds.pkl'
    ],
             cwd=tmp_path)

    # Merge into one full checkpoint; it gives the same predictions.
    merged = tmp_path / 'merged.pth'
    run_tool([
        'model_converters/merge_adapters.py', cfg, work / 'epoch_3.pth', merged
    ],
             cwd=tmp_path)
    full = safe_torch_load(str(merged))
    assert ADAPTER_META_KEY not in full['meta']
    for key, value in pretrained['state'].items():
        if key.startswith('backbone.') and key not in FC_NORM_KEYS:
            assert torch.equal(full['state_dict'][key], value), key
    run_tool([
        'test.py', cfg, merged, '--work-dir', tmp_path / 't2', '--dump',
        tmp_path / 'merged_preds.pkl'
    ],
             cwd=tmp_path)
    with open(tmp_path / 'adapter_preds.pkl', 'rb') as f:
        a = pickle.load(f)
    with open(tmp_path / 'merged_preds.pkl', 'rb') as f:
        b = pickle.load(f)
    assert len(a) == len(b) == 8
    for x, y in zip(a, b):
        assert torch.equal(x['pred_score'], y['pred_score'])

    # Extract the adapters back out of the merged checkpoint.
    extracted = tmp_path / 'extracted.pth'
    run_tool(['model_converters/extract_adapters.py', cfg, merged, extracted],
             cwd=tmp_path)
    small = safe_torch_load(str(extracted))
    assert set(small['state_dict']) == set(ckpt3['state_dict'])
    for key, value in ckpt3['state_dict'].items():
        if key in FROZEN_ENTRY:
            assert small['state_dict'][key]['fingerprints'] == \
                value['fingerprints']
        else:
            assert torch.equal(small['state_dict'][key], value), key
    assert (small['meta'][ADAPTER_META_KEY]['frozen_digest'] == ckpt3['meta']
            [ADAPTER_META_KEY]['frozen_digest'])
    assert osp.getsize(extracted) < osp.getsize(merged) / 5

    # On another backbone the adapters are refused, clearly.
    proc = run_tool([
        'test.py', cfg, work / 'epoch_3.pth', '--work-dir', tmp_path / 't3',
        '--cfg-options',
        f'model.backbone.backbone.init_cfg.checkpoint={pretrained["other"]}'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode != 0
    assert 'trained on a different frozen backbone' in proc.stdout


def test_hook_under_two_process_cpu_ddp(tmp_path, tiny_video_data, pretrained):
    extra = ("custom_imports = dict(imports=['mmadaptformer', "
             "'mmadaptformer.testing.probes'], allow_failed_imports=False)\n"
             "custom_hooks = [dict(type='AdapterHook', extra_trainable=["
             "r'^backbone\\.fc_norm\\.'], adapter_only_checkpoint=True), "
             "dict(type='DistProbeHook')]\n")
    cfg = _cfg_file(tmp_path, tiny_video_data, pretrained['path'], extra)
    work = tmp_path / 'work'
    proc = run_ranks(['train.py', cfg, '--work-dir', work, '--seed', '0'],
                     2,
                     cwd=tmp_path,
                     port=free_port(),
                     timeout=400)
    assert 'rebuilt the DDP wrapper' in proc.stdout
    probes = [
        json.load(open(work / f'dist_probe_rank{r}.json')) for r in range(2)
    ]
    assert all(p['world_size'] == 2 for p in probes)
    first, last = (probes[0]['steps'][i]['weights'] for i in (0, -1))
    for step in range(len(probes[0]['steps'])):
        # Different shards, identical weights: trainable gradients averaged.
        assert probes[0]['steps'][step]['weights'] == probes[1]['steps'][step][
            'weights']
    names = {k.replace('backbone.backbone.', 'backbone.') for k in first}
    assert ADAPTER_KEYS <= names
    for key in first:
        outer = key.replace('backbone.backbone.', 'backbone.')
        if outer in ADAPTER_KEYS | {'cls_head.fc_cls.weight'}:
            assert first[key] != last[key], key  # trained
        elif outer not in FC_NORM_KEYS | HEAD_PARAM_KEYS:
            assert first[key] == last[key], key  # frozen
            assert first[key] == float(
                pretrained['state'][outer].double().sum()), key
    ckpt = safe_torch_load(str(work / 'epoch_2.pth'))
    assert set(ckpt['state_dict']) == (
        ADAPTER_KEYS | HEAD_PARAM_KEYS
        | HEAD_BUFFER_KEYS | FC_NORM_KEYS
        | FROZEN_ENTRY)


@HOOKS.register_module(force=True)
class _RecordAdapterDtypeHook(Hook):
    """Records the dtype an adapter computes in during training (the
    validation loop runs without autocast)."""

    dtypes = set()

    def before_train(self, runner):
        adapter = next(m for m in runner.model.modules()
                       if isinstance(m, AdaptMLP))
        adapter.register_forward_hook(
            lambda module, args, output: module.training and type(
                self).dtypes.add(output.dtype))


def test_hook_under_cpu_bf16_amp_with_resume(tmp_path, tiny_video_data,
                                             pretrained, clean_loggers):
    cfg = _cfg_file(tmp_path, tiny_video_data, pretrained['path'])
    amp = dict(type='CPUAmpOptimWrapper', dtype='bfloat16')
    hooks = [
        dict(
            type='AdapterHook',
            extra_trainable=[r'^backbone\.fc_norm'],
            adapter_only_checkpoint=True),
        dict(type='_RecordAdapterDtypeHook')
    ]
    _RecordAdapterDtypeHook.dtypes.clear()
    runner = _runner(
        cfg, tmp_path / 'work', optim_wrapper=amp, custom_hooks=hooks)
    runner.train()
    model = runner.model
    assert type(runner.optim_wrapper).__name__ == 'CPUAmpOptimWrapper'
    # The adapters ran under bfloat16 autocast; the weights stay float32.
    assert _RecordAdapterDtypeHook.dtypes == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in model.parameters())
    _assert_optimizer_and_frozen_weights(runner, pretrained['state'])
    ckpt2 = safe_torch_load(str(tmp_path / 'work' / 'epoch_2.pth'))
    assert set(ckpt2['state_dict']) == (
        ADAPTER_KEYS | HEAD_PARAM_KEYS
        | HEAD_BUFFER_KEYS | FC_NORM_KEYS
        | FROZEN_ENTRY)

    # Resume the adapter-only checkpoint under AMP: the frozen weights come
    # from the config's pretrained path and the digest still matches.
    runner = _runner(
        cfg,
        tmp_path / 'work',
        optim_wrapper=amp,
        custom_hooks=hooks,
        resume=True,
        train_cfg=dict(max_epochs=3))
    runner.train()
    assert runner.iter == 6
    ckpt3 = safe_torch_load(str(tmp_path / 'work' / 'epoch_3.pth'))
    assert (ckpt3['meta'][ADAPTER_META_KEY]['frozen_digest'] == ckpt2['meta']
            [ADAPTER_META_KEY]['frozen_digest'])
    key = 'backbone.blocks.0.adaptmlp.up_proj.weight'
    assert not torch.equal(ckpt3['state_dict'][key], ckpt2['state_dict'][key])

    # The guard still catches a frozen weight changed behind its back.
    runner = _runner(
        cfg,
        tmp_path / 'work_corrupt',
        optim_wrapper=amp,
        custom_hooks=hooks[:1] + [dict(type='_CorruptFrozenWeightHook')])
    with pytest.raises(RuntimeError, match=r'1 frozen tensors changed'):
        runner.train()


def test_restrict_optimizer_keeps_only_trainable_tensors():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4),
            paramwise_cfg=dict(bias_decay_mult=0.0)))
    assert len(wrapper.optimizer.param_groups) == 4
    trainable = list(model[1].parameters())
    restrict_optimizer(wrapper, trainable)
    held = [p for g in wrapper.optimizer.param_groups for p in g['params']]
    assert [id(p) for p in held] == [id(p) for p in trainable]
    # The per-parameter settings of the kept tensors are unchanged.
    assert [
        g['weight_decay'] for g in wrapper.optimizer.param_groups
        if g['params']
    ] == [1e-4, 0.0]
    # A trainable tensor the optimizer lacks is an error, not a no-op.
    with pytest.raises(
            RuntimeError,
            match='1 trainable parameter tensors '
            'are not in the optimizer'):
        restrict_optimizer(wrapper, trainable + [model[0].weight])


def test_frozen_batch_norms_keep_their_statistics(tmp_path, tiny_video_data,
                                                  clean_loggers):
    """UniFormer's convolution stages hold batch norms: frozen, they stay in
    eval mode while the adapters train, so the frozen-weight check passes.
    The batch norm of the recipes' BNLinearHead is the head's: it trains."""
    cfg_path = write_config(
        tmp_path / 'uniformer.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + """
model = dict(
    backbone=dict(backbone=dict(
        _delete_=True, type='UniFormer', depth=[1, 1, 1, 1],
        embed_dim=[16, 16, 32, 64], head_dim=16, img_size=32)),
    cls_head=dict(_delete_=True, type='I3DHead', in_channels=64,
                  num_classes=2))
custom_hooks = [dict(type='AdapterHook', allow_random_backbone=True)]
train_cfg = dict(max_epochs=1, val_begin=2)
""")
    runner = _runner(cfg_path, tmp_path / 'work')
    model = runner.model
    stats = {
        name: module.running_mean.clone()
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.BatchNorm3d)
    }
    assert len(stats) >= 4
    runner.train()
    for name, module in model.named_modules():
        if name in stats:
            assert torch.equal(module.running_mean, stats[name]), name

    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model)
    plan = plan_trainable(model)
    assert isinstance(model.cls_head.bn, nn.BatchNorm1d)
    assert frozen_batch_norms(model, plan) == []
