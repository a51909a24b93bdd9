# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep MMEngine's distributed evaluation files inside the work dir.

In a distributed run every metric gathers its results on rank 0 through
files (``collect_device='cpu'``, the default): MMEngine's
``collect_results_cpu`` writes one pickle per rank into a temporary folder
and rank 0 removes it after reading. Without a ``collect_dir`` that folder is
``./.dist_test/tmp*`` in the *current* directory, so a run killed while it
evaluates leaves it behind wherever the user started the job. The metrics of
mmaction2 and mmpretrain do not take a ``collect_dir`` argument, so it cannot
be set in a config; :class:`WorkDirCollectHook` sets it on the built metrics
instead, to ``work_dir/.dist_test``.
"""
import os.path as osp
from typing import Optional

from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from .registration import add_hook_once

__all__ = ['WorkDirCollectHook', 'add_work_dir_collect_hook']

COLLECT_DIR = '.dist_test'


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class WorkDirCollectHook(Hook):
    """Collect distributed evaluation results in ``work_dir/.dist_test``
    instead of ``./.dist_test`` in the current directory.

    Only metrics that collect through files (``collect_device='cpu'``) and
    have no ``collect_dir`` of their own are changed. ``tools/train.py``
    and ``tools/test.py`` register it on every run.

    Examples:
        >>> custom_hooks = [dict(type='WorkDirCollectHook')]
    """

    priority = 'VERY_HIGH'

    def before_val(self, runner: Runner) -> None:
        self._point(runner, runner.val_loop)

    def before_test(self, runner: Runner) -> None:
        self._point(runner, runner.test_loop)

    @staticmethod
    def _point(runner: Runner, loop) -> None:
        evaluator = getattr(loop, 'evaluator', None)
        if evaluator is None or get_world_size() == 1:
            return
        for metric in getattr(evaluator, 'metrics', ()):
            if (getattr(metric, 'collect_device', None) == 'cpu'
                    and getattr(metric, 'collect_dir', None) is None):
                metric.collect_dir = osp.join(
                    osp.abspath(runner.work_dir), COLLECT_DIR)


def add_work_dir_collect_hook(runner: Runner) -> Optional[Hook]:
    """Register a :class:`WorkDirCollectHook` unless the runner has one.

    Args:
        runner (Runner): A built runner.

    Returns:
        Hook, optional: The registered hook, or None if the runner already
        had one.
    """
    return add_hook_once(runner, WorkDirCollectHook)
