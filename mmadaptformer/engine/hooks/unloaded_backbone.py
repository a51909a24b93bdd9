# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse to train adapters on a random frozen backbone."""
from contextlib import ExitStack
from typing import List, Mapping, Set, Tuple

from mmengine.runner import Runner
from torch import nn

from mmadaptformer.models.backbones.base_wrapper import FrozenHostWrapper
from mmadaptformer.models.backbones.host_init import (
    OWN_WEIGHTS_ATTR, check_own_weights_loaded, init_cfg_skipping_flags,
    own_weights, recording_loads, takes_own_pretrained_only)
from mmadaptformer.models.backbones.host_loading import host_init_source
from mmadaptformer.models.backbones.own_loading_hint import \
    own_loading_alternative
from mmadaptformer.models.backbones.own_loads import check_own_weights_fit
from mmadaptformer.utils.config_place import value_at
from mmadaptformer.utils.pretrained_init import pretrained_init_cfgs

__all__ = [
    'UnloadedBackboneError', 'check_backbone_loaded',
    'refuse_unloaded_backbone', 'OwnWeightsLoads'
]


class UnloadedBackboneError(RuntimeError):
    """Training would start on a frozen backbone that no checkpoint
    loaded: random weights."""


def check_backbone_loaded(runner: Runner, model: nn.Module) -> None:
    """Refuse to train on a frozen backbone that was never loaded from a
    checkpoint: its weights are random (:func:`refuse_unloaded_backbone`
    on the runner's config, once the weights are initialised and the
    runner's checkpoint is loaded).

    Args:
        runner (Runner): The runner about to train.
        model (nn.Module): Its unwrapped model, weights initialised.

    Raises:
        UnloadedBackboneError: Naming the backbone, the config key that
            loads it and ``AdapterHook(allow_random_backbone=True)``.
    """
    refuse_unloaded_backbone(model, runner.cfg)


class OwnWeightsLoads:
    """Record what the plain modules of a model that load the weights they
    name themselves (:func:`~mmadaptformer.models.backbones.host_init.
    own_weights`, no ``Pretrained`` init_cfg: TimeSformer's
    ``pretrained``) load while the Runner initialises it, and refuse one
    that loaded none of its parameters, as the frozen-host wrappers refuse
    their host's (:func:`~mmadaptformer.models.backbones.host_init.
    check_own_weights_loaded`): such a file (e.g. a recognizer checkpoint
    with a ``backbone.`` prefix) loads non-strictly, with a warning only,
    and :func:`refuse_unloaded_backbone` counts the weights it names.
    Also refused: a frozen parameter the file held with another shape
    (e.g. TimeSformer's ``pos_embed`` from a 2D ViT of another
    ``img_size``), which MMEngine skips with a warning and which would stay
    random (:func:`~mmadaptformer.models.backbones.own_loads.
    check_own_weights_fit`); a trainable one (``extra_trainable``) learns
    from its initialisation, as in MMEngine.

    Args:
        model (nn.Module): The unwrapped model, before its weights are
            initialised (``AdapterHook.before_run``).
    """

    def __init__(self, model: nn.Module) -> None:
        outside = {id(m) for m in _outside_wrappers(model, _wrappers(model))}
        self._stack = ExitStack()
        self._records: List[Tuple[str, nn.Module, str, List[Set[str]]]] = []
        for name, module in model.named_modules():
            own = own_weights(module)
            if id(module) in outside and own is not None and \
                    not pretrained_init_cfgs(module):
                loads = self._stack.enter_context(recording_loads(module))
                self._records.append((name, module, own, loads))

    def close(self) -> None:
        """Stop recording (a run that does not train: ``Runner.test()``
        calls ``before_run`` too)."""
        self._stack.close()
        self._records = []

    def check(self) -> None:
        """Stop recording; refuse a module that loaded none of its
        parameters from the weights it names, or left frozen ones of
        another shape at their initialisation. A module that loaded nothing
        at all in the run was initialised before it (a model given to the
        Runner built and initialised), and is left alone.

        Raises:
            StateDictMismatchError: Naming the file and its config key.
        """
        self._stack.close()
        records, self._records = self._records, []
        for name, module, own, loads in records:
            if not loads:  # initialised before the run: nothing to judge
                continue
            key = 'model' + (f'.{name}' if name else '')
            key = f'{key}.{OWN_WEIGHTS_ATTR}'
            check_own_weights_loaded(module, loads, own, key, plain=True)
            # Run at before_train: the hook has frozen what it freezes.
            check_own_weights_fit(module, loads, own, key, frozen_only=True)


def _wrappers(model: nn.Module) -> List[Tuple[str, FrozenHostWrapper]]:
    """``(name, module)`` of the frozen-host wrappers of ``model``."""
    return [(name, module) for name, module in model.named_modules()
            if isinstance(module, FrozenHostWrapper)]


def _outside_wrappers(model: nn.Module, wrappers) -> list:
    """The modules of ``model`` that are no wrapper nor inside one."""
    inside = {id(m) for _, wrapper in wrappers for m in wrapper.modules()}
    return [m for m in model.modules() if id(m) not in inside]


def _unread_pretrained_hint(cfg: Mapping, host_key: str,
                            host: nn.Module) -> str:
    """Say that the host's config sets ``pretrained``, which the host took
    and does not load (mmaction2's VideoMAE ``VisionTransformer`` turns it
    into its ``init_cfg``, then its ``init_cfg`` argument replaces that);
    empty if it sets none or the host loads it."""
    value = value_at(
        cfg.get('model'),
        host_key.partition('.')[2] + '.pretrained')
    if not isinstance(value, str) or not value or \
            host_init_source(host) is not None:
        return ''
    return (f'{host_key}.pretrained={value!r} loads nothing: '
            f'{type(host).__name__} takes it but never loads it; give that '
            'file as --pretrained or as the init_cfg above.')


def _loading_hint(cfg: Mapping, host_key: str, host: nn.Module) -> str:
    """What else loads ``host`` (the weights it reads itself by name), or
    why the ``pretrained`` its config sets loaded nothing; empty if
    neither applies."""
    return own_loading_alternative(host, host_key) or \
        _unread_pretrained_hint(cfg, host_key, host)


def refuse_unloaded_backbone(model: nn.Module,
                             cfg: Mapping,
                             initialized: bool = True) -> None:
    """Refuse to train on a frozen backbone that was never loaded from a
    checkpoint: its weights are random.

    The one rule of the ``AdapterHook`` (at ``before_train``) and of
    ``tools/train.py``'s check before the Runner is built. A frozen-host
    wrapper's backbone counts as loaded when the wrapper loaded its
    pretrained weights (``host_source``); a plain backbone when a module
    names weights its initialisation loads, as a wrapper's host names them
    (:func:`~mmadaptformer.models.backbones.host_loading.host_init_source`:
    a ``Pretrained`` init_cfg, or the file a host such as TimeSformer,
    UniFormer(V2) or Swin3D loads itself through its own ``pretrained``),
    or the config loads or resumes a checkpoint (``load_from``,
    ``resume``).

    Before anything is loaded (``initialized=False``, a model built without
    weights), a wrapper counts as loaded by the weights its init_cfg names
    (``planned_host_source``). Whether a checkpoint that the config loads,
    resumes or names in a ``Pretrained`` init_cfg outside the wrappers
    holds the backbone (a full checkpoint) or not (an adapter-only one) is
    known once it is loaded: such a model passes here, and the hook
    decides.

    Args:
        model (nn.Module): The unwrapped model.
        cfg (Mapping): The run's config (``load_from``, ``resume``).
        initialized (bool): Whether the model's weights are initialised
            and the config's checkpoint loaded. Defaults to True.

    Raises:
        UnloadedBackboneError: Naming the backbone, the config key that
            loads it and ``AdapterHook(allow_random_backbone=True)``.
    """
    loads_checkpoint = bool(cfg.get('load_from') or cfg.get('resume'))
    hint = ''
    flags: List[str] = []
    wrappers = _wrappers(model)
    if wrappers:
        if initialized:
            unloaded = [(name, module) for name, module in wrappers
                        if module.host_source is None]
        elif loads_checkpoint or any(
                pretrained_init_cfgs(m)
                for m in _outside_wrappers(model, wrappers)):
            return
        else:
            unloaded = [(name, module) for name, module in wrappers
                        if module.planned_host_source is None]
        if not unloaded:
            return
        name, module = unloaded[0]
        key = module.pretrained_key.replace('model.backbone.',
                                            f'model.{name}.', 1)
        what = (f'The frozen backbone {type(module.backbone).__name__} '
                f'of {type(module).__name__} (model.{name}.backbone)')
        # The wrapper loads its host's init_cfg whatever the host's flags.
        hint = _loading_hint(cfg, f'model.{name}.backbone', module.backbone)
    else:
        if loads_checkpoint or any(
                host_init_source(m) is not None for m in model.modules()):
            return
        backbone = getattr(model, 'backbone', None)
        key = 'model.backbone.init_cfg.checkpoint'
        what = (f'The frozen backbone {type(backbone).__name__} '
                '(model.backbone)')
        if isinstance(backbone, nn.Module):
            if takes_own_pretrained_only(backbone):
                key = f'model.backbone.{OWN_WEIGHTS_ATTR}'
            else:
                # A plain host runs its init_cfg only with these off.
                flags = init_cfg_skipping_flags(
                    type(backbone), lambda flag: getattr(backbone, flag, None))
            hint = _loading_hint(cfg, 'model.backbone', backbone)
    off = ''.join(f'model.backbone.{flag} = False and ' for flag in flags)
    if key.endswith('.checkpoint'):
        init_cfg = key[:-len('.checkpoint')]
        setting = (f"{off}{init_cfg} = dict(type='Pretrained', "
                   f'checkpoint=PATH) (config key {key})')
    else:
        # A host that takes no init_cfg (TimeSformer) reads its own.
        setting = f'{key} = PATH'
    turns = ' (which turns ' + ' and '.join(
        f'model.backbone.{flag}' for flag in flags) + ' off)' if flags else ''
    raise UnloadedBackboneError(
        f'AdapterHook: {what} was never loaded from a checkpoint: its '
        f'weights are random, and what trains on random frozen weights '
        f'is useless on any real backbone. Give tools/train.py '
        f'--pretrained PATH{turns}, or set '
        f'{setting}, or load a full checkpoint with load_from.' +
        (f' {hint}' if hint else '') + ' To train on a random frozen '
        'backbone on purpose (tests, a demo that pretrains it), set '
        'AdapterHook(allow_random_backbone=True).')
