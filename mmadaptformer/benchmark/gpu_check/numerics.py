# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check's numerical checks, in one process: an autocast step
against float32 (and the device against the CPU), ``with_cp`` under
autocast, frozen weights after training, fused against eager attention.
Only float16 with loss scaling is skipped on a CPU."""
import copy
import math
from argparse import Namespace
from typing import Dict, List, Tuple

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from torch.utils._python_dispatch import TorchDispatchMode

from ...engine import adapter_hook_cfg
from ...models import apply_trainable, plan_trainable
from ...utils import HEAD_NAMES
from ...utils.fingerprint import state_fingerprints
from ..cuda_api import is_cuda, sdp_flags
from ..inputs import (input_spec, model_cfg_for, num_classes_of,
                      optim_wrapper_cfg_for, synthetic_batch)
from .deprecations import amp_deprecations, record_deprecations
from .verdict import Verdict

AMP_OF_DTYPE = {'float16': 'fp16', 'bfloat16': 'bf16'}
# Loss relative difference and gradient cosine similarity of an autocast
# step against float32, per autocast dtype.
AMP_TOLERANCES = {
    'float16': dict(loss=1e-2, cosine=0.99, logits=2e-2),
    'bfloat16': dict(loss=3e-2, cosine=0.97, logits=6e-2),
}
FP32_DEVICE_TOLERANCES = dict(loss=5e-3, cosine=0.999)
#: Halvings of the loss scale :func:`loss_and_grads` tries: from
#: GradScaler's first scale, 2 ** 16, down to 1.
MAX_SCALE_HALVINGS = 16


def amp_dtypes(ctx: dict, verdict: Verdict) -> List[str]:
    """The context's autocast dtypes that run on its device; on a CPU
    float16 is left out and the verdict says why."""
    dtypes = list(ctx['amp_dtypes'])
    if ctx['device'] == 'cpu' and 'float16' in dtypes:
        dtypes.remove('float16')
    if ctx['device'] == 'cpu':
        verdict.details['skipped_float16'] = (
            'float16 autocast with GradScaler needs CUDA')
    return dtypes


def cosine(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> float:
    """Cosine similarity of two sets of tensors, flattened in key order."""
    x = torch.cat([a[k].flatten().double().cpu() for k in sorted(a)])
    y = torch.cat([b[k].flatten().double().cpu() for k in sorted(a)])
    denominator = float(x.norm() * y.norm())
    return float(x @ y) / denominator if denominator else float('nan')


def rel_diff(a: float, b: float) -> float:
    """``|a - b| / |b|``."""
    return abs(a - b) / max(abs(b), 1e-12)


class AttentionOps(TorchDispatchMode):
    """Names of the attention operators that run inside it: the fused
    kernels (``scaled_dot_product_attention``'s math fallback decomposes
    into matmuls and a softmax, and names none).

    Examples:
        >>> with AttentionOps() as ops:
        ...     model(inputs)
        >>> ops.names
        {'_scaled_dot_product_flash_attention'}
    """

    def __init__(self) -> None:
        super().__init__()
        self.names = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if 'attention' in name:
            self.names.add(name)
        return func(*args, **(kwargs or {}))


def _build(cfg: Config, device: str,
           **backbone) -> Tuple[torch.nn.Module, object]:
    """The config's model, weights initialised as training would (the stock
    checkpoint loaded), trainable parts as the AdapterHook plans them."""
    model_cfg = copy.deepcopy(cfg.model.to_dict())
    model_cfg['backbone'].update(backbone)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    hook = adapter_hook_cfg(cfg) or {}
    plan = plan_trainable(
        model,
        mode=hook.get('mode', 'adaptformer'),
        head=hook.get('head', HEAD_NAMES),
        extra_trainable=hook.get('extra_trainable', ()))
    apply_trainable(model, plan)
    return model.to(device), plan


def _wrapper(cfg: Config, model, amp: str, device: str):
    wrapper = build_optim_wrapper(model,
                                  optim_wrapper_cfg_for(cfg, amp, device))
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    for group in wrapper.optimizer.param_groups:
        group['params'] = [p for p in group['params'] if id(p) in trainable]
    return wrapper


def loss_and_grads(model,
                   data: dict,
                   wrapper,
                   train: bool = True) -> Tuple[float, dict]:
    """One forward and backward pass through ``wrapper`` (its autocast and
    loss scaling); the loss and the unscaled gradients of the trainable
    parameters, without an optimizer step.

    Under loss scaling (float16 on a GPU), a scale at which a gradient
    overflows is halved and the pass run again, as dynamic loss scaling
    skips such a step and backs off: the gradients are those a step would
    apply. E.g. a 174-class head on a batch of 2 overflows float16 at
    GradScaler's first scale, 2 ** 16 (its weight gradient is about
    2 ** 15 times a normalised feature). They stay non-finite only if
    none of :data:`MAX_SCALE_HALVINGS` halvings gives finite ones;
    ``wrapper.loss_scaler`` keeps the scale used.

    Args:
        model (nn.Module): A model of the toolboxes (``data_preprocessor``,
            ``mode='loss'``).
        data (dict): A batch as a data loader gives it.
        wrapper (OptimWrapper): The optimizer wrapper.
        train (bool): Train mode (else eval: no dropout, BatchNorm running
            statistics). Defaults to True.

    Returns:
        tuple[float, dict]: The loss and ``{name: float32 gradient}``.
    """
    model.train(train)
    scaler = getattr(wrapper, 'loss_scaler', None)
    scaling = scaler is not None and scaler.is_enabled()
    for _ in range(MAX_SCALE_HALVINGS + 1):
        model.zero_grad(set_to_none=True)
        with wrapper.optim_context(model):
            batch = model.data_preprocessor(data, True)
            loss, _ = model.parse_losses(model(**batch, mode='loss'))
        wrapper.backward(loss)
        scale = float(scaler.get_scale()) if scaling else 1.
        grads = {
            name: p.grad.detach().float() / scale
            for name, p in model.named_parameters()
            if p.requires_grad and p.grad is not None
        }
        if scale <= 1 or all(bool(g.isfinite().all()) for g in grads.values()):
            break
        scaler.update(scale * scaler.get_backoff_factor())
    model.zero_grad(set_to_none=True)
    return loss.item(), grads


def check_amp_step(ctx: dict, task: str) -> dict:
    """An autocast step of a tiny AdaptFormer model against float32 on the
    same device (loss, gradients), float32 on the device against the CPU,
    ``with_cp`` under autocast against the plain path, and the frozen
    weights bit-identical after three autocast training steps. The
    deprecation and future warnings of the autocast steps are in
    ``details['deprecation_warnings']``; none may name the AMP path.

    Args:
        ctx (dict): The check context (``device``, ``amp_dtypes``,
            ``workspace``).
        task (str): ``'video'`` or ``'image'``.

    Returns:
        dict: :meth:`Verdict.to_dict`.
    """
    verdict, device = Verdict(), ctx['device']
    cfg = Config.fromfile(ctx['workspace'][f'{task}_config'])
    init_default_scope(cfg.default_scope)
    spec = input_spec(cfg,
                      Namespace(batch_size=4, num_frames=None, img_size=None))
    data = synthetic_batch(spec, num_classes_of(cfg.model.to_dict()), device)
    model, plan = _build(cfg, device)
    fp32_loss, fp32_grads = loss_and_grads(
        model, data, _wrapper(cfg, model, 'none', device))
    verdict.details['fp32_loss'] = fp32_loss
    if device != 'cpu':
        cpu_model, _ = _build(cfg, 'cpu')
        cpu_loss, cpu_grads = loss_and_grads(
            cpu_model,
            synthetic_batch(spec, num_classes_of(cfg.model.to_dict()), 'cpu'),
            _wrapper(cfg, cpu_model, 'none', 'cpu'))
        verdict.expect(f'fp32 loss rel. diff {device} vs cpu',
                       rel_diff(fp32_loss, cpu_loss), '<=',
                       FP32_DEVICE_TOLERANCES['loss'])
        verdict.expect(f'fp32 gradient cosine {device} vs cpu',
                       cosine(fp32_grads, cpu_grads), '>=',
                       FP32_DEVICE_TOLERANCES['cosine'])

    frozen = set(plan.frozen_keys)
    # The AMP path on this torch: none of what it deprecates.
    with record_deprecations() as deprecations:
        for dtype in amp_dtypes(ctx, verdict):
            amp, tol = AMP_OF_DTYPE[dtype], AMP_TOLERANCES[dtype]
            wrapper = _wrapper(cfg, model, amp, device)
            verdict.details[f'{dtype}_wrapper'] = type(wrapper).__name__
            loss, grads = loss_and_grads(model, data, wrapper)
            verdict.expect(f'{dtype} loss rel. diff vs fp32',
                           rel_diff(loss, fp32_loss), '<=', tol['loss'])
            verdict.expect(f'{dtype} gradient cosine vs fp32',
                           cosine(grads, fp32_grads), '>=', tol['cosine'])

            cp_model, _ = _build(cfg, device, with_cp=True)
            cp_loss, cp_grads = loss_and_grads(
                cp_model, data, _wrapper(cfg, cp_model, amp, device))
            verdict.expect(f'{dtype} with_cp loss rel. diff vs plain path',
                           rel_diff(cp_loss, loss), '<=', 1e-3)
            verdict.expect(f'{dtype} with_cp gradient cosine vs plain path',
                           cosine(cp_grads, grads), '>=', 0.999)
            del cp_model

            before = {
                k: v.detach().cpu().clone()
                for k, v in model.state_dict().items()
            }
            trainable = {
                id(p)
                for group in wrapper.optimizer.param_groups
                for p in group['params']
            }
            losses = []
            for _ in range(3):
                model.train()
                losses.append(model.train_step(data, wrapper)['loss'].item())
            after = model.state_dict()
            changed_frozen = [
                k for k in frozen if not torch.equal(before[k], after[k].cpu())
            ]
            verdict.expect(f'{dtype}: frozen tensors changed by 3 steps',
                           len(changed_frozen), '==', 0)
            verdict.expect(
                f'{dtype}: frozen fingerprints after 3 steps equal',
                state_fingerprints(
                    (k, before[k]) for k in frozen) == state_fingerprints(
                        (k, after[k]) for k in frozen), 'true')
            verdict.expect(
                f'{dtype}: trainable tensors changed by 3 steps',
                sum(not torch.equal(before[k], after[k].cpu())
                    for k in plan.trainable_keys), '>=', 1)
            verdict.expect(
                f'{dtype}: parameters outside the optimizer with a gradient',
                sum(1 for p in model.parameters()
                    if id(p) not in trainable and p.grad is not None), '==', 0)
            verdict.expect(f'{dtype}: losses finite',
                           all(math.isfinite(v) for v in losses), 'true')
            verdict.details[f'{dtype}_losses'] = losses
            model.load_state_dict(before)
    verdict.details['deprecation_warnings'] = deprecations
    verdict.expect('deprecation / future warnings naming AMP',
                   amp_deprecations(deprecations), '==', [])
    return verdict.to_dict()


def check_fused_attention(ctx: dict) -> dict:
    """Fused (``scaled_dot_product_attention``) against eager attention of
    an AdaptFormer video model: logits in eval mode and adapter gradients,
    in float32 and under each autocast dtype; ViT-B on a GPU, so the
    flash / memory-efficient kernels run.

    Under CPU autocast the fused attention hands back to the host's, so on
    a CPU the autocast comparison is of equal code paths. The attention
    kernels the fused model ran are in ``details['attention_ops']``; on a
    GPU each dtype must have run fused ones.

    Args:
        ctx (dict): The check context (``fused_config``).

    Returns:
        dict: :meth:`Verdict.to_dict`.
    """
    verdict, device = Verdict(), ctx['device']
    cfg = Config.fromfile(ctx['fused_config'])
    init_default_scope(cfg.default_scope)
    args = Namespace(
        no_fused_attn=False,
        no_contiguous_tokens=False,
        with_cp=False,
        batch_size=2,
        num_frames=None,
        img_size=None)
    fused_cfg, _ = model_cfg_for(cfg, 'adaptformer', args)
    eager_cfg = copy.deepcopy(fused_cfg)
    eager_cfg['backbone']['fused_attention'] = False
    models = {}
    for name, model_cfg in (('fused', fused_cfg), ('eager', eager_cfg)):
        torch.manual_seed(0)
        model = MODELS.build(model_cfg)
        model.init_weights()
        plan = plan_trainable(model, mode='adaptformer')
        apply_trainable(model, plan)
        models[name] = model.to(device)
    models['eager'].load_state_dict(models['fused'].state_dict())
    spec = input_spec(cfg, args)
    data = synthetic_batch(spec, num_classes_of(fused_cfg), device)
    if is_cuda(device):
        verdict.details['sdp_kernels_enabled'] = sdp_flags()
    verdict.details['input_shape'] = [spec['batch_size']
                                      ] + spec['sample_shape']

    def logits(model, dtype):
        model.eval()
        batch = model.data_preprocessor(data, False)
        context = torch.autocast(
            device, dtype=getattr(torch, dtype), enabled=dtype != 'float32')
        with torch.no_grad(), context:
            return model(**batch, mode='tensor', stage='head').float()

    def grads(name, dtype):
        amp = AMP_OF_DTYPE.get(dtype, 'none')
        wrapper = _wrapper(cfg, models[name], amp, device)
        result = loss_and_grads(models[name], data, wrapper, train=False)[1]
        scaler = getattr(wrapper, 'loss_scaler', None)
        if scaler is not None and scaler.is_enabled():
            scales = verdict.details.setdefault('loss_scales', {})
            scales[f'{name} {dtype}'] = float(scaler.get_scale())
        return result

    def fused_run(dtype):
        """The fused model's logits and gradients; the attention kernels
        that ran, in the details (on a GPU they must be fused ones, else
        the comparison would be of the math fallback)."""
        with AttentionOps() as ops:
            result = logits(models['fused'], dtype), grads('fused', dtype)
        verdict.details['attention_ops'][dtype] = sorted(ops.names)
        if device == 'cuda':
            verdict.expect(f'{dtype}: fused attention kernels ran',
                           bool(ops.names), 'true')
        return result

    verdict.details['attention_ops'] = {}
    reference = logits(models['eager'], 'float32')
    scale = float(reference.abs().max())
    fp32, fp32_grads = fused_run('float32')
    verdict.expect('float32 logits, fused vs eager (max abs / max |logit|)',
                   float((fp32 - reference).abs().max()) / scale, '<=', 1e-3)
    verdict.expect('float32 gradient cosine, fused vs eager',
                   cosine(fp32_grads, grads('eager', 'float32')), '>=', 0.9999)
    for dtype in amp_dtypes(ctx, verdict):
        tol = AMP_TOLERANCES[dtype]
        fused, fused_grads = fused_run(dtype)
        eager = logits(models['eager'], dtype)
        verdict.expect(f'{dtype} logits, fused vs eager (rel. to max)',
                       float((fused - eager).abs().max()) / scale, '<=',
                       tol['logits'])
        verdict.expect(f'{dtype} fused logits vs float32 eager',
                       float((fused - reference).abs().max()) / scale, '<=',
                       tol['logits'])
        verdict.expect(f'{dtype} gradient cosine, fused vs eager',
                       cosine(fused_grads, grads('eager', dtype)), '>=',
                       tol['cosine'])
    return verdict.to_dict()
