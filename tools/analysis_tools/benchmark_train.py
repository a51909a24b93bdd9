# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Training speed and memory of AdaptFormer, linear probing and full
fine-tuning of a config's model, on synthetic inputs.

Each mode runs in a fresh process (this script, re-invoked), so peak
memory and allocator state do not leak from one mode into the next:

* ``adaptformer``: the config's AdaptFormer model; the adapters, the head
  and the AdapterHook's ``extra_trainable`` train;
* ``linear_probe``: the stock model (adapters removed); the head and the
  extras train;
* ``full_ft``: the stock model; every parameter trains;
* ``adaptformer_plain`` (opt-in): AdaptFormer without the fast path, i.e.
  the stock backbone with adapters added;
* ``full_ft_fast`` (opt-in): ``full_ft`` with the exact parts of the fast
  path (fused attention, contiguous tokens), a like-for-like baseline for
  ``adaptformer``.

What trains is decided by ``plan_trainable``/``apply_trainable``, and the
optimizer holds only those parameters, as with the AdapterHook. A config
without adapters gets AdaptFormer's defaults (AdaptMLP with bottleneck 64 and
scale 0.1 in every block) for the AdaptFormer modes. Pretrained checkpoints
in the config are not loaded: speed and memory do not depend on the values.
The optimizer is the config's; ``--amp`` replaces its wrapper (none:
``OptimWrapper``; bf16/fp16: ``CPUAmpOptimWrapper``, which is MMEngine's
``AmpOptimWrapper`` on a GPU). ``--no-fused-attn``,
``--no-contiguous-tokens``, ``--with-cp``, ``--no-frozen-prefix`` and
``--naive-freeze`` switch parts of the fast path of the ``adaptformer`` mode
off (or on) for ablations.

Measured per mode: the median training step (``model.train_step``: data
preprocessing, forward, backward, optimizer step) after the warm-up steps,
in wall-clock and process CPU time, and its throughput; the peak memory of
training above the baseline taken once the model, optimizer and batch exist
(GPU: max allocated; CPU: peak RSS, i.e. ``VmHWM`` after resetting it through
``/proc/self/clear_refs``); the trainable parameters; the optimizer state;
the median inference step (``model.test_step`` under ``no_grad``) and its
throughput; and the FLOPs of one training step as
``torch.utils.flop_counter`` counts them (matmuls, convolutions and
attention, forward and backward), and the model FLOP utilisation (MFU): those
FLOPs per median step time over the best measured rate of a large square
matmul in the step's compute dtype (bfloat16/float16 under ``--amp``, float32
otherwise); on the CPU also in process CPU time (``MFU cpu``), which a busy
neighbour does not distort when the benchmark runs with ``--threads 1``.
Ratios to full fine-tuning are taken within each round.

Example::

    python tools/analysis_tools/benchmark_train.py \\
        configs/benchmark/adaptformer_vits_8x112.py --amp none bf16 \\
        --repeat 3 --out work_dirs/benchmark.json --plot work_dirs/bench.png
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from typing import Dict, List, Optional, Tuple

MODES = {
    'adaptformer': 'AdaptFormer (adapters + head train)',
    'linear_probe': 'linear probe (head trains)',
    'full_ft': 'full fine-tuning (stock model)',
    'adaptformer_plain': 'AdaptFormer, no fast path',
    'full_ft_fast': 'full fine-tuning with the exact fast path',
}
DEFAULT_MODES = ('adaptformer', 'linear_probe', 'full_ft')
REFERENCE_MODE = 'full_ft'
AMP_DTYPES = {'none': None, 'bf16': 'bfloat16', 'fp16': 'float16'}
ADAPTFORMER_TYPES = ('AdaptFormer', 'mmaction.AdaptFormer',
                     'mmpretrain.AdaptFormer')


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Benchmark training speed and memory of AdaptFormer, '
        'linear probing and full fine-tuning of a config\'s model')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--modes',
        nargs='+',
        choices=list(MODES),
        default=list(DEFAULT_MODES),
        help='modes to measure, each in a fresh process: ' +
        '; '.join(f'{k}: {v}' for k, v in MODES.items()))
    parser.add_argument(
        '--batch-size',
        type=int,
        help='clips/images per step (default: train_dataloader.batch_size)')
    parser.add_argument(
        '--num-frames',
        type=int,
        help='frames per clip (default: from the train pipeline)')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs='+',
        help='input size, H or H W (default: from the train pipeline)')
    parser.add_argument(
        '--iters', type=int, default=10, help='measured steps per mode')
    parser.add_argument(
        '--warmup', type=int, default=3, help='unmeasured steps first')
    parser.add_argument(
        '--repeat',
        type=int,
        default=1,
        help='rounds over all modes; ratios are taken within each round')
    parser.add_argument(
        '--amp',
        nargs='+',
        choices=list(AMP_DTYPES),
        default=['none'],
        help='autocast dtypes (CPU: bf16 only); with several, every mode '
        'runs with each, e.g. --amp none bf16')
    parser.add_argument(
        '--device',
        choices=['cpu', 'cuda'],
        help='default: cuda if available, else cpu')
    parser.add_argument(
        '--threads', type=int, help='torch.set_num_threads in each mode')
    parser.add_argument(
        '--no-fused-attn',
        action='store_true',
        help='ablation: host attention in the adaptformer mode')
    parser.add_argument(
        '--no-contiguous-tokens',
        action='store_true',
        help='ablation: host token layout in the adaptformer mode')
    parser.add_argument(
        '--with-cp',
        action='store_true',
        help='activation checkpointing of the blocks in the adaptformer mode')
    parser.add_argument(
        '--no-frozen-prefix',
        action='store_true',
        help='ablation: the backbone input requires a gradient, so autograd '
        'records the blocks in front of the first adapter too (as when a '
        'part there trains)')
    parser.add_argument(
        '--naive-freeze',
        action='store_true',
        help='ablation: frozen weights keep requires_grad (they are only '
        'left out of the optimizer), so their gradients are computed')
    parser.add_argument(
        '--matmul-size',
        type=int,
        help='side of the square matmul whose measured rate is the '
        'denominator of MFU (default: 8192 on a GPU, 2048 on the CPU)')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument('--plot', help='write a PNG comparing the modes')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value as in tools/train.py')
    # Internal: one mode in this process.
    parser.add_argument(
        '--worker', choices=list(MODES), help=argparse.SUPPRESS)
    parser.add_argument(
        '--worker-amp', choices=list(AMP_DTYPES), help=argparse.SUPPRESS)
    parser.add_argument('--worker-out', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ('iters', 'repeat', 'batch_size', 'num_frames', 'threads',
                 'matmul_size'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{value}')
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    if args.img_size is not None and len(args.img_size) not in (1, 2):
        parser.error(f'--img-size takes H or H W, got {args.img_size}')
    return args


# ---------------------------------------------------------------- config
def load_config(args):
    from mmengine.config import Config

    # The workers import mmadaptformer (and so the toolboxes) themselves.
    cfg = Config.fromfile(args.config, import_custom_modules=False)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def _pipeline(cfg) -> list:
    dataset = cfg.get('train_dataloader', {}).get('dataset', {})
    while 'pipeline' not in dataset and isinstance(
            dataset.get('dataset'), dict):
        dataset = dataset['dataset']  # RepeatDataset and alike
    return list(dataset.get('pipeline', []))


def _hw(value) -> Optional[Tuple[int, int]]:
    if isinstance(value, int) and value > 0:
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2 and \
            all(isinstance(v, int) and v > 0 for v in value):
        return value[1], value[0]  # (w, h) in OpenMMLab transforms
    return None


def input_spec(cfg, args) -> dict:
    """Batch size and per-sample input shape, from flags or the config."""
    model = cfg.model
    preprocessor = model.get('data_preprocessor') or {}
    backbone = model.backbone
    if backbone.get('type') in ADAPTFORMER_TYPES:
        backbone = backbone.backbone
    video = cfg.get('default_scope') == 'mmaction'

    frames, clips, size = None, 1, None
    for transform in _pipeline(cfg):
        kind = transform.get('type', '')
        if frames is None and 'clip_len' in transform:
            frames = transform['clip_len']
            clips = transform.get('num_clips', 1)
        if kind in ('Resize', 'RandomResizedCrop') and \
                not transform.get('keep_ratio', False):
            size = _hw(transform.get('scale')) or size
        for key in ('crop_size', 'input_size'):
            size = _hw(transform.get(key)) or size
    sources = dict(size='train pipeline')
    if size is None:
        size = backbone.get('img_size', 224)
        size = (size, size) if isinstance(size, int) else tuple(size)
        sources['size'] = 'backbone img_size'
    if args.img_size:
        size = (args.img_size[0], args.img_size[-1])
        sources['size'] = '--img-size'
    if video:
        sources['frames'] = 'train pipeline'
        if frames is None:
            frames = backbone.get('num_frames', 1)
            sources['frames'] = 'backbone num_frames'
        if args.num_frames:
            frames = args.num_frames
            sources['frames'] = '--num-frames'

    batch_size = args.batch_size or cfg.get('train_dataloader', {}).get(
        'batch_size', 1)
    fmt = preprocessor.get('format_shape', 'NCTHW' if video else 'NCHW')
    if not video:
        shape = (3, *size)
    elif fmt == 'NCTHW':
        shape = (clips, 3, frames, *size)
    else:
        shape = (clips * frames, 3, *size)
    return dict(
        batch_size=batch_size,
        sample_shape=list(shape),
        video=video,
        sources=sources)


def _drop_pretrained(node) -> None:
    """Load no checkpoint: speed and memory do not depend on the values."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            node['init_cfg'] = None
        elif isinstance(init, list):
            node['init_cfg'] = [
                c for c in init
                if not (isinstance(c, dict) and c.get('type') == 'Pretrained')
            ] or None
        if node.get('pretrained'):
            node['pretrained'] = None
        for value in node.values():
            _drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_pretrained(value)


def _adapter_hook_cfg(cfg) -> dict:
    for hook in cfg.get('custom_hooks', []) or []:
        if hook.get('type') in ('AdapterHook', 'mmaction.AdapterHook',
                                'mmpretrain.AdapterHook'):
            return hook
    return {}


def model_cfg_for(cfg, mode: str, args) -> Tuple[dict, bool]:
    """The model config of ``mode``, and whether adapters were added."""
    model = copy.deepcopy(cfg.model.to_dict())
    _drop_pretrained(model)
    backbone = model['backbone']
    has_adapters = backbone.get('type') in ADAPTFORMER_TYPES
    added = False
    if mode.startswith('adaptformer'):
        if not has_adapters:
            backbone = dict(type='AdaptFormer', backbone=backbone)
            added = True
        plain = mode == 'adaptformer_plain'
        backbone['fused_attention'] = not (plain or args.no_fused_attn)
        backbone['contiguous_tokens'] = not (plain
                                             or args.no_contiguous_tokens)
        backbone['with_cp'] = args.with_cp and not plain
    elif has_adapters:
        backbone = backbone['backbone']
    model['backbone'] = backbone
    return model, added


# ------------------------------------------------------------- measuring
def _proc_status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        match = re.search(rf'^{field}:\s+(\d+) kB', f.read(), re.M)
    return int(match.group(1))


class PeakMemory:
    """Peak memory above a baseline: CUDA max allocated or CPU peak RSS."""

    def __init__(self, device: str) -> None:
        import torch
        self.device = device
        self.torch = torch
        self.note = None

    def reset(self) -> None:
        gc.collect()
        if self.device == 'cuda':
            self.torch.cuda.synchronize()
            self.torch.cuda.reset_peak_memory_stats()
            self.base = self.torch.cuda.memory_allocated()
            return
        self.base = _proc_status_kb('VmRSS') * 1024
        try:
            # '5' resets the peak RSS (VmHWM) to the current RSS.
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError as e:
            self.note = (f'could not reset VmHWM ({e}); the peak includes '
                         'the model build')

    def peak_above_base(self) -> int:
        if self.device == 'cuda':
            self.torch.cuda.synchronize()
            return self.torch.cuda.max_memory_allocated() - self.base
        return _proc_status_kb('VmHWM') * 1024 - self.base


def _synthetic_batch(spec: dict, num_classes: int, device: str) -> dict:
    import torch
    generator = torch.Generator().manual_seed(0)
    if spec['video']:
        from mmaction.structures import ActionDataSample as Sample
    else:
        from mmpretrain.structures import DataSample as Sample
    inputs, samples = [], []
    for _ in range(spec['batch_size']):
        inputs.append(
            torch.randint(
                0,
                256,
                spec['sample_shape'],
                dtype=torch.uint8,
                generator=generator).to(device))
        label = int(torch.randint(num_classes, (1, ), generator=generator))
        samples.append(Sample().set_gt_label(label))
    return dict(inputs=inputs, data_samples=samples)


def _num_classes(model_cfg: dict) -> int:
    for key in ('cls_head', 'head'):
        head = model_cfg.get(key) or {}
        if isinstance(head.get('num_classes'), int):
            return head['num_classes']
    return 2


def _optim_wrapper_cfg(cfg, amp: str, device: str) -> dict:
    optim = copy.deepcopy(cfg.optim_wrapper.to_dict())
    for key in ('loss_scale', 'dtype', 'use_fsdp', 'device_type'):
        optim.pop(key, None)
    if amp == 'none':
        optim['type'] = 'OptimWrapper'
    else:
        # MMEngine's AmpOptimWrapper on a GPU, bfloat16 autocast on the CPU.
        optim.update(
            type='CPUAmpOptimWrapper',
            dtype=AMP_DTYPES[amp],
            device_type=device)
    return optim


def matmul_flops_per_s(device: str, dtype: str, size: int,
                       reps: int = 5) -> Tuple[float, float]:
    """Best measured rate of a square matmul of ``size`` in ``dtype``: the
    device's practical peak, the denominator of the model FLOP utilisation.

    Returns:
        tuple[float, float]: FLOP/s in wall-clock time and in process CPU
        time (the latter is what one thread achieves whatever the
        neighbours on a shared CPU do).
    """
    import torch
    a = torch.randn(size, size, device=device).to(getattr(torch, dtype))
    b = torch.randn(size, size, device=device).to(getattr(torch, dtype))
    wall, cpu = (t[2:] for t in _timed(lambda: a @ b, 2 + reps, device))
    return 2 * size**3 / min(wall), 2 * size**3 / min(cpu)


def _timed(fn, n: int, device: str) -> Tuple[List[float], List[float]]:
    """Wall-clock and process CPU seconds of ``n`` calls of ``fn``."""
    import torch
    wall, cpu = [], []
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def run_mode(args, mode: str, amp: str) -> dict:
    """Measure one mode in this process."""
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner.amp import autocast

    # Importing the package registers its modules.
    from mmadaptformer.engine import AdapterHook
    from mmadaptformer.models import (apply_trainable, fuse_attention,
                                      make_tokens_contiguous, plan_trainable)
    from mmadaptformer.utils import count_flops

    cfg = load_config(args)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if args.threads:
        torch.set_num_threads(args.threads)
    if cfg.get('default_scope'):
        init_default_scope(cfg.default_scope)
    spec = input_spec(cfg, args)
    model_cfg, adapters_added = model_cfg_for(cfg, mode, args)

    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.to(device)

    hook = _adapter_hook_cfg(cfg)
    if mode in ('full_ft', 'full_ft_fast'):
        if mode == 'full_ft_fast':
            fuse_attention(model)
            make_tokens_contiguous(model)
        model.requires_grad_(True)
    else:
        plan = plan_trainable(
            model,
            mode='linear_probe' if mode == 'linear_probe' else 'adaptformer',
            head=hook.get('head', ('cls_head', 'head')),
            extra_trainable=hook.get('extra_trainable', ()))
        apply_trainable(model, plan)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optim_wrapper = build_optim_wrapper(model,
                                        _optim_wrapper_cfg(cfg, amp, device))
    AdapterHook._restrict_optimizer(optim_wrapper, trainable)
    if mode == 'adaptformer' and args.naive_freeze:
        model.requires_grad_(True)
    if mode == 'adaptformer' and args.no_frozen_prefix:
        model.backbone.register_forward_pre_hook(
            lambda module, inputs: (inputs[0].requires_grad_(), ) + inputs[1:])
    data = _synthetic_batch(spec, _num_classes(model_cfg), device)

    memory = PeakMemory(device)
    memory.reset()
    model.train()
    steps, steps_cpu = (
        t[args.warmup:]
        for t in _timed(lambda: model.train_step(data, optim_wrapper),
                        args.warmup + args.iters, device))
    peak = memory.peak_above_base()

    in_optimizer = {id(p) for p in trainable}
    frozen_with_grad = sum(1 for p in model.parameters()
                           if id(p) not in in_optimizer and p.grad is not None)
    optim_state = sum(t.numel() * t.element_size()
                      for state in optim_wrapper.optimizer.state.values()
                      for t in state.values() if torch.is_tensor(t))

    model.eval()

    def infer():
        context = nullcontext() if amp == 'none' else autocast(
            device_type=device, dtype=getattr(torch, AMP_DTYPES[amp]))
        with torch.no_grad(), context:
            model.test_step(data)

    infers = _timed(infer, args.warmup + args.iters, device)[0][args.warmup:]
    step, infer_step = statistics.median(steps), statistics.median(infers)

    # One more, counted step (after the timed ones: counting is slow).
    model.train()
    step_flops = count_flops(lambda: model.train_step(data, optim_wrapper))
    matmul_dtype = AMP_DTYPES[amp] or 'float32'
    matmul_rate, matmul_rate_cpu = matmul_flops_per_s(
        device, matmul_dtype, args.matmul_size
        or (8192 if device == 'cuda' else 2048))
    batch = spec['batch_size']
    return dict(
        mode=mode,
        amp=amp,
        device=device,
        gpu=torch.cuda.get_device_name() if device == 'cuda' else None,
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        adapters_added=adapters_added,
        step_s=step,
        step_times_s=steps,
        step_cpu_s=statistics.median(steps_cpu),
        train_throughput=batch / step,
        peak_mem_mb=peak / 2**20,
        peak_mem_note=memory.note,
        trainable_params=sum(p.numel() for p in trainable),
        total_params=sum(p.numel() for p in model.parameters()),
        frozen_params_with_grad=frozen_with_grad,
        optim_state_mb=optim_state / 2**20,
        infer_step_s=infer_step,
        infer_throughput=batch / infer_step,
        step_flops=step_flops,
        achieved_flops_per_s=step_flops / step,
        matmul_dtype=matmul_dtype,
        matmul_flops_per_s=matmul_rate,
        matmul_flops_per_s_cpu_time=matmul_rate_cpu,
        mfu=step_flops / step / matmul_rate,
        mfu_cpu_time=(step_flops / statistics.median(steps_cpu) /
                      matmul_rate_cpu) if device == 'cpu' else None)


# ------------------------------------------------------------ reporting
def cpu_info() -> dict:
    """CPU model name and core count, read from ``/proc/cpuinfo``."""
    name = None
    try:
        with open('/proc/cpuinfo') as f:
            match = re.search(r'^model name\s*:\s*(.+)$', f.read(), re.M)
        name = match.group(1).strip() if match else None
    except OSError:
        pass
    return dict(cpu=name, cores=os.cpu_count())


def _loadavg() -> Optional[List[float]]:
    try:
        with open('/proc/loadavg') as f:
            return [float(v) for v in f.read().split()[:3]]
    except OSError:
        return None


def _spread(values: List[float]) -> dict:
    return dict(
        median=statistics.median(values), min=min(values), max=max(values))


def row_name(mode: str, amp: str) -> str:
    """``mode``, or ``mode@amp`` under autocast."""
    return mode if amp == 'none' else f'{mode}@{amp}'


def summarize(rounds: List[Dict[str, dict]]) -> Tuple[dict, dict, dict]:
    """Per-row medians over rounds; per round, ratios to full FT under the
    same autocast and speed-ups of autocast over float32."""
    fields = ('step_s', 'step_cpu_s', 'train_throughput', 'peak_mem_mb',
              'infer_step_s', 'infer_throughput', 'achieved_flops_per_s',
              'matmul_flops_per_s', 'mfu')
    if all(run['mfu_cpu_time'] is not None
           for r in rounds for run in r.values()):
        fields += ('mfu_cpu_time', )
    rows = {}
    for row in rounds[0]:
        runs = [r[row] for r in rounds]
        summary = {f: _spread([run[f] for run in runs]) for f in fields}
        for key in ('mode', 'amp', 'trainable_params', 'total_params',
                    'optim_state_mb', 'frozen_params_with_grad',
                    'adapters_added', 'device', 'gpu', 'torch', 'threads',
                    'step_flops', 'matmul_dtype'):
            summary[key] = runs[0][key]
        summary['runs'] = runs
        rows[row] = summary
    ratios, speedups = {}, {}
    for row, summary in rows.items():
        reference = row_name(REFERENCE_MODE, summary['amp'])
        if reference in rows:
            ratios[row] = {
                f: _spread([r[row][f] / r[reference][f] for r in rounds])
                for f in ('step_s', 'step_cpu_s', 'peak_mem_mb')
            }
        fp32 = row_name(summary['mode'], 'none')
        if summary['amp'] != 'none' and fp32 in rows:
            speedups[row] = {
                f: _spread([r[fp32][f] / r[row][f] for r in rounds])
                for f in ('step_s', 'step_cpu_s')
            }
    return rows, ratios, speedups


def format_table(rows: dict, ratios: dict, speedups: dict, unit: str) -> str:
    """Medians over rounds; ratios as median [min-max] over rounds."""

    def spread(table, row, field):
        if row not in table:
            return '-'
        r = table[row][field]
        return f'{r["median"]:.2f} [{r["min"]:.2f}-{r["max"]:.2f}]'

    def cells(row, s):
        median = {k: v['median'] for k, v in s.items() if isinstance(v, dict)}
        return [
            row,
            f'{1e3 * median["step_s"]:.1f}',
            spread(ratios, row, 'step_s'),
            f'{1e3 * median["step_cpu_s"]:.1f}',
            spread(ratios, row, 'step_cpu_s'),
            spread(speedups, row, 'step_cpu_s'),
            f'{median["train_throughput"]:.2f}',
            f'{median["peak_mem_mb"]:.1f}',
            spread(ratios, row, 'peak_mem_mb'),
            f'{s["trainable_params"]:,}',
            f'{s["optim_state_mb"]:.2f}',
            f'{median["infer_throughput"]:.2f}',
            f'{s["step_flops"] / 1e9:.1f}',
            f'{100 * median["mfu"]:.1f}',
            f'{100 * median["mfu_cpu_time"]:.1f}'
            if 'mfu_cpu_time' in median else '-',
        ]

    columns = (('row', 22), ('step ms', 8), ('x full', 16), ('cpu ms', 8),
               ('x full', 16), ('fp32/amp cpu', 16), (f'{unit}/s', 8),
               ('peak MB', 8), ('x full', 16), ('trainable', 11),
               ('optim MB', 8), (f'infer {unit}/s', 15), ('GFLOP', 8),
               ('MFU %', 6), ('MFU cpu %', 9))
    table = [[name for name, _ in columns]]
    table += [cells(row, s) for row, s in rows.items()]
    lines = [
        ' '.join(f'{cell:<{w}}' if i == 0 else f'{cell:>{w}}'
                 for i, (cell, (_, w)) in enumerate(zip(line, columns)))
        for line in table
    ]
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)


def plot(rows: dict, ratios: dict, title: str, unit: str, path: str):
    """Bars per row: training step (wall-clock and CPU time), peak memory
    and inference throughput; ratios to full FT annotated."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(rows)
    modes = list(dict.fromkeys(s['mode'] for s in rows.values()))
    colors = [f'C{modes.index(rows[n]["mode"])}' for n in names]
    hatches = ['' if rows[n]['amp'] == 'none' else '//' for n in names]
    panels = (('step_s', 'training step, wall-clock (ms)',
               1e3), ('step_cpu_s', 'training step, CPU time (ms)', 1e3),
              ('peak_mem_mb', 'training peak memory above baseline (MB)',
               1), ('infer_throughput', f'inference ({unit}/s)', 1))
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 3.6))
    for ax, (field, label, scale) in zip(axes, panels):
        values = [rows[n][field] for n in names]
        med = [v['median'] * scale for v in values]
        err = [[(v['median'] - v['min']) * scale for v in values],
               [(v['max'] - v['median']) * scale for v in values]]
        bars = ax.bar(
            range(len(names)),
            med,
            yerr=err,
            color=colors,
            hatch=hatches,
            edgecolor='white',
            capsize=2)
        if field in ('step_s', 'step_cpu_s', 'peak_mem_mb'):
            for bar, name in zip(bars, names):
                if name in ratios:
                    ax.annotate(
                        f'{ratios[name][field]["median"]:.2f}',
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha='center',
                        va='bottom',
                        fontsize=6,
                        xytext=(0, 2),
                        textcoords='offset points')
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=35, ha='right', fontsize=7)
        ax.set_title(label, fontsize=8)
        ax.tick_params(axis='y', labelsize=7)
    fig.suptitle(
        f'{title}; bars: median (min-max) over rounds; labels: ratio to '
        'full_ft',
        fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def run_worker(argv: List[str], mode: str, amp: str) -> dict:
    """Run ``mode`` under ``amp`` in a fresh process of this script."""
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'result.json')
        cmd = [sys.executable, osp.abspath(__file__)] + argv + [
            '--worker', mode, '--worker-amp', amp, '--worker-out', out
        ]
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f'{row_name(mode, amp)} failed (exit code '
                               f'{proc.returncode}):\n{proc.stdout[-4000:]}')
        with open(out) as f:
            return json.load(f)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.worker:
        result = run_mode(args, args.worker, args.worker_amp)
        with open(args.worker_out, 'w') as f:
            json.dump(result, f)
        return

    cfg = load_config(args)
    spec = input_spec(cfg, args)
    load_before = _loadavg()
    rounds = []
    for i in range(args.repeat):
        rounds.append({})
        for amp in args.amp:
            for mode in args.modes:
                row = row_name(mode, amp)
                print(f'[round {i + 1}/{args.repeat}] {row} ...', flush=True)
                rounds[-1][row] = run_worker(argv, mode, amp)
    rows, ratios, speedups = summarize(rounds)
    device = next(iter(rows.values()))['device']
    unit = 'clips' if spec['video'] else 'images'
    result = dict(
        config=args.config,
        command=' '.join(
            ['python', 'tools/analysis_tools/benchmark_train.py'] + argv),
        date=time.strftime('%Y-%m-%d %H:%M:%S %Z'),
        machine=dict(
            cpu_info(), loadavg_before=load_before, loadavg_after=_loadavg()),
        settings=dict(
            batch_size=spec['batch_size'],
            sample_shape=spec['sample_shape'],
            shape_sources=spec['sources'],
            amp=args.amp,
            fused_attention=not args.no_fused_attn,
            contiguous_tokens=not args.no_contiguous_tokens,
            with_cp=args.with_cp,
            naive_freeze=args.naive_freeze,
            frozen_prefix=not args.no_frozen_prefix,
            threads=args.threads,
            matmul_size=args.matmul_size,
            iters=args.iters,
            warmup=args.warmup,
            repeat=args.repeat),
        modes=rows,
        ratios_to_full_ft=ratios,
        amp_speedups=speedups)

    title = (f'{osp.basename(args.config)}: batch {spec["batch_size"]} x '
             f'{tuple(spec["sample_shape"])}, {device}, {args.repeat} '
             'round(s)')
    print(f'\n{title}; medians over rounds; "x full": ratio to full_ft '
          'under the same autocast, "fp32/amp": speed-up of autocast, both '
          'taken within each round')
    print(format_table(rows, ratios, speedups, unit))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'results written to {args.out}')
    if args.plot:
        os.makedirs(osp.dirname(osp.abspath(args.plot)), exist_ok=True)
        plot(rows, ratios, title, unit, args.plot)
        print(f'plot written to {args.plot}')


if __name__ == '__main__':
    main()
