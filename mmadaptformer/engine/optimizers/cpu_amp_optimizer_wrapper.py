# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Automatic mixed precision that also trains on a CPU."""
import logging
from contextlib import contextmanager
from typing import Optional, Union

import torch
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from mmengine.runner.amp import autocast
from torch import nn

from ...utils import upcast_mmaction_head_scores

__all__ = ['CPUAmpOptimWrapper', 'check_cpu_bf16']


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
class CPUAmpOptimWrapper(AmpOptimWrapper):
    """MMEngine's :class:`~mmengine.optim.AmpOptimWrapper`, also on a CPU.

    MMEngine's wrapper refuses to be built without a GPU (or NPU, MLU,
    MUSA). On such a device this wrapper is exactly that one. On the CPU it
    runs the forward under ``torch.autocast('cpu', dtype=torch.bfloat16)``
    and steps in float32 without loss scaling, which bfloat16 does not need
    since it has float32's exponent range. ``tools/train.py --amp`` picks it
    on every device. With bfloat16 it also lets mmaction2's heads
    take bfloat16 scores (:func:`upcast_mmaction_head_scores`, a forward
    hook on the trained model's heads). Used to
    train `AdaptFormer <https://arxiv.org/abs/2205.13535>`_ on CPUs with
    AVX512-BF16 or AMX.

    Args:
        loss_scale (float | str | dict): Loss scaling on accelerators, as in
            ``AmpOptimWrapper``; not used on the CPU. Defaults to
            ``'dynamic'``.
        dtype (str | torch.dtype, optional): The autocast dtype. On the CPU
            only ``'bfloat16'`` (or None, meaning bfloat16) is accepted.
            Defaults to None.
        use_fsdp (bool): As in ``AmpOptimWrapper``; accelerators only.
            Defaults to False.
        device_type (str, optional): Where the model runs: ``'cpu'``,
            ``'cuda'``, ... Defaults to None, i.e.
            ``mmengine.device.get_device()``.
        **kwargs: Arguments of :class:`~mmengine.optim.OptimWrapper`.

    Examples:
        >>> optim_wrapper = dict(
        ...     type='CPUAmpOptimWrapper',
        ...     dtype='bfloat16',
        ...     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
    """

    def __init__(self,
                 loss_scale: Union[float, str, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 use_fsdp: bool = False,
                 device_type: Optional[str] = None,
                 **kwargs) -> None:
        self.device_type = device_type or get_device()
        if self.device_type != 'cpu':
            super().__init__(
                loss_scale=loss_scale,
                dtype=dtype,
                use_fsdp=use_fsdp,
                **kwargs)
            return
        if dtype not in (None, 'bfloat16', torch.bfloat16):
            raise ValueError(
                f'CPUAmpOptimWrapper autocasts to bfloat16 on the CPU, but '
                f'optim_wrapper.dtype is {dtype!r}; set it to \'bfloat16\' '
                f'or leave it out (float16 needs a GPU).')
        OptimWrapper.__init__(self, **kwargs)
        check_cpu_bf16()
        self.cast_dtype = torch.bfloat16
        self._scale_update_param = None
        # A disabled scaler passes losses and steps through unchanged, so
        # the parent's backward, step and load_state_dict apply as they are.
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)

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
        if self.cast_dtype == torch.bfloat16:
            # Only this model's heads, not mmaction2's class.
            upcast_mmaction_head_scores(model)
        with OptimWrapper.optim_context(self, model), autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield
