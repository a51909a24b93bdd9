# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Stop (or skip the step) at a non-finite training loss."""
import logging
import math
from typing import Dict, List, Optional

import torch
import torch.distributed as torch_dist
from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.dist import get_rank, get_world_size, is_distributed
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import BaseOptimWrapper
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS
from mmpretrain.utils import get_ori_model

from mmadaptformer.utils.counted import counted
from .run_optim_wrappers import built_optim_wrappers

__all__ = ['NonFiniteLossError', 'NonFiniteLossHook']

#: Runtime-info key of the total number of skipped steps (resumed).
SKIPPED_TOTAL_KEY = 'non_finite_loss_skipped_total'


class NonFiniteLossError(FloatingPointError):
    """Training met a NaN or infinite loss."""


def _value(value) -> float:
    if torch.is_tensor(value):
        value = value.detach().float()
        return value.item() if value.numel() == 1 else value.sum().item()
    return float(value)


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first NaN or infinite loss, or skip its step.

    The check runs inside the optim wrapper's ``update_params``, on the
    loss it is given, before ``backward``: a non-finite loss never reaches
    the gradients, the optimizer or the loss scaler. It works with any
    optim wrapper (``OptimWrapper``, ``AmpOptimWrapper``,
    ``AdaptAmpOptimWrapper``, each one of an ``OptimWrapperDict``), since it
    wraps the method of the built instance. Used in the
    `AdaptFormer <https://arxiv.org/abs/2205.13535>`_ recipes.

    * By default training stops with :class:`NonFiniteLossError`, naming
      the iteration, every loss term of the step's log vars and the
      learning rate.
    * With ``skip=True`` the step is skipped instead (no backward, no
      optimizer step, gradients zeroed), a warning is logged, and the
      skipped steps are counted per epoch and in total: the counts are the
      message hub scalars ``train/skipped_steps`` and
      ``train/skipped_steps_epoch`` (so they appear in the training log),
      and the total is kept in its runtime info, so it survives
      ``--resume``. The step's non-finite log vars are left out of the
      training log so that they do not turn the smoothed loss into NaN.
      After more than ``max_skips`` skipped steps training stops anyway.

    Under distributed training every rank takes the same decision: a
    finiteness flag is all-reduced before ``backward``, so one rank never
    skips while the others wait for its gradients in DDP.

    Args:
        skip (bool): Skip steps with a non-finite loss instead of stopping.
            Defaults to False.
        max_skips (int, optional): With ``skip``, stop at the step that
            would be skipped beyond this many in total. Defaults to None
            (no bound).

    Examples:
        >>> default_hooks = dict(
        ...     non_finite_loss=dict(type='NonFiniteLossHook'))
        >>> # or keep going past a few bad batches:
        >>> default_hooks = dict(non_finite_loss=dict(
        ...     type='NonFiniteLossHook', skip=True, max_skips=10))
    """

    # Above RuntimeInfoHook, so that a skipped step's log vars are cleaned
    # before they reach the message hub.
    priority = 'HIGHEST'

    def __init__(self,
                 skip: bool = False,
                 max_skips: Optional[int] = None) -> None:
        if not isinstance(skip, bool):
            raise TypeError(
                f'NonFiniteLossHook: skip must be True or False, but got '
                f'skip={skip!r}.')
        if max_skips is not None and (not isinstance(max_skips, int)
                                      or max_skips < 0):
            raise ValueError(
                f'NonFiniteLossHook: max_skips={max_skips!r}, but it must be '
                f'None or an int >= 0.')
        self.skip = skip
        self.max_skips = max_skips
        self.skipped_total = 0
        self.skipped_epoch = 0
        self._runner = None
        self._log_vars: Optional[Dict[str, torch.Tensor]] = None
        self._skipped_this_iter = False
        self._batch_idx = 0

    # ------------------------------------------------------------ wrapping
    def _wrap_parse_losses(self, model) -> None:
        """Keep the log vars of the step, to name every loss term."""
        if getattr(model, '_non_finite_hook', None) is self:
            return
        parse_losses = model.parse_losses
        hook = self

        def parse_and_keep(*args, **kwargs):
            loss, log_vars = parse_losses(*args, **kwargs)
            hook._log_vars = log_vars
            return loss, log_vars

        model.parse_losses = parse_and_keep
        model._non_finite_hook = self

    def _wrap_update_params(self, wrapper: BaseOptimWrapper) -> None:
        if getattr(wrapper, '_non_finite_hook', None) is self:
            return
        update_params = wrapper.update_params
        hook = self

        def checked_update_params(loss, *args, **kwargs):
            if hook._all_finite(loss):
                return update_params(loss, *args, **kwargs)
            hook._on_non_finite(wrapper, loss)

        wrapper.update_params = checked_update_params
        wrapper._non_finite_hook = self

    # ------------------------------------------------------------ decision
    def _all_finite(self, loss: torch.Tensor) -> bool:
        """Whether the loss is finite on every rank (one all-reduce)."""
        finite = bool(torch.isfinite(loss.detach()).all())
        self._bad_ranks: List[int] = [] if finite else [get_rank()]
        if not is_distributed():
            return finite
        flags = torch.zeros(get_world_size(), device=loss.device)
        flags[get_rank()] = 0. if finite else 1.
        torch_dist.all_reduce(flags)
        self._bad_ranks = [i for i, f in enumerate(flags.tolist()) if f > 0]
        return not self._bad_ranks

    def _describe(self, wrapper: BaseOptimWrapper, loss: torch.Tensor) -> str:
        runner = self._runner
        terms = dict(self._log_vars or {})
        if not terms:
            terms = {'loss': loss}
        values = ', '.join(f'{name}={_value(v)!r}'
                           for name, v in terms.items())
        lrs = wrapper.get_lr().get('lr', [])
        lr = lrs[0] if len(set(lrs)) == 1 else lrs
        ranks = ''
        if is_distributed():
            ranks = f' on rank(s) {self._bad_ranks} of {get_world_size()}'
            if get_rank() not in self._bad_ranks:
                values += ' (finite on this rank)'
        where = f'iteration {runner.iter + 1}'
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            where += (f' (epoch {runner.epoch + 1}, batch '
                      f'{self._batch_idx + 1} of the epoch)')
        return (f'Non-finite loss at {where}{ranks}: {values}; '
                f'lr={lr!r}')

    def _on_non_finite(self, wrapper: BaseOptimWrapper,
                       loss: torch.Tensor) -> None:
        description = self._describe(wrapper, loss)
        if not self.skip:
            raise NonFiniteLossError(
                f'{description}. Training stops (NonFiniteLossHook); lower '
                f'the learning rate, check the data, or set skip=True to '
                f'skip such steps.')
        if self.max_skips is not None and \
                self.skipped_total >= self.max_skips:
            raise NonFiniteLossError(
                f'{description}. Training stops: {self.skipped_total} steps '
                f'were skipped already, the most NonFiniteLossHook.max_skips='
                f'{self.max_skips} allows.')
        # Drop what this step accumulated, so the next step starts clean.
        wrapper.zero_grad()
        self.skipped_total += 1
        self.skipped_epoch += 1
        self._skipped_this_iter = True
        print_log(
            f'{description}. Skipped the step ({self.skipped_epoch} in this '
            f'epoch, {self.skipped_total} in total' +
            (f', at most {self.max_skips}'
             if self.max_skips is not None else '') + ').',
            logger='current',
            level=logging.WARNING)

    # --------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        """Wrap the optim wrappers' ``update_params`` and the model's
        ``parse_losses`` of this run."""
        self._runner = runner
        self.skipped_total = runner.message_hub.get_info(SKIPPED_TOTAL_KEY, 0)
        self._wrap_parse_losses(get_ori_model(runner.model))
        wrappers = built_optim_wrappers(runner)
        for wrapper in wrappers:
            self._wrap_update_params(wrapper)

    def before_train_epoch(self, runner) -> None:
        """Restart the per-epoch count."""
        self.skipped_epoch = 0

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        """Remember the batch index, for the error."""
        self._batch_idx = batch_idx
        self._log_vars = None
        self._skipped_this_iter = False

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Publish the counts; keep a skipped step's NaNs out of the log."""
        if not self.skip:
            return
        if self._skipped_this_iter and isinstance(outputs, dict):
            for key in [
                    k for k, v in outputs.items()
                    if not math.isfinite(_value(v))
            ]:
                outputs.pop(key)
        runner.message_hub.update_scalar('train/skipped_steps',
                                         self.skipped_total)
        runner.message_hub.update_scalar('train/skipped_steps_epoch',
                                         self.skipped_epoch)
        runner.message_hub.update_info(SKIPPED_TOTAL_KEY, self.skipped_total)

    def after_train_epoch(self, runner) -> None:
        """Log how many steps were skipped in the epoch."""
        if self.skip and self.skipped_epoch:
            skipped = counted(self.skipped_epoch, 'steps')
            print_log(
                f'NonFiniteLossHook: skipped {skipped} with '
                f'a non-finite loss in epoch {runner.epoch + 1}, '
                f'{self.skipped_total} in total.',
                logger='current',
                level=logging.WARNING)
