# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the config's ``AdapterHook`` entries before the Runner is built.

The hook refuses an unknown argument, an unknown ``mode`` or a ``head``
that names no module of the model only once the Runner builds or runs it,
after the work dir was made; most config mistakes are refused before.
:func:`check_adapter_hook_config` makes the checks that need no model
from the config alone: the arguments, ``mode``, and ``head`` against the
model's config keys when the model's class takes its head under one of the
names it tries (``cls_head`` of a recognizer, ``head`` of a classifier).
Linear probing of a model with adapters needs the built model: the hook
still refuses it.
"""
from typing import Optional

from mmengine.config import Config
from mmengine.registry import HOOKS, MODELS

from mmadaptformer.models.adapters.trainable import MODES
from mmadaptformer.utils import HEAD_NAMES, ConfigError
from mmadaptformer.utils.config_place import mistake_place
from mmadaptformer.utils.registry_names import (close_hint, registered,
                                                use_default_scope)
from mmadaptformer.utils.unknown_keys import named_arguments
from .adapter_hook import AdapterHook

__all__ = ['check_adapter_hook_config']


def _refuse(source: str, key: str, value, options: Optional[dict],
            why: str) -> None:
    raise ConfigError(f'{mistake_place(source, key, options, value)}: {why}')


def _check_head(cfg: Config, head, key: str, source: str,
                options: Optional[dict]) -> None:
    """Refuse a ``head`` of which no name is a head the config's model
    builds, if the model's class takes its head by one of
    :data:`HEAD_NAMES` (its head is then the attribute of that name)."""
    names = [head] if isinstance(head, str) else head
    if not isinstance(names, (list, tuple)) or \
            not all(isinstance(name, str) for name in names):
        _refuse(
            source, key, head, options,
            'AdapterHook head must be a list of attribute names of the '
            "model's head, such as ['cls_head'] (MMAction2) or ['head'] "
            '(MMPretrain), or [] for a model without a head.')
    model = cfg.get('model')
    if not names or not isinstance(model, dict) or 'type' not in model:
        return
    cls = registered(MODELS, model['type'], model.get('_scope_'))
    takes = [name for name in HEAD_NAMES if name in named_arguments(cls)]
    if not takes:
        return
    built = [name for name in takes if model.get(name) is not None]
    if any(name in built for name in names):
        return
    hint = f' Did you mean {built[0]!r}?' if built else ''
    _refuse(
        source, key, head, options,
        f'AdapterHook head={list(names)}: {model["type"]} builds no module '
        f'of {"this name" if len(names) == 1 else "these names"} (model.'
        f'{" / model.".join(takes)} is its head), so its head would stay '
        f'frozen at its initialisation.{hint} Set head to the head\'s '
        'attribute name, or head=[] for a model without a head.')


def check_adapter_hook_config(cfg: Config,
                              source: str,
                              options: Optional[dict] = None) -> None:
    """Refuse an ``AdapterHook`` entry of ``custom_hooks`` with an argument
    the hook does not take, a ``mode`` it does not know, or a ``head`` the
    model does not build, naming the key and where it was set.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: ``FILE: custom_hooks[N].KEY = VALUE: ...`` (or
            ``--cfg-options custom_hooks.N.KEY=VALUE: ...``, or
            ``custom_hooks[N].KEY = VALUE, set by --cfg-options
            custom_hooks=[...]: ...``) and what is expected.
    """
    hooks = cfg.get('custom_hooks')
    if not isinstance(hooks, (list, tuple)):
        return
    use_default_scope(cfg)
    takes = named_arguments(AdapterHook)
    for index, hook in enumerate(hooks):
        if not isinstance(hook, dict) or registered(
                HOOKS, hook.get('type'), hook.get('_scope_')) is not \
                AdapterHook:
            continue
        key = f'custom_hooks[{index}]'
        for name, value in hook.items():
            if name in ('type', '_scope_', 'priority') or name in takes:
                continue
            _refuse(
                source, f'{key}.{name}', value, options,
                f'AdapterHook takes no argument {name!r}'
                f'{close_hint(name, takes)}. It takes: {", ".join(takes)}.')
        mode = hook.get('mode', 'adaptformer')
        if mode not in MODES:
            _refuse(source, f'{key}.mode', mode, options,
                    f'AdapterHook mode={mode!r} is not one of {MODES}.')
        if 'head' in hook:
            _check_head(cfg, hook['head'], f'{key}.head', source, options)
