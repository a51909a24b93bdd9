# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the model part of a config before the Runner makes its work dir.

The wrapper (:class:`~.AdaptFormer`, :class:`~.VPT`) checks its own
arguments when it is built: ``adapter.bottleneck=0``, ``layers=[12]`` on a
12-block ViT, ``placement='serial'``, an unknown ``adapter`` key. The
Runner builds it after it has made the work dir and written 200 lines of
log, and the error named neither the config file nor the
``--cfg-options`` entry. :func:`check_model_config` builds the wrapper once
first (the host's weights are not loaded at build time) and names the file
or the option in front of the wrapper's own message.

It builds the wrapper inside the whole model, without weights, and hands
that model back for the AdapterHook's plan check, which built it again
(mmaction2's video ViT-B builds only on the CPU: 0.4 s each time). Where
the whole model does not build, the mistake that stopped it is named
there: the wrapper's refusal, or a ``type`` no registry holds and an
argument a class does not take (a misspelled head), named as the Runner's
build would name them, but before the work dir. Each such mistake took
up to five builds: the whole model on the meta device and the CPU, the
wrapper alone, and both whole builds again in the plan check. Only an
error of another kind has the wrapper built alone, for the host's checks
(which name a head width the host does not give, say), before it is
raised.

A plain host that the checks read (the linear-probe and full-fine-tuning
baselines' ViT-B) is read in the whole model too: it was built alone for
the checks, then in the whole model by the plan check (0.9 s on one CPU
thread for the SSv2 baseline, 0.45 s now). A tool that makes no plan
builds the wrapper alone, on the meta device where its host builds there
(mmpretrain's ViT-B: 0.02 s, not 0.28 s on the CPU).
"""
import re
from typing import Mapping, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import MODELS
from torch import nn

from ...utils.backbone_check import (check_backbone_arguments, check_init_cfgs,
                                     check_pretrained_files)
from ...utils.build_option_notes import note_build_options
from ...utils.config_error import ConfigError
from ...utils.config_mistakes import config_mistake
from ...utils.config_place import mistake_place, option_place
from ...utils.kept_delete import refuse_kept_delete
from ...utils.quiet_build import quiet_build_log
from ...utils.registry_names import registered, use_default_scope
from ..adapters.block_wiring import BlockWiringError
from ..hosts import host_spec
from .base_wrapper import FrozenHostWrapper
from .config_host import (build_on_meta_or_cpu, build_without_weights,
                          config_host)
from .config_keys import CONFIG_KEY
from .head_width import check_head_width, compared_head
from .host_init import plain_host_init_cfg_problem
from .host_outputs import check_host_outputs
from .own_pretrained import pretrained_names_of_cfg
from .pretrained_prefix_check import check_pretrained_prefix
from .unwrapped_keys import refuse_wrapper_keys_on_host

__all__ = [
    'check_model_config', 'check_wrapper_config', 'check_backbone_types'
]

#: The config key a wrapper's message starts with.
_LEADING_KEY = re.compile(r'^(' + re.escape(CONFIG_KEY) + r'[\w.]*)')


def check_wrapper_config(
        cfg: Config,
        source: str,
        options: Optional[dict] = None) -> Optional[nn.Module]:
    """Build ``model.backbone`` once without weights if it is an
    AdaptFormer or VPT wrapper (on the meta device where its host's
    constructor allows, else on the CPU), and name the file or option
    behind its refusal.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Returns:
        nn.Module, optional: The wrapper built, for the checks that read
        it; None if ``model.backbone`` is not a wrapper.

    Raises:
        ConfigError: The wrapper's refusal (a :class:`ConfigError`, or the
            ``BlockWiringError`` of a ``block_types`` entry that names no
            module of its block), led by ``--cfg-options KEY=VALUE`` if an
            option set the key it names, else by ``source``: from the
            first build that meets it, as it does not depend on the
            device.
        Exception: What the CPU's build raised otherwise.
    """
    backbone = _wrapper_config(cfg)
    if backbone is None:
        return None
    with quiet_build_log():
        return build_on_meta_or_cpu(
            backbone, lambda e: _wrapper_refusal(e, source, options))


def _wrapper_refusal(error: Exception, source: str,
                     options: Optional[dict]) -> Optional[ConfigError]:
    """The wrapper's refusal ``error`` (a :class:`ConfigError` or a
    ``BlockWiringError``) led by the ``--cfg-options`` entry that set the
    key it names, else by ``source``; None for another error."""
    if not isinstance(error, (ConfigError, BlockWiringError)):
        return None
    message = str(error)
    if isinstance(error, BlockWiringError):
        key = f'{CONFIG_KEY}.block_types'
        message = f'{key}: {message}'
    else:
        match = _LEADING_KEY.match(message)
        key = match.group(1) if match else CONFIG_KEY
    where = option_place(key, options)
    return ConfigError(f'{where or source}: {message}')


def _wrapper_config(cfg: Config) -> Optional[Mapping]:
    """``model.backbone`` if it is an AdaptFormer or VPT wrapper."""
    model = cfg.get('model')
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not isinstance(backbone, dict) or 'type' not in backbone:
        return None
    use_default_scope(cfg)
    cls = registered(MODELS, backbone['type'])
    if not isinstance(cls, type) or not issubclass(cls, FrozenHostWrapper):
        return None
    return backbone


def _whole_model(
        cfg: Config, source: str, options: Optional[dict],
        entry: Optional[Tuple[str, Mapping, type]]) -> Optional[nn.Module]:
    """The config's whole model built without weights (on the meta device
    where its constructor allows, else on the CPU), if its
    ``model.backbone`` is a wrapper, or a plain host that a check of
    :func:`_check_built_host` reads (the host is then read in the whole
    model, not built alone); None otherwise (the AdapterHook's plan check
    builds the model if it needs it).

    The ``init_cfg`` of a plain host is checked before, once, by
    :func:`check_model_config`.

    Raises:
        ConfigError: The wrapper's refusal (see :func:`_wrapper_refusal`),
            or a ``type`` no registry holds or an argument a class does not
            take, named as the Runner's build is named
            (:func:`~mmadaptformer.utils.config_mistakes.config_mistake`),
            from the first build that meets it: neither depends on the
            device, so the CPU is not tried after the meta device meets
            one.
        Exception: What the CPU's build raised otherwise, once the host's
            checks passed on the host (or the wrapper) built alone (they
            may name the mistake better).
    """
    model_cfg = cfg.get('model')
    if not isinstance(model_cfg, dict) or 'type' not in model_cfg:
        return None
    if _wrapper_config(cfg) is None:
        if entry is None or entry[0] != 'model.backbone':
            return None
        if not _host_read(cfg, entry[2]):
            return None

    def refusal(e: Exception) -> Optional[ConfigError]:
        # Neither depends on the device; the CPU's other errors are the
        # Runner's too.
        return _wrapper_refusal(e, source, options) or config_mistake(
            e, cfg, source, options)

    try:
        with quiet_build_log():
            return build_on_meta_or_cpu(model_cfg, refusal)
    except ConfigError:
        raise
    except Exception as e:
        error = e
    try:
        wrapper = check_wrapper_config(cfg, source, options)
        _check_built_host(cfg, source, options, entry, wrapper)
    except ConfigError:
        raise
    except Exception as e:
        error = e
    # The host's own error, kept; the options given to the module that
    # raised it are named under it.
    note_build_options(error, model_cfg, options)
    raise error


def check_backbone_types(cfg: Config,
                         source: str,
                         options: Optional[dict] = None) -> None:
    """Refuse a ``model.backbone`` (or the host inside a wrapper,
    ``model.backbone.backbone``) that is not a dict with a ``type``.

    ``--cfg-options model.backbone=x`` ended, after the work dir was made,
    in mmaction2's recognizer with ``TypeError: string indices must be
    integers``; a ``type`` of None with ``Unsupported type of module``; a
    host ``x`` inside a wrapper in the wrapper's ``TypeError`` traceback.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the key (or the option that set it), what it
            must be and what it is.
    """
    model = cfg.get('model')
    if not isinstance(model, dict) or 'backbone' not in model:
        return
    key, backbone = 'model.backbone', model['backbone']
    _check_backbone_type(key, backbone, source, options)
    use_default_scope(cfg)
    cls = registered(MODELS, backbone['type'])
    if isinstance(cls, type) and issubclass(cls, FrozenHostWrapper) and \
            'backbone' in backbone:
        _check_backbone_type(f'{key}.backbone', backbone['backbone'], source,
                             options)


def _check_backbone_type(key: str, backbone, source: str,
                         options: Optional[dict]) -> None:
    """Refuse ``backbone``, the value at ``key``, unless it is a dict with
    a ``type`` (a class name or a class)."""
    if not isinstance(backbone, dict):
        got = repr(backbone)
    elif 'type' not in backbone:
        got = f'a dict without one (keys: {", ".join(map(str, backbone))})'
    elif not isinstance(backbone['type'], (str, type)):
        got = f'type={backbone["type"]!r}'
    else:
        return
    where = option_place(key, options) or source
    raise ConfigError(
        f'{where}: {key} must be a dict (a backbone config) with a type, '
        "e.g. dict(type='VisionTransformer', ...), but got " + got + '.')


def check_model_config(cfg: Config,
                       source: str,
                       options: Optional[dict] = None,
                       pretrained: bool = True,
                       whole_model: bool = False) -> Optional[nn.Module]:
    """The checks of the model a tool makes before it builds a Runner:
    :func:`~mmadaptformer.utils.kept_delete.refuse_kept_delete` (of
    ``model``), :func:`check_backbone_types`,
    :func:`~.unwrapped_keys.refuse_wrapper_keys_on_host`,
    :func:`~mmadaptformer.utils.backbone_check.check_backbone_arguments`,
    :func:`~mmadaptformer.utils.backbone_check.check_init_cfgs`,
    :func:`~mmadaptformer.utils.backbone_check.check_pretrained_files`
    (if ``pretrained``), :func:`check_wrapper_config`,
    :func:`~.pretrained_prefix_check.check_pretrained_prefix` (if
    ``pretrained``), the ``init_cfg`` of
    a plain host (:func:`~.host_init.plain_host_init_cfg_problem`; a
    wrapper takes its host's), and on the built host
    :func:`~.host_outputs.check_host_outputs` and
    :func:`~.head_width.check_head_width`.

    The host is built once, and only if one of the last two reads it: the
    wrapper's own (built alone on the meta device where its host can be,
    see :func:`check_wrapper_config`), or a plain one built without
    weights (on the meta device where it can, see
    :func:`~.config_host.build_without_weights`). With ``whole_model``, a
    wrapper, or a plain host that a check reads (a linear-probe or
    full-fine-tuning baseline), is built inside the whole model, built
    without weights too, which is returned for the AdapterHook's plan
    check (``check_adapter_hook_config(..., model=...)``) so that the
    model is built once; without it (a tool that makes no plan), the
    wrapper or the host is built alone. A whole model that does not build
    is refused here, not left to the plan check and the Runner to build
    again: see :func:`_whole_model`.

    Args:
        cfg (Config): The config, ``--pretrained`` and ``--cfg-options``
            applied.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        pretrained (bool): Whether the run loads the backbone's pretrained
            weights (training does; testing a full checkpoint need not).
            Defaults to True.
        whole_model (bool): Whether to build the whole model around a
            wrapper or a plain host that a check reads, and return it.
            Defaults to False.

    Returns:
        nn.Module, optional: The whole model built without weights, if
        ``whole_model`` and ``model.backbone`` is a wrapper or a plain
        host that a check reads; else None.

    Raises:
        ConfigError: For the first mistake found.
        Exception: With ``whole_model``, the error of a whole model that
            does not build for another reason, as the Runner would raise
            it, once the checks of its host passed.
    """
    refuse_kept_delete(cfg, source, options, ['model'])
    check_backbone_types(cfg, source, options)
    refuse_wrapper_keys_on_host(cfg, source, options)
    check_backbone_arguments(cfg, source, options)
    check_init_cfgs(cfg, source, options)
    if pretrained:
        check_pretrained_files(cfg, source, options, pretrained_names_of_cfg)
    entry = config_host(cfg)
    plain = _wrapper_config(cfg) is None
    if entry is not None and plain:
        # Once, before any build: a wrapper takes its host's init_cfg.
        _check_plain_init_cfg(cfg, source, options, entry)
    model = _whole_model(cfg, source, options, entry) if whole_model else None
    built = getattr(model, 'backbone', None)
    if plain:
        _check_built_host(cfg, source, options, entry, None, built)
    else:
        wrapper = built if isinstance(
            built, FrozenHostWrapper) else check_wrapper_config(
                cfg, source, options)
        if pretrained:
            check_pretrained_prefix(cfg, source, options, wrapper)
        _check_built_host(cfg, source, options, entry, wrapper)
    return model


def _host_read(cfg: Config, cls: type) -> bool:
    """Whether a check of :func:`_check_built_host` reads a plain host of
    class ``cls`` (its outputs, or the width of its features)."""
    spec = host_spec(cls)
    return spec is not None and spec.output_check is not None or \
        compared_head(cfg.model, cls) is not None


def _check_plain_init_cfg(cfg: Config, source: str, options: Optional[dict],
                          entry: Tuple[str, Mapping, type]) -> None:
    """Refuse the ``init_cfg`` of the plain host ``entry`` (see
    :func:`~.config_host.config_host`) that the host would not load (see
    :func:`~.host_init.plain_host_init_cfg_problem`)."""
    key, host_cfg, cls = entry
    problem = plain_host_init_cfg_problem(cls, host_cfg, key)
    if problem is not None:
        where = mistake_place(source, f'{key}.init_cfg', options,
                              host_cfg['init_cfg'])
        raise ConfigError(f'{where}: {problem}')


def _check_built_host(cfg: Config,
                      source: str,
                      options: Optional[dict],
                      entry: Optional[Tuple[str, Mapping, type]],
                      wrapper: Optional[nn.Module],
                      built: Optional[nn.Module] = None) -> None:
    """The checks of :func:`check_model_config` that read the host: on the
    host built (the ``wrapper``'s; for a plain one, ``built`` if it is the
    host, the backbone of the whole model built, else one built here
    without weights if a check reads it) its outputs and the head's
    width. (:func:`check_model_config` checked a plain one's ``init_cfg``
    before.) ``entry`` is the config's host (see
    :func:`~.config_host.config_host`)."""
    if entry is None:
        return
    key, host_cfg, cls = entry
    if wrapper is None and not _host_read(cfg, cls):
        return
    if wrapper is not None:
        host = wrapper.backbone
    elif type(built) is cls:
        host = built
    else:
        with quiet_build_log():
            host = build_without_weights(host_cfg)
    if host is None:
        return
    check_host_outputs(host, source, options, key, host_cfg)
    check_head_width(cfg, source, options, host)
