# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check's speed checks: the training benchmark of the paper's
setting, the official AdaptFormer code's step as a baseline row, and a
profile of the AdaptFormer step."""
import importlib
import json
import os.path as osp
import statistics
import sys
from argparse import Namespace
from functools import partial
from types import ModuleType, SimpleNamespace

import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from torch.autograd import DeviceType

from ...models import apply_trainable, plan_trainable
from ..cuda_api import PROFILE_SELF_TIME, cuda_api, is_cuda, synchronize
from ..inputs import (input_spec, load_config, model_cfg_for, num_classes_of,
                      optim_wrapper_cfg_for, synthetic_batch)
from ..memory import PeakMemory, memory_fields
from ..official_vit import OfficialVideoViT
from ..utilisation import timed
from .commands import python_tool, run_command
from .goals import datasheet_peak
from .verdict import SkipCheck, Verdict


def _speed_args(ctx: dict) -> Namespace:
    speed = ctx['speed']
    return Namespace(
        config=speed['config'],
        cfg_options=None,
        batch_size=speed.get('batch_size'),
        num_frames=speed.get('num_frames'),
        img_size=speed.get('img_size'),
        no_fused_attn=False,
        no_contiguous_tokens=False,
        with_cp=False)


def check_benchmark(ctx: dict) -> dict:
    """``benchmark_train.py`` of the speed config on the device with the
    modes adaptformer, full_ft, linear_probe and adaptformer_plain under
    each autocast dtype: step time (wall-clock), clips/s, memory, FLOPs,
    the utilisation of the measured matmul, MFU against the datasheet peak
    of a GPU in :data:`DATASHEET_PEAK_TFLOPS`, and ratios to full
    fine-tuning (``benchmark.json`` and ``benchmark.png`` in the output
    folder).

    Args:
        ctx (dict): The check context (``speed``: ``config``,
            ``batch_size``, ``amp``, ``modes``, ``iters``, ``warmup`` and
            optionally ``num_frames``, ``img_size``, ``matmul_size``).

    Returns:
        dict: :meth:`Verdict.to_dict`; ``details`` holds the rows.
    """
    verdict, speed = Verdict(), ctx['speed']
    out = osp.join(ctx['out_dir'], 'benchmark.json')
    argv = [
        speed['config'], '--device', ctx['device'], '--modes', *speed['modes'],
        '--amp', *speed['amp'], '--iters', speed['iters'], '--warmup',
        speed['warmup'], '--out', out, '--plot',
        osp.join(ctx['out_dir'], 'benchmark.png')
    ]
    for key in ('batch_size', 'num_frames', 'matmul_size'):
        if speed.get(key):
            argv += [f'--{key.replace("_", "-")}', speed[key]]
    if speed.get('img_size'):
        argv += ['--img-size', *speed['img_size']]
    peak = datasheet_peak(ctx['device'], ctx.get('peak_tflops'))
    if peak['peak_tflops']:
        argv += ['--peak-tflops'] + [
            f'{amp}={tflops}' for amp, tflops in peak['peak_tflops'].items()
        ]
    code, log = run_command(
        python_tool('analysis_tools/benchmark_train.py', *argv),
        osp.join(ctx['out_dir'], 'logs', 'benchmark.log'),
        ctx.get('command_timeout', 400))
    if not verdict.expect('benchmark_train.py exit code', code, '==', 0):
        verdict.details['log_tail'] = log[-3000:]
        return verdict.to_dict()
    with open(out) as f:
        result = json.load(f)

    def median(table, field):
        return (table.get(field) or {}).get('median')

    rows = {}
    for row, summary in result['modes'].items():
        ratio = result['ratios_to_full_ft'].get(row, {})
        rows[row] = dict(
            step_ms=1e3 * summary['step_s']['median'],
            throughput=summary['train_throughput']['median'],
            static_mem_mb=summary['static_mem_mb'],
            persistent_mem_mb=summary['persistent_mem_mb'],
            transient_mem_mb=median(summary, 'transient_mem_mb'),
            abs_peak_mem_mb=median(summary, 'abs_peak_mem_mb'),
            peak_mem_kind=summary['peak_mem_kind'],
            step_flops=summary['step_flops'],
            model_flops=summary['model_flops'],
            matmul_utilisation=median(summary, 'matmul_utilisation'),
            hfu=median(summary, 'hfu'),
            mfu=median(summary, 'mfu'),
            step_ratio_to_full_ft=median(ratio, 'step_s'),
            model_flop_ratio_to_full_ft=median(ratio, 'model_flops'),
            transient_ratio_to_full_ft=median(ratio, 'transient_mem_mb'),
            peak_ratio_to_full_ft=median(ratio, 'abs_peak_mem_mb'),
            trainable_params=summary['trainable_params'],
            gpu=summary['gpu'])
        verdict.expect(f'{row}: frozen parameters with a gradient',
                       summary['frozen_params_with_grad'], '==', 0)
    verdict.details.update(
        rows=rows,
        unit=result['settings']['unit'],
        peak_tflops=peak['peak_tflops'],
        peak_source=peak['source'],
        settings=result['settings'])
    return verdict.to_dict()


def _official_model(ctx: dict, backbone: dict, num_classes: int, frames: int,
                    size: int) -> torch.nn.Module:
    """The official model: from the checkout ``ctx['official']`` if given,
    else the plain-PyTorch reproduction."""
    kwargs = dict(
        img_size=size,
        patch_size=backbone.get('patch_size', 16),
        num_frames=frames,
        tubelet_size=backbone.get('tubelet_size', 2),
        embed_dims=backbone.get('embed_dims', 768),
        depth=backbone.get('depth', 12),
        num_heads=backbone.get('num_heads', 12),
        mlp_ratio=backbone.get('mlp_ratio', 4.))
    if not ctx.get('official'):
        return OfficialVideoViT(num_classes, **kwargs)
    vit_video = _import_official_vit_video(ctx['official'])
    # The tuning config of the official main_video.py / main_image.py
    # (ffn_adapt, parallel, no adapter LayerNorm, LoRA-style init, scale
    # 0.1, bottleneck 64); the official code only reads its attributes.
    tuning = SimpleNamespace(
        ffn_adapt=True,
        ffn_option='parallel',
        ffn_adapter_layernorm_option='none',
        ffn_adapter_init_option='lora',
        ffn_adapter_scalar='0.1',
        ffn_num=64,
        d_model=kwargs['embed_dims'],
        vpt_on=False,
        vpt_num=1)
    # The keyword arguments of its VisionTransformer (models/vit_video.py
    # of ShoufaChen/AdaptFormer at 0f8c363).
    model = vit_video.VisionTransformer(
        img_size=size,
        patch_size=kwargs['patch_size'],
        embed_dim=kwargs['embed_dims'],
        depth=kwargs['depth'],
        num_heads=kwargs['num_heads'],
        mlp_ratio=kwargs['mlp_ratio'],
        qkv_bias=True,
        num_classes=num_classes,
        all_frames=frames,
        tubelet_size=kwargs['tubelet_size'],
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),  # as vit_base_*
        tuning_config=tuning)
    model.head = torch.nn.Sequential(
        torch.nn.BatchNorm1d(model.head.in_features, affine=False, eps=1e-6),
        model.head)
    return model


def _import_official_vit_video(path: str) -> ModuleType:
    """``models/vit_video.py`` of the official checkout at ``path``.

    Raises:
        FileNotFoundError: If ``path`` has no ``models/vit_video.py``.
        ImportError: If it cannot be imported (the official code needs
            ``timm``), naming the missing module and the way without it.
    """
    source = osp.join(path, 'models', 'vit_video.py')
    if not osp.isfile(source):
        raise FileNotFoundError(
            f'--official {path}: {source} not found; expected a checkout '
            'of https://github.com/ShoufaChen/AdaptFormer')
    sys.path.insert(0, path)
    try:
        return importlib.import_module('models.vit_video')
    except ImportError as e:
        raise ImportError(
            f'--official {path}: importing {source} failed ({e}). The '
            'official code needs timm; install it (pip install timm), or '
            'leave out --official to measure the plain-PyTorch '
            'reproduction (mmadaptformer.benchmark.official_vit)') from e
    finally:
        sys.path.pop(0)


def check_official_baseline(ctx: dict) -> dict:
    """The official AdaptFormer video step under its own autocast (float16
    with ``torch.amp.GradScaler`` on a GPU, bfloat16 on a CPU), the speed
    config's batch and frames: step time, clips/s and memory as the
    benchmark measures them (:func:`~mmadaptformer.benchmark.memory_fields`:
    static, persistent, transient and the absolute peak, the baseline
    taken once model, optimizer and batch exist).

    Args:
        ctx (dict): The check context (``speed``; ``official``: a checkout
            of https://github.com/ShoufaChen/AdaptFormer, else the
            plain-PyTorch reproduction runs).

    Returns:
        dict: :meth:`Verdict.to_dict`.
    """
    verdict, device = Verdict(), ctx['device']
    args = _speed_args(ctx)
    cfg = load_config(args)
    spec = input_spec(cfg, args)
    backbone = cfg.model.backbone
    if backbone.get('type', '').endswith('AdaptFormer'):
        backbone = backbone.backbone
    if not spec['video'] or len(spec['sample_shape']) != 5:
        raise SkipCheck('the official baseline is the video ViT; the speed '
                        f'config {args.config} is not an NCTHW video config')
    _, _, frames, height, _ = spec['sample_shape']
    batch = spec['batch_size']
    num_classes = num_classes_of(cfg.model.to_dict())
    torch.manual_seed(0)
    model = _official_model(ctx, backbone.to_dict(), num_classes, frames,
                            height).to(device)
    trainable = set(
        model.trainable_names() if hasattr(model, 'trainable_names') else [
            n for n, _ in model.named_parameters()
            if 'adaptmlp' in n or n.startswith(('fc_norm', 'head'))
        ])
    for name, p in model.named_parameters():
        p.requires_grad_(name in trainable)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    dtype = torch.float16 if is_cuda(device) else torch.bfloat16
    scaler = cuda_api('grad_scaler')(device, enabled=dtype == torch.float16)
    x = torch.randn(
        batch, 3, frames, height, spec['sample_shape'][-1], device=device)
    y = torch.randint(num_classes, (batch, ), device=device)
    autocast = cuda_api('autocast')  # looked up once, not per timed step

    def step():
        with autocast(device, dtype=dtype):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    model.train()
    memory = PeakMemory(device)
    memory.reset()
    iters, warmup = ctx['speed']['iters'], ctx['speed']['warmup']
    wall = timed(step, warmup + iters, device)[0][warmup:]
    memory_used = memory_fields(memory, model, optimizer)
    step_s = statistics.median(wall)
    verdict.details.update(
        source=ctx.get('official') or 'plain-PyTorch reproduction '
        '(mmadaptformer.benchmark.official_vit)',
        dtype=str(dtype).split('.')[-1],
        batch=batch,
        sample_shape=spec['sample_shape'],
        step_ms=1e3 * step_s,
        throughput=batch / step_s,
        **memory_used,
        trainable_params=sum(p.numel() for p in params))
    verdict.expect('step time measured', step_s, '>=', 0.)
    return verdict.to_dict()


def top_operators(events, device: str, steps: int, limit: int = 15) -> dict:
    """The operators of a profile with the most self time, per step.

    On a GPU the time is the device's. ``key_averages()`` then has a row
    for each operator, whose self time is that of the kernels it launched,
    and a row for each kernel: the operators are ranked and the kernels
    give the total, as torch's own table does (summing both rows would
    count every kernel twice). On a CPU it is the operators' self CPU time.

    Args:
        events (EventList): ``profile.key_averages()``.
        device (str): ``'cuda'`` or ``'cpu'``.
        steps (int): Training steps profiled.
        limit (int): Operators listed. Defaults to 15.

    Returns:
        dict: ``time`` (``'cuda'`` or ``'cpu'``), ``total_ms_per_step``
        and ``top_ops``: ``name``, ``self_ms_per_step``, ``share`` of the
        total and ``calls_per_step`` of each.
    """
    attr = PROFILE_SELF_TIME['cuda' if is_cuda(device) else 'cpu']
    if is_cuda(device):
        kernel = cuda_api('kernel_device_type')
        ops = [e for e in events if e.device_type == DeviceType.CPU]
        total = sum(
            getattr(e, attr) for e in events if e.device_type == kernel
            and not getattr(e, 'is_user_annotation', False))
    else:
        ops = list(events)
        total = sum(getattr(e, attr) for e in ops)
    top = sorted(ops, key=lambda e: getattr(e, attr), reverse=True)[:limit]
    return dict(
        time=device,
        total_ms_per_step=total / 1e3 / steps,
        top_ops=[
            dict(
                name=e.key,
                self_ms_per_step=getattr(e, attr) / 1e3 / steps,
                share=getattr(e, attr) / total if total else 0.,
                calls_per_step=e.count / steps) for e in top
        ])


def check_profile(ctx: dict) -> dict:
    """``torch.profiler`` of the AdaptFormer training step of the speed
    config under bfloat16 autocast; the top operators by self time go to
    ``profile_adaptformer.txt`` in the output folder.

    Args:
        ctx (dict): The check context.

    Returns:
        dict: :meth:`Verdict.to_dict`; ``details`` holds the top operators.
    """
    from torch.profiler import ProfilerActivity, profile
    verdict, device = Verdict(), ctx['device']
    args = _speed_args(ctx)
    cfg = load_config(args)
    init_default_scope(cfg.default_scope)
    spec = input_spec(cfg, args)
    model_cfg, _ = model_cfg_for(cfg, 'adaptformer', args)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    apply_trainable(model, plan_trainable(model, mode='adaptformer'))
    model.to(device)
    wrapper = build_optim_wrapper(model,
                                  optim_wrapper_cfg_for(cfg, 'bf16', device))
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    for group in wrapper.optimizer.param_groups:
        group['params'] = [p for p in group['params'] if id(p) in trainable]
    data = synthetic_batch(spec, num_classes_of(model_cfg), device)
    model.train()
    for _ in range(2):
        model.train_step(data, wrapper)
    activities = [ProfilerActivity.CPU]
    if is_cuda(device):
        activities.append(cuda_api('profiler_activity_cuda'))
    synchronize(device)
    with profile(activities=activities) as prof:
        for _ in range(3):
            model.train_step(data, wrapper)
        synchronize(device)
    events = prof.key_averages()
    table = events.table(
        sort_by=PROFILE_SELF_TIME['cuda' if is_cuda(device) else 'cpu'],
        row_limit=30)
    path = osp.join(ctx['out_dir'], 'profile_adaptformer.txt')
    with open(path, 'w') as f:
        f.write(f'AdaptFormer training step x 3, {cfg.filename}, batch '
                f'{spec["batch_size"]} x {spec["sample_shape"]}, bf16 '
                f'autocast, {device}\n{table}\n')
    summary = top_operators(events, device, steps=3)
    verdict.details.update(table=path, **summary)
    # Without CUPTI a GPU profile has operators but no kernel time.
    verdict.expect(
        'CUDA kernel time recorded' if is_cuda(device) else
        'CPU self time recorded', summary['total_ms_per_step'] > 0, 'true')
    verdict.expect('operators profiled', len(events), '>=', 1)
    return verdict.to_dict()
