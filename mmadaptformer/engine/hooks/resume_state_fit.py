# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How a checkpoint's optimizer and scheduler state fits a run's.

What :class:`~mmadaptformer.engine.ResumeCheckHook` compares before
MMEngine restores the state: optimizer param groups and per-parameter
state against the run's optimizer wrappers, scheduler states against the
config's schedulers.
"""
from typing import Any, List, Optional, Tuple

from mmengine.optim import BaseOptimWrapper

__all__ = [
    'optimizer_state_mismatch', 'scheduler_state_lists',
    'scheduler_config_keys', 'scheduler_setting_keys'
]

# Scheduler state that records progress, not configuration; keys with a
# leading underscore (``_global_step``, ``_last_value``) are progress too.
_PROGRESS_KEYS = ('last_step', 'verbose')
# Scheduler state copied from the optimizer's param groups (their
# ``initial_lr``...), whose changes the optimizer's warning names.
_FROM_OPTIMIZER = ('base_values', )
# Optimizer state that has the shape of its parameter (SGD, Adam/AdamW,
# RMSprop, Adagrad, Adadelta).
_PARAM_SHAPED_STATE = ('momentum_buffer', 'exp_avg', 'exp_avg_sq',
                       'max_exp_avg_sq', 'square_avg', 'sum', 'acc_delta',
                       'grad_avg')


def _sizes(sizes: List[int]) -> str:
    shown = ', '.join(map(str, sizes[:5]))
    return f'[{shown}{", ..." if len(sizes) > 5 else ""}]'


def optimizer_state_mismatch(wrapper: BaseOptimWrapper,
                             state: Any) -> Optional[str]:
    """How the optimizer state ``state`` does not fit ``wrapper``'s
    optimizer, or None if it fits.

    Args:
        wrapper (BaseOptimWrapper): One of the run's built optimizer
            wrappers.
        state (Any): The checkpoint's state of that optimizer.

    Returns:
        str, optional: What differs (param groups and their sizes, or the
        first per-parameter state of another shape), as a clause.
    """
    groups = wrapper.optimizer.param_groups
    own = [len(group['params']) for group in groups]
    saved_groups = state.get('param_groups') if isinstance(state,
                                                           dict) else None
    if not isinstance(saved_groups, list):
        return ('it is not an optimizer state dict (no list of '
                "'param_groups')")
    saved = [len(group.get('params', ())) for group in saved_groups]
    if saved != own:
        return (f'{len(saved)} param groups holding {sum(saved)} tensors '
                f'{_sizes(saved)} in the checkpoint, {len(own)} holding '
                f'{sum(own)} {_sizes(own)} in this run')
    per_param = state.get('state') or {}
    for index, (group, saved_group) in enumerate(zip(groups, saved_groups)):
        for param, param_id in zip(group['params'], saved_group['params']):
            for name, value in (per_param.get(param_id) or {}).items():
                shape = getattr(value, 'shape', None)
                if name in _PARAM_SHAPED_STATE and shape is not None and \
                        tuple(shape) != tuple(param.shape):
                    return (f'the {name} of tensor {param_id} (param group '
                            f'{index}) has shape {tuple(shape)} in the '
                            f'checkpoint, but its parameter here has '
                            f'{tuple(param.shape)}')
    return None


def scheduler_state_lists(schedulers: Any,
                          saved: Any) -> List[Tuple[str, list, Any]]:
    """Pair each list of the run's schedulers with the checkpoint's.

    Args:
        schedulers (Any): ``runner.param_schedulers``: a list, or a dict of
            lists by optimizer name.
        saved (Any): The checkpoint's ``'param_schedulers'``.

    Returns:
        list[tuple]: ``(config key, the run's schedulers, the checkpoint's
        states)`` for each list of schedulers.
    """
    if isinstance(schedulers, dict):
        saved = saved if isinstance(saved, dict) else {}
        return [(f'param_scheduler[{name!r}]', list(value), saved.get(name))
                for name, value in schedulers.items()]
    return [('param_scheduler', list(schedulers), saved)]


def scheduler_config_keys(state: dict) -> List[str]:
    """The keys of a scheduler's state that are configuration, not
    progress.

    Args:
        state (dict): A scheduler's ``state_dict()``.

    Returns:
        list[str]: Its keys, less the progress (``last_step``, keys with a
        leading underscore).
    """
    return [
        k for k in state if not k.startswith('_') and k not in _PROGRESS_KEYS
    ]


def scheduler_setting_keys(state: dict) -> List[str]:
    """The scheduler's own settings (``T_max``, ``end``...).

    Args:
        state (dict): A scheduler's ``state_dict()``.

    Returns:
        list[str]: Its configuration keys, less those copied from the
        optimizer's param groups (``base_values``).
    """
    return [
        k for k in scheduler_config_keys(state) if k not in _FROM_OPTIMIZER
    ]
