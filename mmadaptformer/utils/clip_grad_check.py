# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check ``optim_wrapper.clip_grad`` before the Runner builds anything.

MMEngine's ``OptimWrapper`` keeps ``clip_grad`` (``type`` aside) as the
keyword arguments of ``torch.nn.utils.clip_grad_norm_`` (``type='norm'``,
the default) or ``clip_grad_value_``, and passes them only at the first
step: a misspelled argument (``max_norn=1.``), or ``norm_type`` without
``max_norm``, was a ``TypeError`` traceback from inside the first training
iteration, after the model was built and the first batch loaded; a
``type`` other than ``'norm'`` or ``'value'`` was a ``ValueError`` once the
Runner built the wrapper, after the model. :func:`check_clip_grad` names
each first.
"""
import inspect
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from .config_error import ConfigError
from .config_place import mistake_place
from .registry_names import close_hint, registered, use_default_scope

__all__ = ['check_clip_grad', 'CLIP_FUNCTIONS']

#: What ``OptimWrapper`` calls for each ``clip_grad.type``.
CLIP_FUNCTIONS = {
    'norm': torch.nn.utils.clip_grad_norm_,
    'value': torch.nn.utils.clip_grad_value_,
}

#: Where the optimizer wrappers that handle ``clip_grad`` as
#: ``OptimWrapper`` does live (MMEngine's ``AmpOptimWrapper``, our
#: ``AdaptAmpOptimWrapper``); a user's own may read it another way.
_KNOWN_MODULES = ('mmengine.', 'mmadaptformer.')


def check_clip_grad(cfg: Config,
                    source: str,
                    options: Optional[dict] = None) -> None:
    """Check the arguments of ``optim_wrapper.clip_grad`` against the clip
    function its ``type`` picks.

    Args:
        cfg (Config): The config; one whose optimizer wrapper is not
            MMEngine's ``OptimWrapper`` (or a subclass of MMEngine's or
            ours), or that has no ``clip_grad`` dict, is not checked.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key (or the option that set it) and what
            the clip function takes, for a ``type`` that picks none, an
            argument it does not take or one it needs and lacks.
    """
    optim_wrapper = cfg.get('optim_wrapper')
    clip_grad = optim_wrapper.get('clip_grad') if isinstance(
        optim_wrapper, dict) else None
    if not isinstance(clip_grad, dict) or not clip_grad:
        return  # MMEngine's own assertion names an empty one
    use_default_scope(cfg)
    cls = registered(OPTIM_WRAPPERS, optim_wrapper.get('type', 'OptimWrapper'),
                     optim_wrapper.get('_scope_'))
    if not isinstance(cls, type) or not issubclass(
            cls,
            OptimWrapper) or not cls.__module__.startswith(_KNOWN_MODULES):
        return
    key = 'optim_wrapper.clip_grad'
    # Ours (AdaptAmpOptimWrapper...) clip as MMEngine's OptimWrapper does.
    owner = (f"MMEngine's {cls.__name__}"
             if cls.__module__.startswith('mmengine') else cls.__name__)
    kind = clip_grad.get('type', 'norm')
    if kind not in CLIP_FUNCTIONS:
        hint = close_hint(kind, list(CLIP_FUNCTIONS)) if isinstance(
            kind, str) else ''
        raise ConfigError(
            f'{mistake_place(source, f"{key}.type", options)}: {kind!r} is '
            f"neither 'norm' nor 'value'{hint}; {owner} would refuse "
            'it once the Runner builds it, after the model.')
    function = CLIP_FUNCTIONS[kind]
    name = f'torch.nn.utils.{function.__name__}'
    parameters = [
        p for p in inspect.signature(function).parameters.values()
        if p.name != 'parameters'
    ]
    takes = [p.name for p in parameters]
    fate = (f'{owner} passes clip_grad to {name} at the '
            'first training step, which would fail there with a TypeError')
    for argument in clip_grad:
        if argument != 'type' and argument not in takes:
            raise ConfigError(
                f'{mistake_place(source, f"{key}.{argument}", options)}: '
                f'{argument!r} is no argument of {name}'
                f'{close_hint(argument, takes)}; {fate}. It takes: '
                f'{", ".join(takes)}.')
    for p in parameters:
        if p.default is p.empty and p.name not in clip_grad:
            raise ConfigError(
                f'{mistake_place(source, key, options)}: clip_grad '
                f'(type={kind!r}) lacks {p.name}, which {name} needs; '
                f'{fate}.')
