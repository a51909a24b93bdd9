# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The optimizer settings a resumed run would silently drop.

Resuming loads the checkpoint's optimizer state with torch's
``Optimizer.load_state_dict``, which replaces every setting of each param
group (``lr``, ``weight_decay``, ``momentum``, ``betas``, ...) with the
checkpoint's. A config changed since the checkpoint was saved therefore
trains with the old values, without a word.

The values compared are the base ones, as the config gives them (after
``paramwise_cfg``, which can give each group its own, and
``auto_scale_lr``): MMEngine's param schedulers record a group's value as
``initial_<name>`` when they are first built and then change the value
itself, so a resumed run's ``lr`` is the schedule's, not the config's.
:func:`optimizer_setting_changes` compares ``initial_<name>`` wherever it
is recorded.
"""
from typing import Any, Dict, List, Sequence, Tuple

__all__ = ['base_settings', 'optimizer_setting_changes', 'values_differ']

# torch's switches of how a step is computed, not what it computes.
_IMPLEMENTATION_KEYS = ('params', 'param_names', 'foreach', 'capturable',
                        'differentiable', 'fused')
_SHOWN_CHANGES = 10


def _plain(value: Any) -> Any:
    """``value`` with lists as tuples: a config may give ``betas`` as a
    list, torch keeps what it is given, and the checkpoint a tuple."""
    return tuple(value) if isinstance(value, list) else value


def base_settings(group: dict) -> Dict[str, Any]:
    """A param group's settings before any param scheduler changed them.

    Args:
        group (dict): A param group of a torch optimizer, or of its
            ``state_dict()``.

    Returns:
        dict: Each setting's base value: ``initial_<name>`` where a
        scheduler recorded it, else the value. Adam's ``betas`` take the
        recorded ``initial_momentum`` as their first value (MMEngine's
        momentum schedulers schedule ``betas[0]`` through a ``momentum``
        key, which is left out).
    """
    settings = {
        key: _plain(group.get(f'initial_{key}', value))
        for key, value in group.items()
        if key not in _IMPLEMENTATION_KEYS and not key.startswith('initial_')
    }
    if 'betas' in group:
        settings.pop('momentum', None)
        if 'initial_momentum' in group:
            settings['betas'] = (group['initial_momentum'], ) + tuple(
                group['betas'][1:])
    return settings


def values_differ(a: Any, b: Any) -> bool:
    """Whether two settings differ; values that cannot be compared (e.g.
    tensors of other shapes) do."""
    try:
        return bool(a != b)
    except Exception:  # e.g. tensors of other shapes
        return True


def _groups(indices: List[int], total: int) -> str:
    if total == 1:
        return ''
    if len(indices) == total:
        return f' (all {total} param groups)'
    shown = ', '.join(map(str, indices[:5]))
    more = ', ...' if len(indices) > 5 else ''
    plural = 's' if len(indices) > 1 else ''
    return f' (param group{plural} {shown}{more} of {total})'


def optimizer_setting_changes(groups: Sequence[dict],
                              saved_groups: Sequence[dict],
                              where: str = '') -> List[str]:
    """The settings in which a run's param groups differ from a
    checkpoint's, compared by :func:`base_settings`.

    Args:
        groups (Sequence[dict]): The run's param groups, as the config
            builds them (schedulers built, nothing loaded yet).
        saved_groups (Sequence[dict]): The checkpoint's, paired with
            ``groups`` in order.
        where (str): Put in front of each line, e.g. the name of an
            ``OptimWrapperDict`` entry. Defaults to ''.

    Returns:
        list[str]: One line per setting and pair of values, e.g.
        ``"lr 0.1 in the config, 0.05 in the checkpoint"`` with the param
        groups it concerns when the optimizer has several; at most 10,
        then how many more.
    """
    found: Dict[Tuple[str, str, str], List[int]] = {}
    for index, (group, saved) in enumerate(zip(groups, saved_groups)):
        own, old = base_settings(group), base_settings(saved)
        for key in own:
            if key in old and values_differ(own[key], old[key]):
                found.setdefault((key, repr(own[key]), repr(old[key])),
                                 []).append(index)
    lines = [
        f'{where}{key} {new} in the config, {old} in the checkpoint'
        f'{_groups(indices, len(groups))}'
        for (key, new, old), indices in found.items()
    ]
    if len(lines) > _SHOWN_CHANGES:
        lines = lines[:_SHOWN_CHANGES] + [
            f'{len(lines) - _SHOWN_CHANGES} more'
        ]
    return lines
