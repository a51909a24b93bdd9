# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A hook that holds a real training run at one point of its loop, for the
tests that stop ``tools/train.py`` there (Ctrl-C) and read what it says.

A config names it with ``tests/`` on ``PYTHONPATH``::

    custom_imports = dict(imports=['mmadaptformer', 'waiting_hook'])
    custom_hooks = [dict(type='WaitingHook', point='before_train_epoch',
                         epoch=1)]

It prints ``WAITING`` (flushed) and sleeps where ``point`` is called with
the runner's ``epoch`` and ``iter`` (MMEngine's loop counters) equal to
the given ones (None: any), unless ``WAITING_HOOK_OFF`` is set (the same
command goes on then).
"""
import os
import sys
import time
from typing import Optional

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

#: What the hook prints once it waits.
WAITING = 'WAITING'

_POINTS = ('before_train', 'before_train_epoch', 'before_train_iter',
           'before_val_epoch')


@HOOKS.register_module()
class WaitingHook(Hook):
    """Sleep at ``point`` once the loop's counters are ``epoch``/``iter``.

    Args:
        point (str): One of ``before_train``, ``before_train_epoch``,
            ``before_train_iter``, ``before_val_epoch``.
        epoch (int, optional): ``runner.epoch`` to wait at. Defaults to
            None (any).
        iter (int, optional): ``runner.iter`` to wait at. Defaults to None
            (any).
    """

    priority = 'LOWEST'

    def __init__(self,
                 point: str,
                 epoch: Optional[int] = None,
                 iter: Optional[int] = None) -> None:
        assert point in _POINTS, f'point {point!r}: one of {_POINTS}'
        self.point, self.epoch, self.iter = point, epoch, iter

    def _wait(self, runner, point: str) -> None:
        if point != self.point or os.environ.get('WAITING_HOOK_OFF'):
            return
        if self.epoch is not None and runner.epoch != self.epoch:
            return
        if self.iter is not None and runner.iter != self.iter:
            return
        print(WAITING, flush=True)
        sys.stderr.flush()
        time.sleep(600)

    def before_train(self, runner) -> None:
        self._wait(runner, 'before_train')

    def before_train_epoch(self, runner) -> None:
        self._wait(runner, 'before_train_epoch')

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._wait(runner, 'before_train_iter')

    def before_val_epoch(self, runner) -> None:
        self._wait(runner, 'before_val_epoch')
