# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check the model part of a config before the Runner makes its work dir.

The wrapper (:class:`~.AdaptFormer`, :class:`~.VPT`) checks its own
arguments when it is built: ``adapter.bottleneck=0``, ``layers=[12]`` on a
12-block ViT, ``placement='serial'``, an unknown ``adapter`` key. The
Runner builds it after it has made the work dir and written 200 lines of
log, and the error named neither the config file nor the
``--cfg-options`` entry. :func:`check_model_config` builds the wrapper once
on the CPU first (0.9 s for the ViT-B recipe; the host's weights are not
loaded at build time) and names the file or the option in front of the
wrapper's own message.
"""
import logging
import re
from contextlib import contextmanager
from typing import Iterator, Optional

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import MODELS
from torch import nn

from ...utils.backbone_check import (check_backbone_arguments, check_init_cfgs,
                                     check_pretrained_files)
from ...utils.config_error import ConfigError
from ...utils.config_place import option_place
from ...utils.registry_names import registered, use_default_scope
from ..adapters.block_wiring import BlockWiringError
from .base_wrapper import FrozenHostWrapper
from .config_keys import CONFIG_KEY
from .head_width import check_head_width
from .host_outputs import check_host_outputs

__all__ = ['check_model_config', 'check_wrapper_config']

#: The config key a wrapper's message starts with.
_LEADING_KEY = re.compile(r'^(' + re.escape(CONFIG_KEY) + r'[\w.]*)')


@contextmanager
def _quiet() -> Iterator[None]:
    """Keep the build log of the wrapper (one line per adapted block) or
    of a stock host (UniFormerV2's settings) out of the log: the Runner
    builds it again and logs it then."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def check_wrapper_config(
        cfg: Config,
        source: str,
        options: Optional[dict] = None) -> Optional[nn.Module]:
    """Build ``model.backbone`` once on the CPU if it is an AdaptFormer or
    VPT wrapper, and name the file or option behind its refusal.

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
            option set the key it names, else by ``source``.
    """
    model = cfg.get('model')
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not isinstance(backbone, dict) or 'type' not in backbone:
        return None
    use_default_scope(cfg)
    cls = registered(MODELS, backbone['type'])
    if not isinstance(cls, type) or not issubclass(cls, FrozenHostWrapper):
        return None
    try:
        with _quiet():
            return MODELS.build(backbone.to_dict(
            ) if hasattr(backbone, 'to_dict') else dict(backbone))
    except (ConfigError, BlockWiringError) as e:
        message = str(e)
        if isinstance(e, BlockWiringError):
            key = f'{CONFIG_KEY}.block_types'
            message = f'{key}: {message}'
        else:
            match = _LEADING_KEY.match(message)
            key = match.group(1) if match else CONFIG_KEY
        where = option_place(key, options)
        raise ConfigError(f'{where or source}: {message}') from e


def check_model_config(cfg: Config,
                       source: str,
                       options: Optional[dict] = None,
                       pretrained: bool = True) -> None:
    """The checks of the model a tool makes before it builds a Runner:
    :func:`~mmadaptformer.utils.backbone_check.check_backbone_arguments`,
    :func:`~mmadaptformer.utils.backbone_check.check_init_cfgs`,
    :func:`~mmadaptformer.utils.backbone_check.check_pretrained_files`
    (if ``pretrained``), :func:`check_wrapper_config`,
    :func:`~.host_outputs.check_host_outputs` on the wrapper's host and
    :func:`~.head_width.check_head_width`, which reads the wrapper built
    (or builds a stock host, on the meta device where it can).

    Args:
        cfg (Config): The config, ``--pretrained`` and ``--cfg-options``
            applied.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.
        pretrained (bool): Whether the run loads the backbone's pretrained
            weights (training does; testing a full checkpoint need not).
            Defaults to True.

    Raises:
        ConfigError: For the first mistake found.
    """
    check_backbone_arguments(cfg, source, options)
    check_init_cfgs(cfg, source, options)
    if pretrained:
        check_pretrained_files(cfg, source, options)
    wrapper = check_wrapper_config(cfg, source, options)
    if wrapper is not None:
        check_host_outputs(wrapper.backbone, source, options)
    with _quiet():
        check_head_width(cfg, source, options, wrapper)
