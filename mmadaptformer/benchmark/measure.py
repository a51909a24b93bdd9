# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One mode of the training benchmark, measured in this process: step time,
memory, optimizer state, inference and FLOPs. The runner adds what needs
the round's reference matmul (:func:`~.utilisation.utilisation`)."""
import statistics
from contextlib import nullcontext

import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner.amp import autocast

from ..engine import adapter_hook_cfg, restrict_optimizer
from ..models import (apply_trainable, fuse_attention, make_tokens_contiguous,
                      plan_trainable)
from ..utils import HEAD_NAMES
from ..utils.config_mistakes import naming_config_mistakes
from .cuda_api import device_name, is_cuda, tf32_flags
from .flops import count_step_flops
from .inputs import (input_spec, load_config, model_cfg_for, num_classes_of,
                     optim_wrapper_cfg_for, synthetic_batch)
from .memory import PeakMemory, memory_fields
from .options import AMP_DTYPES
from .utilisation import timed

__all__ = ['measure_mode']


def measure_mode(args, mode: str, amp: str) -> dict:
    """Measure one mode in this process.

    Args:
        args (argparse.Namespace): The benchmark's options
            (:func:`parse_args`).
        mode (str): One of :data:`MODES`.
        amp (str): ``'none'``, ``'bf16'`` or ``'fp16'``.

    Returns:
        dict: The measurements (JSON-serialisable); :func:`utilisation`
        adds what needs the round's reference matmul.

    Raises:
        ConfigError: For a ``type`` no registry holds or an argument a
            class does not take, in the model or the optimizer
            (:func:`~mmadaptformer.utils.config_mistakes.naming_config_mistakes`).
    """
    cfg = load_config(args)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if args.threads:
        torch.set_num_threads(args.threads)
    if cfg.get('default_scope'):
        init_default_scope(cfg.default_scope)
    spec = input_spec(cfg, args)
    model_cfg, adapters_added = model_cfg_for(cfg, mode, args)

    # A type no registry holds or an argument a class does not take (from
    # --cfg-options too) is a ConfigError naming the key, which the worker
    # hands back to the tool (see worker.py), not a traceback.
    torch.manual_seed(0)
    with naming_config_mistakes(cfg, args.config, args.cfg_options):
        model = MODELS.build(model_cfg)
        model.init_weights()
    model.to(device)

    hook = adapter_hook_cfg(cfg) or {}
    if mode in ('full_ft', 'full_ft_fast'):
        if mode == 'full_ft_fast':
            fuse_attention(model)
            make_tokens_contiguous(model)
        model.requires_grad_(True)
    else:
        plan = plan_trainable(
            model,
            mode='linear_probe' if mode == 'linear_probe' else 'adaptformer',
            head=hook.get('head', HEAD_NAMES),
            extra_trainable=hook.get('extra_trainable', ()))
        apply_trainable(model, plan)
    trainable = [p for p in model.parameters() if p.requires_grad]
    with naming_config_mistakes(cfg, args.config, args.cfg_options):
        optim_wrapper = build_optim_wrapper(
            model, optim_wrapper_cfg_for(cfg, amp, device))
    restrict_optimizer(optim_wrapper, trainable)
    if mode == 'adaptformer' and args.naive_freeze:
        model.requires_grad_(True)
    if mode == 'adaptformer' and args.no_frozen_prefix:
        model.backbone.register_forward_pre_hook(
            lambda module, inputs: (inputs[0].requires_grad_(), ) + inputs[1:])
    data = synthetic_batch(spec, num_classes_of(model_cfg), device)

    memory = PeakMemory(device)
    memory.reset()
    model.train()
    steps, steps_cpu = (
        t[args.warmup:]
        for t in timed(lambda: model.train_step(data, optim_wrapper),
                       args.warmup + args.iters, device))
    memory_used = memory_fields(memory, model, optim_wrapper.optimizer)

    in_optimizer = {id(p) for p in trainable}
    frozen_with_grad = sum(1 for p in model.parameters()
                           if id(p) not in in_optimizer and p.grad is not None)

    model.eval()

    def infer():
        context = nullcontext() if amp == 'none' else autocast(
            device_type=device, dtype=getattr(torch, AMP_DTYPES[amp]))
        with torch.no_grad(), context:
            model.test_step(data)

    infers = timed(infer, args.warmup + args.iters, device)[0][args.warmup:]
    step, infer_step = statistics.median(steps), statistics.median(infers)

    # More, counted steps (after the timed ones: counting is slow).
    model.train()
    flops = count_step_flops(lambda: model.train_step(data, optim_wrapper),
                             model)
    batch = spec['batch_size']
    return dict(
        mode=mode,
        amp=amp,
        device=device,
        gpu=device_name(device),
        tf32_matmul=tf32_flags()['matmul'] if is_cuda(device) else None,
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        adapters_added=adapters_added,
        step_s=step,
        step_times_s=steps,
        step_cpu_s=statistics.median(steps_cpu),
        train_throughput=batch / step,
        **memory_used,
        trainable_params=sum(p.numel() for p in trainable),
        total_params=sum(p.numel() for p in model.parameters()),
        frozen_params_with_grad=frozen_with_grad,
        infer_step_s=infer_step,
        infer_throughput=batch / infer_step,
        **flops,
        achieved_flops_per_s=flops['step_flops'] / step,
        model_flops_per_s=flops['model_flops'] / step)
