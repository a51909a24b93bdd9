# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the config's ``AdapterHook`` entries before the Runner is built.

The hook refuses an unknown argument, an unknown ``mode`` or a ``head``
that names no module of the model only once the Runner builds or runs it,
after the work dir was made; most config mistakes are refused before.
:func:`check_adapter_hook_config` makes the checks that need no model
from the config alone: the arguments, ``mode``, that ``extra_trainable``
holds regular expressions, and ``head`` against the
model's config keys when the model's class takes its head under one of the
names it tries (``cls_head`` of a recognizer, ``head`` of a classifier).
What needs the built model (an ``extra_trainable`` pattern that matches
no parameter, linear probing of a model with adapters, a plan in which
nothing trains) :func:`check_adapter_hook_plan` refuses: it makes each
hook's trainable plan on the model built once without weights. A Runner
that the user builds still gets the hook's own refusal at run time.
Before training (``training=True``, ``tools/train.py``), the same model
also shows whether its head would stay frozen (``head=[]`` on a model with
one: :func:`~mmadaptformer.models.adapters.frozen_head.refuse_frozen_head`)
and whether the frozen backbone would stay random (the hook's
:func:`~.unloaded_backbone.refuse_unloaded_backbone`, before the Runner
makes the work dir), and a model with AdaptFormer or VPT that no
AdapterHook would freeze is refused, whether or not the config lists the
``ConfigCheckHook`` that refuses it at run time.
"""
import re
from typing import Optional

from mmengine.config import Config
from mmengine.registry import MODELS
from torch import nn

from mmadaptformer.models.adapters.frozen_head import refuse_frozen_head
from mmadaptformer.models.adapters.trainable import MODES, plan_trainable
from mmadaptformer.models.backbones.config_host import build_without_weights
from mmadaptformer.utils import HEAD_NAMES, ConfigError
from mmadaptformer.utils.config_place import mistake_place
from mmadaptformer.utils.hook_entries import hook_entries
from mmadaptformer.utils.model_unwrap import unwrapped_model
from mmadaptformer.utils.quiet_build import quiet_build_log
from mmadaptformer.utils.registry_names import close_hint, registered
from mmadaptformer.utils.unknown_keys import named_arguments
from ..plan_argument_place import naming_plan_arguments
from .adapter_hook import AdapterHook, repeated_adapter_hooks
from .adapter_hook_presence import check_adapter_hook_presence
from .unloaded_backbone import refuse_unloaded_backbone

__all__ = ['check_adapter_hook_config', 'check_adapter_hook_plan']


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


def _check_patterns(patterns, key: str, source: str,
                    options: Optional[dict]) -> None:
    """Refuse an ``extra_trainable`` that is not a regular expression or a
    list of them, or a pattern that does not compile (a ``TypeError`` or
    ``re.error`` traceback once the hook made its plan)."""
    items = [patterns] if isinstance(patterns, str) else patterns
    if not isinstance(items, (list, tuple)) or \
            not all(isinstance(item, str) for item in items):
        _refuse(
            source, key, patterns, options,
            'AdapterHook extra_trainable must be a list of regular '
            "expressions searched in the parameters' state-dict keys, such "
            "as [r'^backbone\\.fc_norm\\.'], or [].")
    for item in items:
        try:
            re.compile(item)
        except re.error as e:
            _refuse(
                source, key, patterns, options,
                f'AdapterHook extra_trainable pattern {item!r} is not a '
                f'regular expression: {e}.')


def check_adapter_hook_config(cfg: Config,
                              source: str,
                              options: Optional[dict] = None,
                              model: Optional[nn.Module] = None,
                              training: bool = False) -> None:
    """Refuse an ``AdapterHook`` entry (or subclass, in ``default_hooks``
    or ``custom_hooks``, found by
    :func:`~mmadaptformer.utils.hook_entries.hook_entries`) with an
    argument the hook does not take, a ``mode`` it does not know, or a
    ``head`` the model does not build, naming the key and where it was
    set.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        model (nn.Module, optional): The config's model built without
            weights, as :func:`~mmadaptformer.models.check_model_config`
            returns it, for :func:`check_adapter_hook_plan`. Defaults to
            None (built there if needed).
        training (bool): Whether the run trains: see
            :func:`check_adapter_hook_plan`; a model with AdaptFormer or
            VPT and no AdapterHook is then refused too
            (:func:`~.adapter_hook_presence.check_adapter_hook_presence`).
            Defaults to False.

    Raises:
        ConfigError: ``FILE: custom_hooks[N].KEY = VALUE: ...`` (or
            ``--cfg-options custom_hooks.N.KEY=VALUE: ...``, or
            ``custom_hooks[N].KEY = VALUE, set by --cfg-options
            custom_hooks=[...]: ...``; ``default_hooks.NAME.KEY`` for an
            entry there) and what is expected.
    """
    if training:
        check_adapter_hook_presence(cfg, source, options, model)
    entries = hook_entries(cfg, AdapterHook)
    if len(entries) > 1:
        raise ConfigError(
            f'{mistake_place(source, entries[1].key, options)}: '
            f'{repeated_adapter_hooks([found.key for found in entries])}')
    for key, _, hook, cls in entries:
        takes = named_arguments(cls)
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
        if 'extra_trainable' in hook:
            _check_patterns(hook['extra_trainable'], f'{key}.extra_trainable',
                            source, options)
    check_adapter_hook_plan(cfg, source, options, model, training)


def check_adapter_hook_plan(cfg: Config,
                            source: str,
                            options: Optional[dict] = None,
                            model: Optional[nn.Module] = None,
                            training: bool = False) -> None:
    """Make the trainable plan of each ``AdapterHook`` entry (or subclass,
    in ``default_hooks`` or ``custom_hooks``) on the config's model, as the
    hook makes it in a run, and name where the argument it refuses was
    set.

    The model is built once, without weights (on the meta device where its
    constructor allows), and only if the config has an AdapterHook and
    ``model`` is not given; a model that cannot be built is left to the
    Runner, which names the mistake when it builds it.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        model (nn.Module, optional): The config's model, built without
            weights by the model checks before (a plan changes no
            weight). Defaults to None: built here.
        training (bool): Whether the run trains: then ``head=[]`` on a
            model with a head is refused, and an entry without
            ``allow_random_backbone=True`` also refuses a frozen backbone
            that nothing would load, as the hook does at ``before_train``
            (a config that loads or resumes a checkpoint is left to the
            hook, which knows once it is loaded whether it held the
            backbone). Defaults to False (``tools/test.py``).

    Raises:
        ConfigError: ``--cfg-options custom_hooks.N.KEY=VALUE: ...`` (or
            ``FILE: custom_hooks[N].KEY = VALUE: ...``; ``FILE:
            custom_hooks[N]: ...`` where no single argument is at fault;
            ``default_hooks.NAME...`` for an entry there)
            and the plan's refusal (a
            :class:`~mmadaptformer.models.adapters.trainable.PlanArgumentError`).
        UnloadedBackboneError: With ``training``, as the hook raises it.
    """
    model_cfg = cfg.get('model')
    if not isinstance(model_cfg, dict) or 'type' not in model_cfg:
        return
    entries = hook_entries(cfg, AdapterHook)
    if not entries:
        return
    if model is None:
        with quiet_build_log():
            model = build_without_weights(model_cfg)
    if model is None:
        return
    # The model the hook plans on: the one inside test.py --tta's wrapper.
    model = unwrapped_model(model)
    for _, position, hook_cfg, cls in entries:
        # Built as the Runner builds it, so the plan reads the arguments
        # as the hook does (a pattern given as one string, a head name).
        hook = cls(
            **{
                name: value
                for name, value in hook_cfg.items()
                if name not in ('type', '_scope_', 'priority')
            })
        with naming_plan_arguments(cfg, source, options, position):
            plan_trainable(
                model,
                mode=hook.mode,
                head=hook.head,
                extra_trainable=hook.extra_trainable)
            if training:
                # As the hook refuses it at before_train.
                refuse_frozen_head(model, hook.head)
        if training and not hook.allow_random_backbone:
            refuse_unloaded_backbone(model, cfg, initialized=False)
