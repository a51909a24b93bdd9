# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The check that a run's frozen tensors are exactly as loaded.

:class:`~mmadaptformer.engine.hooks.AdapterHook` runs it after every
training epoch, before every save and after training: a hook of lower
priority (a buffer sync, an EMA, user code) runs after the hook's own
``after_train_epoch``, so only a check at the save keeps a changed frozen
backbone out of a checkpoint, and only one after training catches a change
in a last epoch that saves nothing.
"""
from typing import Mapping

from mmengine.runner import IterBasedTrainLoop

__all__ = ['FrozenTensorsChangedError', 'check_frozen_unchanged', 'run_span']


class FrozenTensorsChangedError(RuntimeError):
    """A frozen tensor differs from the one training started from."""


def run_span(runner, last_epoch: int, last_iter: int) -> str:
    """Where in the run a check is, for its message.

    Args:
        runner (Runner): The training runner, its train loop built.
        last_epoch (int): The 1-based number of the last training epoch
            begun.
        last_iter (int): The 1-based number of the last training iteration
            begun.

    Returns:
        str: ``'during epoch E'``, or ``'by iteration I'`` for an
        ``IterBasedTrainLoop`` (whose single "epoch" says nothing).
    """
    if isinstance(runner.train_loop, IterBasedTrainLoop):
        return f'by iteration {last_iter}'
    return f'during epoch {last_epoch}'


def check_frozen_unchanged(reference: Mapping[str, tuple],
                           current: Mapping[str, tuple], span: str) -> None:
    """Raise if any frozen tensor's fingerprint differs from its reference.

    Args:
        reference (Mapping[str, tuple]): Fingerprints at the start of
            training, by state-dict key.
        current (Mapping[str, tuple]): Fingerprints now.
        span (str): Where in the run, e.g. ``'during epoch 3'``.

    Raises:
        FrozenTensorsChangedError: Naming the number of changed tensors,
            the span and up to 10 of their keys.
    """
    changed = [k for k in reference if current.get(k) != reference[k]]
    if changed:
        raise FrozenTensorsChangedError(
            f'AdapterHook: {len(changed)} frozen tensors changed {span}, '
            f'although they must stay exactly as '
            f'loaded: {changed[:10]}{" ..." if len(changed) > 10 else ""}'
            f'. Something other than the optimizer updated them (e.g. an '
            f'EMA hook, BatchNorm running statistics in train mode, or '
            f'custom code).')
