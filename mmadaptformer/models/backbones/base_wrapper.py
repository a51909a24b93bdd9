# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The base of the wrappers that attach trainable parts to a frozen host.

:class:`FrozenHostWrapper` holds what AdaptFormer and VPT share:

* it builds the stock host backbone (:func:`build_host_backbone`) and keeps
  its state-dict keys unchanged (the wrapper adds no prefix);
* it loads the host's pretrained weights **lazily**, never at build time:
  in ``init_weights()`` (training) or when a state dict without the host's
  weights, i.e. an adapter-only checkpoint, is loaded. A full or merged
  checkpoint replaces everything and needs no pretrained file;
* it checks the pretrained checkpoint before loading it, and refuses one of
  another architecture;
* it refuses an adapter-only state dict whose frozen backbone is not the one
  it was trained on, or whose trained part ran with other
  :meth:`~FrozenHostWrapper.trained_settings`. The per-tensor fingerprints
  of that backbone and those settings travel in the state dict itself,
  under ``<wrapper prefix>`` +
  :data:`~mmadaptformer.models.backbones.frozen_host_record.FROZEN_HOST_KEY`
  (see :mod:`~mmadaptformer.models.backbones.frozen_host_record`), so the
  check runs in the model's own load path: the Runner,
  ``mmengine.runner.load_checkpoint``, ``mmaction.apis.init_recognizer``,
  the Inferencers and ``mmpretrain.get_model`` all pass through it;
* it falls back to the host's attributes (e.g. ``num_extra_tokens``).
"""
import functools
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from ...utils.config_error import ConfigError
from ...utils.local_files import home_expanded
from ...utils.pretrained_init import pretrained_init_cfgs
from .config_keys import CONFIG_KEY, refuse_unknown_wrapper_keys
from .frozen_host_record import FROZEN_HOST_KEY, check_trained_settings
from .host_build import (INNER, build_host_backbone, load_post_hook,
                         load_pre_hook, save_outer_keys)
from .host_grad_guard import guard_host_gradients
from .host_init import OWN_WEIGHTS_ATTR, own_weights
from .host_loading import host_init_source, initialize_host
from .load_guard import UNNAMED_STATE_DICT, guard_load
from .trained_part_check import check_trained_part

__all__ = ['HOST_CONFIG_KEY', 'UNNAMED_STATE_DICT', 'FrozenHostWrapper']

#: Config key of the host's pretrained checkpoint in the recipes.
HOST_CONFIG_KEY = 'model.backbone.backbone.init_cfg.checkpoint'


class FrozenHostWrapper(BaseModule):
    """Base of the wrappers that attach trainable parts to a stock backbone.

    The stock backbone (the *host*) is built from ``backbone`` and kept as
    the child ``backbone``; state-dict keys are the host's own, without
    that prefix. Subclasses attach their parts in ``__init__`` after
    calling this one and list the modules they put inside the host in
    :meth:`attached_modules`. See the module docstring for the loading
    rules.

    Public attributes (read by tools and the multi-task API):

    * ``host_keys`` (list[str]): the host's own state-dict keys, before
      anything was attached.
    * ``host_initialized`` (bool): the host's ``init_weights()`` ran (and
      with it its ``Pretrained`` init_cfg, if any).
    * ``host_source`` (str, optional): where the host's weights come from:
      a checkpoint path, ``'state dict'`` for a full state dict loaded into
      the wrapper, or None while they are random (never loaded).
    * ``plan_applied`` (bool): a trainable plan set what trains
      (:func:`~mmadaptformer.models.adapters.apply_trainable`, the
      ``AdapterHook``'s).
    * ``allow_trained_host`` (bool): the host may train without a plan
      (full fine-tuning; ``ConfigCheckHook(allow_trained_host=True)`` sets
      it). Without either, a backward that would train the host's own
      parameters is refused (:mod:`.host_grad_guard`).

    Args:
        backbone (dict): Config of the stock backbone.
        init_cfg (dict, optional): Initialization config of the wrapper,
            applied by ``init_weights()`` after the host's. Defaults to None.
    """

    #: What the wrapper trains, singular, as its messages name it: "the
    #: adapter-only checkpoint ... the adapters were trained on".
    trained_part = 'adapter'
    #: Every state dict loaded into the wrapper is checked by
    #: :meth:`before_load` (see :data:`~mmadaptformer.utils.adapter_only_fit.
    #: CHECKS_OWN_LOADS`).
    checks_own_loads = True
    #: Set per instance (see the attributes above); declared here too, so
    #: that a wrapper pickled before they existed (``torch.save(model)``)
    #: has them when it is loaded.
    plan_applied = False
    allow_trained_host = False

    def __new__(cls, *args, **kwargs) -> 'FrozenHostWrapper':
        # Before __init__'s TypeError: where a misplaced key belongs.
        refuse_unknown_wrapper_keys(cls, kwargs)
        return super().__new__(cls)

    def __init__(self,
                 backbone: dict,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        module = build_host_backbone(backbone)
        if isinstance(module, FrozenHostWrapper):
            # Records, config keys, loads and the trained part all take one
            # wrapper around a stock host: a nested one was half-checked.
            raise ConfigError(
                f'{type(self).__name__} cannot wrap {type(module).__name__} '
                f'({CONFIG_KEY}.backbone.type={backbone["type"]!r}): a '
                'model takes one frozen-host wrapper, around a stock '
                f'backbone. Give {type(self).__name__} the stock backbone '
                f'that {type(module).__name__} wraps, or use '
                f'{type(module).__name__} alone.')
        self.backbone = module
        self.host_keys: List[str] = list(module.state_dict().keys())
        self.host_initialized = False
        self.host_source: Optional[str] = None
        self.plan_applied = False
        self.allow_trained_host = False
        self.register_state_dict_post_hook(save_outer_keys)
        self.register_load_state_dict_pre_hook(load_pre_hook)
        self.register_load_state_dict_post_hook(load_post_hook)

    # ------------------------------------------------------------ attaching
    def attached_modules(self) -> List[Tuple[nn.Module, str]]:
        """``(parent, name)`` of each module attached inside the host.

        They are set aside while the host initialises, so an ``init_cfg``
        that re-initialises every ``Linear`` leaves them alone.

        Returns:
            list[tuple[nn.Module, str]]: Empty here.
        """
        return []

    def trained_settings(self) -> Dict[str, Tuple[str, Any]]:
        """Settings that change what the trained part computes, not its
        tensors: kept in an adapter-only checkpoint's record and compared
        on load (:mod:`.frozen_host_record`).

        Returns:
            dict[str, tuple[str, Any]]: Name -> (config key, value).
        """
        return {}

    def fresh_tensors(self) -> List[torch.Tensor]:
        """The wrapper's own parameters and buffers (not the host's): a
        fresh start initialises them, a pretrained checkpoint lacks them.

        Read by :func:`mmadaptformer.utils.state_dict_check.fresh_keys`.

        Returns:
            list[torch.Tensor]: The tensors.
        """
        return list(self.parameters(recurse=False)) + list(
            self.buffers(recurse=False))

    def host_device_dtype(self) -> Tuple[torch.device, torch.dtype]:
        """Device and floating dtype of the host's first parameter.

        Returns:
            tuple: ``(device, dtype)``; CPU float32 for a host without
            floating-point parameters.
        """
        param = next(self.backbone.parameters(), None)
        if param is not None and param.is_floating_point():
            return param.device, param.dtype
        return torch.device('cpu'), torch.float32

    # ------------------------------------------------------------- loading
    @property
    def pretrained_key(self) -> str:
        """The config key of the checkpoint the host is loaded from."""
        if pretrained_init_cfgs(self) and not pretrained_init_cfgs(
                self.backbone):
            return 'model.backbone.init_cfg.checkpoint'
        if own_weights(
                self.backbone) and not pretrained_init_cfgs(self.backbone):
            return f'model.backbone.backbone.{OWN_WEIGHTS_ATTR}'
        return HOST_CONFIG_KEY

    @property
    def planned_host_source(self) -> Optional[str]:
        """Where ``init_weights()`` will load the host's weights from, read
        from the config before anything loads (a model built without
        weights): the wrapper's own last ``Pretrained`` init_cfg, else the
        host's (:func:`~.host_loading.host_init_source`); None if the host
        would keep random weights. A checkpoint loaded later (``load_from``,
        resume) is not counted: ``host_source`` tells once it loaded."""
        pretrained = pretrained_init_cfgs(self)
        if pretrained:
            return str(pretrained[-1].get('checkpoint'))
        return host_init_source(self.backbone)

    def init_host(self) -> None:
        """Initialise the host once, loading its ``Pretrained`` init_cfg.

        The checkpoint is checked first (one of another architecture is
        refused, nothing of it loaded, and so is a trained model: a file
        with the trained part, see
        :func:`~.load_refusals.refuse_trained_model`). The attached modules
        are set aside while it loads. Weights the host names and loads
        itself must load (:func:`~.host_init.check_own_weights_loaded`).

        Raises:
            PretrainedFileError: If the checkpoint holds adapters or
                prompts.
            StateDictMismatchError: If it does not fit the host, or if the
                weights the host names itself loaded none of its
                parameters.
        """
        initialize_host(self)

    def init_weights(self) -> None:
        """Initialise the host (loading its pretrained weights), the
        attached modules, then the wrapper's own ``init_cfg``.

        The attached modules (the adapters) get their initial values back
        here (``restore_init()``): an enclosing model's ``init_cfg`` has run
        over them before this, e.g. an mmpretrain classifier's
        ``TruncNormal`` over every ``Linear``, which would leave
        AdaptFormer's zero-initialised up-projections random. They then
        let go of the copy of those values (``release_init()``).
        """
        self.init_host()
        # Once: a later call, as MMEngine's, applies no init_cfg again.
        if not self.is_init:
            for parent, name in self.attached_modules():
                module = parent._modules[name]
                if hasattr(module, 'restore_init'):
                    module.restore_init()
                if hasattr(module, 'release_init'):
                    module.release_init()
        super().init_weights()
        pretrained = pretrained_init_cfgs(self)
        if pretrained:
            self.host_source = home_expanded(
                str(pretrained[-1].get('checkpoint')))

    def before_load(self, state_dict: Mapping, prefix: str) -> None:
        """Guard the frozen host before a state dict is loaded.

        Called by the wrapper's load pre-hook, on every loading path; the
        checks are :func:`~.load_guard.guard_load`'s. A state dict without
        (some of) the host's keys is an adapter-only one: the host's
        pretrained weights are loaded first, if they were not. When the
        state dict records the frozen backbone it was trained on
        (:data:`FROZEN_HOST_KEY`), the frozen tensors are compared with it,
        from the state dict where it has them, else from the model. A dry
        run on ``meta`` tensors checks only what an adapter-only state dict
        with that record leaves out, against the model's tensors.

        Args:
            state_dict (Mapping): The state dict being loaded; the entry
                :data:`FROZEN_HOST_KEY` is removed from it.
            prefix (str): The wrapper's prefix in it.

        Raises:
            FrozenBackboneMismatchError: If the frozen tensors differ.
            StateDictMismatchError: If it holds some of the trained part
                (adapters, prompts), but not all, or in other shapes; or
                if it is a full checkpoint that lacks some of the host's
                tensors (see :func:`~.load_refusals.refuse_full_with_holes`);
                or if its record names other :meth:`trained_settings`; or
                if it is adapter-only without that record, unless the
                caller checks its meta record (see
                :func:`~.load_guard.refuse_recordless`).
        """
        guard_load(self, state_dict, prefix)

    def diagnose_state_dict(self,
                            state_dict: Mapping,
                            prefix: str = '',
                            source: Optional[str] = None) -> None:
        """Raise the specific reason why a state dict does not fit this
        wrapper, if it is one this wrapper can name; return otherwise.

        The checks :meth:`before_load` makes that need no real tensors, in
        its order: a record of another host
        (:func:`~.trained_host.check_same_host`) or of other trained
        settings (:func:`~.frozen_host_record.check_trained_settings`), and
        a trained part of other settings or shapes
        (:func:`~.trained_part_check.check_trained_part`). Read by
        :func:`mmadaptformer.utils.state_dict_check.check_state_dict`
        before its generic message, so that a hook's or an API's check
        that runs before the load names the cause as the load would. (The
        record's fingerprints against the host's pretrained weights, for
        an adapter-only file on another backbone, are compared by that
        check's dry run of the load: :meth:`before_load` raises its
        :class:`FrozenBackboneMismatchError` there, and
        :func:`~mmadaptformer.utils.state_dict_diff.diff_state_dict` lets
        it through.)
        Nothing is loaded and ``state_dict`` is not changed.

        Args:
            state_dict (Mapping): The state dict (of the whole model).
            prefix (str): The wrapper's prefix in it. Defaults to ''.
            source (str, optional): The file it comes from, for the
                error. Defaults to None.

        Raises:
            StateDictMismatchError: Naming the cause.
        """
        entry = state_dict.get(prefix + FROZEN_HOST_KEY)
        if isinstance(entry, Mapping):
            if source is not None and not entry.get('source'):
                entry = dict(entry, source=source)
            check_trained_settings(self, entry)
        part = {
            k: v
            for k, v in state_dict.items()
            if k.startswith(prefix) and k != prefix + FROZEN_HOST_KEY
        }
        check_trained_part(self, part, prefix, source=source)

    def name_state_dict_source(self, source: str) -> None:
        """Name the file a full state dict loaded into the host came from.

        The Runner's ``load_from`` reaches the model as a bare state dict;
        :class:`~mmadaptformer.engine.AdapterHook` names it here, so the
        record of a checkpoint saved afterwards says which file the trained
        parts were trained on.

        Args:
            source (str): The file, e.g. the config's ``load_from``.
        """
        if self.host_source == UNNAMED_STATE_DICT:
            self.host_source = source

    # ------------------------------------------------------------- running
    def forward(self, *args, **kwargs) -> Any:
        """Run the host (refusing a backward that would train it unplanned,
        see :mod:`.host_grad_guard`)."""
        return guard_host_gradients(self, self.backbone(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get('_modules', {})
            if name == INNER or INNER not in modules:
                raise
            # Host code reads backbone attributes, e.g. ``num_extra_tokens``.
            value = getattr(modules[INNER], name)
            if name == 'get_layer_depth':
                return _outer_names(value)
            return value


def _outer_names(get_layer_depth):
    """The host's ``get_layer_depth(param_name, prefix)`` for the names of
    ``named_parameters()``, which have the wrapper's inner ``backbone.`` in
    front of the host's own (layer-wise lr decay, e.g. the BEiT recipes)."""

    @functools.wraps(get_layer_depth)
    def outer(param_name: str, prefix: str = '') -> Tuple[int, int]:
        inner = prefix + INNER + '.'
        if param_name.startswith(inner):
            param_name = prefix + param_name[len(inner):]
        return get_layer_depth(param_name, prefix)

    return outer
