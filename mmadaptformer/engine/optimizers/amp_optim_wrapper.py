# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Automatic mixed precision of the recipes, in torch 2's spelling on
CUDA, and on request in bfloat16 on a CPU."""
import logging
import numbers
from contextlib import contextmanager
from functools import partial
from typing import Optional, Union

import torch
from mmengine.device import get_device, is_cuda_available
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from mmengine.runner.amp import autocast
from torch import nn

from ...utils import ConfigError, upcast_mmaction_head_scores

__all__ = [
    'AdaptAmpOptimWrapper', 'CPUAmpOptimWrapper', 'amp_cast_dtype',
    'build_grad_scaler', 'check_cpu_bf16'
]

#: The autocast dtypes of each device this wrapper builds itself; the
#: first is the default.
AMP_DTYPES = dict(cpu=(torch.bfloat16, ), cuda=(torch.float16, torch.bfloat16))


def amp_cast_dtype(dtype: Optional[Union[str, torch.dtype]],
                   device_type: str) -> torch.dtype:
    """The autocast dtype of ``optim_wrapper.dtype`` on ``device_type``.

    Always a dtype, never None: MMEngine's ``autocast`` asks
    ``torch.get_autocast_gpu_dtype()`` for a missing CUDA one on every
    forward, which torch 2.4 and later deprecate.

    Args:
        dtype (str | torch.dtype, optional): ``optim_wrapper.dtype``; None
            means the device's default: float16 on CUDA, bfloat16 on the
            CPU.
        device_type (str): ``'cpu'`` or ``'cuda'``.

    Returns:
        torch.dtype: The dtype to autocast to.

    Raises:
        ValueError: If ``dtype`` does not autocast on ``device_type``.
    """
    allowed = AMP_DTYPES[device_type]
    if dtype is None:
        return allowed[0]
    resolved = getattr(torch, dtype, None) if isinstance(dtype, str) \
        else dtype
    if resolved not in allowed:
        names = ' or '.join(repr(str(d).split('.')[-1]) for d in allowed)
        where = 'the CPU' if device_type == 'cpu' else 'CUDA'
        hint = ' (float16 needs a GPU)' if device_type == 'cpu' else ''
        raise ValueError(
            f'AdaptAmpOptimWrapper autocasts to {names} on {where}, but '
            f'optim_wrapper.dtype is {dtype!r}; set it to {names} or leave '
            f'it out{hint}.')
    return resolved


def build_grad_scaler(loss_scale: Union[float, str, dict],
                      device_type: str,
                      use_fsdp: bool = False) -> tuple:
    """The loss scaler of ``optim_wrapper.loss_scale``, as MMEngine's
    ``AmpOptimWrapper`` builds it, but through ``torch.amp.GradScaler``
    (``device_type``) instead of the deprecated ``torch.cuda.amp`` one.

    Args:
        loss_scale (float | str | dict): ``'dynamic'``: dynamic scaling
            with torch's defaults; a number: static scaling at that
            scale; a dict: ``GradScaler``'s arguments.
        device_type (str): Where the model runs, e.g. ``'cuda'``.
        use_fsdp (bool): Build a ``ShardedGradScaler`` (for
            ``FullyShardedDataParallel``). Defaults to False.

    Returns:
        tuple: The scaler, and the scale that ``update`` is given after
        each step (the static scale; None under dynamic scaling).

    Raises:
        TypeError: If ``loss_scale`` is none of those.
    """
    if use_fsdp:
        from torch.distributed.fsdp.sharded_grad_scaler import \
            ShardedGradScaler
        scaler_type = ShardedGradScaler
    else:
        scaler_type = torch.amp.GradScaler
    if loss_scale == 'dynamic':
        return scaler_type(device_type), None
    if isinstance(loss_scale,
                  numbers.Real) and not isinstance(loss_scale, bool):
        return scaler_type(
            device_type, init_scale=float(loss_scale)), float(loss_scale)
    if isinstance(loss_scale, dict):
        return scaler_type(device_type, **loss_scale), None
    raise TypeError(f'optim_wrapper.loss_scale must be \'dynamic\', a number '
                    f'or a dict of GradScaler arguments, got {loss_scale!r}')


def check_cpu_bf16() -> bool:
    """Check that this CPU runs bfloat16 matmuls, and whether natively.

    Returns:
        bool: True if the CPU has native bfloat16 dot products (AVX512-BF16
        or AMX); without them PyTorch emulates bfloat16, which is usually
        slower than float32, and a warning is logged.

    Raises:
        RuntimeError: If a bfloat16 matmul fails on this CPU.
    """
    capability = torch.backends.cpu.get_cpu_capability()
    try:
        a = torch.ones(4, 4, dtype=torch.bfloat16)
        (a @ a).sum().item()
    except RuntimeError as e:
        raise RuntimeError(
            f'CPU AMP needs bfloat16 matmuls, which fail on this CPU '
            f'(capability {capability}): {e}. Train without --amp.') from e
    native = any(
        getattr(torch.cpu, name, lambda: False)()
        for name in ('_is_avx512_bf16_supported', '_is_amx_tile_supported'))
    if not native:
        print_log(
            f'This CPU (capability {capability}) has neither AVX512-BF16 nor '
            'AMX, so bfloat16 autocast is emulated and likely slower than '
            'float32 training. Consider training without --amp.',
            logger='current',
            level=logging.WARNING)
    return native


@OPTIM_WRAPPERS.register_module()
class AdaptAmpOptimWrapper(AmpOptimWrapper):
    """Mixed-precision training of the paper's recipes: MMEngine's
    :class:`~mmengine.optim.AmpOptimWrapper` in torch 2's spelling, and on
    request bfloat16 autocast on a CPU.

    The recipes' schedules name it (``configs/_base_/schedules``), so
    ``tools/dist_train.sh configs/adaptformer_vitb_ssv2.py 8`` trains
    through it, and so does ``tools/train.py --amp`` on every device (it
    writes this type in place of ``OptimWrapper`` or MMEngine's
    ``AmpOptimWrapper``). A config of your own names it as
    ``type='AdaptAmpOptimWrapper'``: ``'AmpOptimWrapper'`` stays MMEngine's
    class, which this package does not replace or patch (on CUDA it calls
    the deprecated APIs below; on a CPU it asserts that it needs a GPU).

    * On CUDA the loss scaler is a ``torch.amp.GradScaler('cuda')``
      (:func:`build_grad_scaler`, MMEngine's ``loss_scale`` semantics) and
      the autocast dtype is always given (:func:`amp_cast_dtype`, float16
      unless ``dtype`` says bfloat16), so no step calls the deprecated
      ``torch.cuda.amp.GradScaler`` or ``torch.get_autocast_gpu_dtype``.
    * On an NPU, MLU or MUSA device it is exactly MMEngine's wrapper.
    * On the CPU it trains only with ``cpu_bf16=True`` (``--amp`` sets it):
      the forward runs under ``torch.autocast('cpu',
      dtype=torch.bfloat16)`` and the step in float32 without loss scaling,
      which bfloat16 does not need since it has float32's exponent range.
      Without it the wrapper is refused, as MMEngine's is, rather than
      silently train a GPU recipe in bfloat16.
    * With bfloat16 it lets mmaction2's heads take bfloat16 scores
      (:func:`upcast_mmaction_head_scores`, a forward hook on the trained
      model's heads), where MMEngine's wrapper fails in their accuracy.

    Used to train `AdaptFormer <https://arxiv.org/abs/2205.13535>`_.

    Args:
        loss_scale (float | str | dict): Loss scaling on accelerators, as in
            ``AmpOptimWrapper``; not used on the CPU. Defaults to
            ``'dynamic'``.
        dtype (str | torch.dtype, optional): The autocast dtype. On the CPU
            only ``'bfloat16'`` (or None, meaning bfloat16) is accepted; on
            CUDA ``'float16'`` (or None) and ``'bfloat16'``. Defaults to
            None.
        use_fsdp (bool): As in ``AmpOptimWrapper``; accelerators only.
            Defaults to False.
        device_type (str, optional): Where the model runs: ``'cpu'``,
            ``'cuda'``, ... Defaults to None, i.e.
            ``mmengine.device.get_device()``.
        cpu_bf16 (bool): Train with bfloat16 autocast where the model runs
            on the CPU; without it the wrapper refuses the CPU. Not read on
            an accelerator. Defaults to False.
        **kwargs: Arguments of :class:`~mmengine.optim.OptimWrapper`.

    Examples:
        >>> optim_wrapper = dict(
        ...     type='AdaptAmpOptimWrapper',
        ...     optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
    """

    def __init__(self,
                 loss_scale: Union[float, str, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 use_fsdp: bool = False,
                 device_type: Optional[str] = None,
                 cpu_bf16: bool = False,
                 **kwargs) -> None:
        self.device_type = device_type or get_device()
        if self.device_type == 'cuda':
            self._init_cuda(loss_scale, dtype, use_fsdp, **kwargs)
        elif self.device_type != 'cpu':
            super().__init__(
                loss_scale=loss_scale,
                dtype=dtype,
                use_fsdp=use_fsdp,
                **kwargs)
        else:
            self._init_cpu(dtype, cpu_bf16, **kwargs)
        # What each step's optim_context does, decided once. On the CPU and
        # CUDA the dtype is resolved and checked above, so the forward runs
        # under torch.autocast itself, not MMEngine's autocast, which asks
        # for the device and torch's version again at every step.
        self._upcast_heads = self.cast_dtype == torch.bfloat16
        self._heads_upcast_of = None  # the model whose heads have the hook
        self._autocast = partial(
            torch.autocast if self.device_type in AMP_DTYPES else autocast,
            device_type=self.device_type,
            dtype=self.cast_dtype)

    def _init_cpu(self, dtype: Optional[Union[str, torch.dtype]],
                  cpu_bf16: bool, **kwargs) -> None:
        """Float32 steps without loss scaling, bfloat16 autocast."""
        if not cpu_bf16:
            raise ConfigError(
                f'optim_wrapper.type={type(self).__name__!r} trains in mixed '
                'precision on a GPU, and the model runs on the CPU here. Set '
                'optim_wrapper.cpu_bf16=True (tools/train.py --amp does) to '
                'train with bfloat16 autocast on the CPU, or '
                "optim_wrapper.type='OptimWrapper' to train in float32.")
        cast_dtype = amp_cast_dtype(dtype, 'cpu')
        OptimWrapper.__init__(self, **kwargs)
        check_cpu_bf16()
        self.cast_dtype = cast_dtype
        self._scale_update_param = None
        # A disabled scaler passes losses and steps through unchanged, so
        # the parent's backward, step and load_state_dict apply as they are.
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)

    def _init_cuda(self, loss_scale: Union[float, str, dict],
                   dtype: Optional[Union[str, torch.dtype]], use_fsdp: bool,
                   **kwargs) -> None:
        """``AmpOptimWrapper.__init__`` on CUDA, without what torch 2
        deprecates."""
        if not is_cuda_available():
            # torch would disable the scaler and autocast with a warning
            # and train in float32.
            raise RuntimeError(
                f'{type(self).__name__} was built for device_type \'cuda\', '
                'but torch.cuda.is_available() is False on this machine; '
                'leave optim_wrapper.device_type out to train on the device '
                'there is.')
        cast_dtype = amp_cast_dtype(dtype, 'cuda')
        if cast_dtype == torch.bfloat16 and \
                not torch.cuda.is_bf16_supported():
            # MMEngine's autocast said so at every step.
            raise RuntimeError(
                'This CUDA device does not support bfloat16; set '
                "optim_wrapper.dtype='float16' or leave it out.")
        OptimWrapper.__init__(self, **kwargs)
        self.loss_scaler, self._scale_update_param = build_grad_scaler(
            loss_scale, 'cuda', use_fsdp)
        self.cast_dtype = cast_dtype

    def state_dict(self) -> dict:
        """The optimizer's state dict, with the loss scaler's if one runs.

        A disabled scaler has an empty state, which an enabled one refuses
        to load, so none is saved: a checkpoint of a CPU run resumes on a
        GPU with a fresh scaler.

        Returns:
            dict: The state dict.
        """
        if not self.loss_scaler.is_enabled():
            return OptimWrapper.state_dict(self)
        return super().state_dict()

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Autocast on :attr:`device_type`, and skip gradient
        synchronisation while accumulating gradients.

        Args:
            model (nn.Module): The training model.
        """
        if self._upcast_heads and model is not self._heads_upcast_of:
            # Only this model's heads, not mmaction2's class; once.
            upcast_mmaction_head_scores(model)
            self._heads_upcast_of = model
        with OptimWrapper.optim_context(self, model), self._autocast():
            yield


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(AdaptAmpOptimWrapper):
    """:class:`AdaptAmpOptimWrapper` under the name it had first, which
    trains on the CPU without being told (``cpu_bf16=True``), as the
    configs that name it (and the config copies of earlier ``--amp``
    runs) expect. Everything else is :class:`AdaptAmpOptimWrapper`.

    Args:
        *args: Arguments of :class:`AdaptAmpOptimWrapper`.
        cpu_bf16 (bool): As in :class:`AdaptAmpOptimWrapper`. Defaults to
            True.
        **kwargs: Arguments of :class:`AdaptAmpOptimWrapper`.

    Examples:
        >>> optim_wrapper = dict(
        ...     type='CPUAmpOptimWrapper',
        ...     dtype='bfloat16',
        ...     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
    """

    def __init__(self, *args, cpu_bf16: bool = True, **kwargs) -> None:
        super().__init__(*args, cpu_bf16=cpu_bf16, **kwargs)
