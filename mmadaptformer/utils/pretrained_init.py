# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine's ``Pretrained`` ``init_cfg`` entries: find them, and check each
checkpoint with :func:`~mmadaptformer.utils.state_dict_check.check_state_dict`
before MMEngine loads it (non-strictly)."""
from typing import Any, Callable, List, Mapping, Optional

from torch import nn

from .state_dict_check import check_state_dict

__all__ = [
    'pretrained_init_cfgs', 'is_pretrained_cfg', 'check_pretrained_init'
]


def pretrained_init_cfgs(module: nn.Module) -> List[dict]:
    """The ``Pretrained`` entries of a module's own ``init_cfg``.

    Args:
        module (nn.Module): Any module.

    Returns:
        list[dict]: The entries, possibly empty.
    """
    init_cfg = getattr(module, 'init_cfg', None)
    if not init_cfg:
        return []
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [dict(cfg) for cfg in cfgs if is_pretrained_cfg(cfg)]


def is_pretrained_cfg(cfg: Any) -> bool:
    """Whether an ``init_cfg`` entry is MMEngine's ``Pretrained``.

    Args:
        cfg (Any): One entry of an ``init_cfg``.

    Returns:
        bool: True for ``dict(type='Pretrained', ...)``.
    """
    from mmengine.model.weight_init import PretrainedInit
    return isinstance(
        cfg, dict) and cfg.get('type') in ('Pretrained', PretrainedInit)


def check_pretrained_init(module: nn.Module,
                          owner: str = 'init_cfg',
                          map_location: Optional[str] = 'cpu',
                          already_loaded: bool = False,
                          read: Optional[Callable[[Mapping], Any]] = None,
                          screen: Optional[Callable[[Mapping, str],
                                                    None]] = None,
                          hint: str = '') -> int:
    """Check every ``Pretrained`` ``init_cfg`` of ``module`` before it loads.

    Reads each checkpoint as :class:`mmengine.model.PretrainedInit` does
    (the ``prefix`` sub-dict, or the whole ``state_dict``) and applies
    :func:`check_state_dict` to ``module``. Each module is checked once.

    Args:
        module (nn.Module): The module with the ``init_cfg``.
        owner (str): The config key of the module, for the error, e.g.
            ``'model.backbone.backbone'``. Defaults to ``'init_cfg'``.
        map_location (str, optional): Where to load the tensors.
            Defaults to 'cpu'.
        already_loaded (bool): The module's weights were initialised
            already (see :func:`check_state_dict`). Defaults to False.
        read (Callable, optional): Reads an entry's state dict the way the
            module itself loads it, or returns None to read it as
            ``PretrainedInit`` does. Defaults to None.
        screen (Callable, optional): Called with each state dict and its
            file before the check; raises to refuse a file that fits but
            must not be loaded there, e.g. a trained model given as a
            backbone's pretrained weights. Defaults to None.
        hint (str): Said after the advice of a refusal, e.g. how the module
            reads checkpoints of another layout itself. Defaults to ''.

    Returns:
        int: How many checkpoints were checked.

    Raises:
        StateDictMismatchError: If a checkpoint does not fit ``module``.
    """
    from mmengine.runner.checkpoint import (_load_checkpoint,
                                            _load_checkpoint_with_prefix)
    if module.__dict__.get('_pretrained_checked'):
        return 0
    checked = 0
    for cfg in pretrained_init_cfgs(module):
        path, prefix = cfg.get('checkpoint'), cfg.get('prefix')
        location = cfg.get('map_location', map_location)
        state_dict = None if read is None else read(cfg)
        if state_dict is None and prefix is None:
            state_dict = _load_checkpoint(path, map_location=location)
            if isinstance(state_dict, dict) and 'state_dict' in state_dict:
                state_dict = state_dict['state_dict']
        elif state_dict is None:
            state_dict = _load_checkpoint_with_prefix(
                prefix, path, map_location=location)
        if screen is not None:
            screen(state_dict, path)
        where = f'{owner}.init_cfg' + (f' (prefix={prefix!r})'
                                       if prefix is not None else '')
        check_state_dict(
            module,
            state_dict,
            source=f'Pretrained checkpoint {path} of {where}',
            hint='Point init_cfg.checkpoint at a checkpoint of this '
            'architecture, or convert it with '
            'tools/model_converters/convert_official.py.' +
            (f' {hint}' if hint else ''),
            already_loaded=already_loaded)
        checked += 1
    module.__dict__['_pretrained_checked'] = True
    return checked
