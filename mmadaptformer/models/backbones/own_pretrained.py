# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a plain host that loads its own weights (its ``pretrained``:
mmaction2's TimeSformer, Swin3D, UniFormer, UniFormerV2) reads from its
config, and what the tools' ``--pretrained FILE`` sets on it.

* UniFormer with ``pretrained2d=True`` and UniFormerV2 with
  ``clip_pretrained=True`` (both their defaults) read their ``pretrained``
  as a name of mmaction2's address table, which they download, never as a
  file (:attr:`~mmadaptformer.models.HostSpec.pretrained_names`):
  :func:`pretrained_names_of_cfg`.
* ``--pretrained`` sets a host's ``init_cfg``
  (:func:`~mmadaptformer.utils.set_pretrained_backbone`), which a wrapper
  loads for its host whatever the host is. A plain host is built and
  initialised by the toolbox: TimeSformer takes no ``init_cfg`` and reads
  its weights from its ``pretrained``, and UniFormer, UniFormerV2 and
  Swin3D run their ``init_cfg`` only with their 2D/CLIP flag off.
  :func:`set_host_pretrained` gives each what it loads.
"""
from typing import Any, Dict, Mapping, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import MODELS

from ...utils.pretrained_backbone import (PretrainedFileError,
                                          set_pretrained_backbone)
from ...utils.registry_names import registered
from ..hosts import host_spec
from .config_host import config_host
from .host_init import (OWN_WEIGHTS_ATTR, constructor_argument,
                        init_cfg_skipping_flags, own_pretrained_values,
                        takes_init_cfg)
from .own_loading_hint import own_loading_hint_of_cfg

__all__ = ['pretrained_names_of_cfg', 'set_host_pretrained']


def pretrained_names_of_cfg(
        cfg: Mapping) -> Optional[Tuple[str, Tuple[str, ...]]]:
    """``(flag, names)`` if the host built from ``cfg`` (its ``type`` found
    in the current default scope) reads its own ``pretrained`` as one of
    ``names`` (its ``flag`` is on, given or by default), not as a file;
    else None.

    Args:
        cfg (Mapping): The host's config, with its ``type``.
    """
    cls = registered(MODELS, cfg.get('type'))
    if not isinstance(cls, type):
        return None
    spec = host_spec(cls)
    entry = spec.pretrained_names if spec is not None else None
    if entry is None or not constructor_argument(cls, cfg, entry[0]):
        return None
    return entry


def set_host_pretrained(cfg: Config,
                        checkpoint: str) -> Tuple[str, Dict[str, Any]]:
    """Make ``checkpoint`` the pretrained weights of the config's host, as
    ``--pretrained`` does: :func:`~mmadaptformer.utils.
    set_pretrained_backbone`, and for a plain host that loads its own
    weights what makes it load them.

    * A plain host that takes no ``init_cfg`` (TimeSformer) gets the file
      as its own ``pretrained``, which it reads bare or under
      ``'state_dict'``, without a prefix; a whole model's checkpoint
      (``backbone.`` keys) is refused with what to give instead.
    * A plain host whose 2D/CLIP flag would skip its ``init_cfg`` (Swin3D's
      and UniFormer's ``pretrained2d``, UniFormerV2's ``clip_pretrained``)
      gets the flag off (the host table's values,
      :attr:`~mmadaptformer.models.HostSpec.own_pretrained`): it was on by
      default, and UniFormer then loaded nothing, with no warning.

    Args:
        cfg (Config): The config, changed in place.
        checkpoint (str): The file or address.

    Returns:
        tuple: The config key set and its new value.

    Raises:
        PretrainedFileError: For a file the host cannot load, naming
            ``--pretrained`` and what to give instead.
    """
    key, init_cfg = set_pretrained_backbone(
        cfg, checkpoint, own_loading_hint=own_loading_hint_of_cfg)
    entry = config_host(cfg)
    if entry is None or entry[0] != 'model.backbone':
        return key, init_cfg
    host_key, host_cfg, cls = entry
    own = own_pretrained_values(cls)
    if OWN_WEIGHTS_ATTR not in own:
        return key, init_cfg
    if takes_init_cfg(cls):
        for name in init_cfg_skipping_flags(
                cls, lambda flag: constructor_argument(cls, host_cfg, flag)):
            host_cfg[name] = False
            print_log(
                f'--pretrained: {host_key}.{name} = False ('
                f'{cls.__name__} runs its init_cfg only then)',
                logger='current')
        return key, init_cfg
    del host_cfg['init_cfg']
    prefix = init_cfg.get('prefix')
    if prefix is not None:
        raise PretrainedFileError(
            f'--pretrained {init_cfg["checkpoint"]}: it is a whole model\'s '
            f'checkpoint (its backbone\'s keys start with {prefix}), but '
            f'{cls.__name__} ({host_key}) takes no init_cfg: it reads its '
            f'weights itself from {host_key}.{OWN_WEIGHTS_ATTR}, under '
            'their own names, with no prefix to strip. Give --pretrained '
            f'a file of {cls.__name__}\'s own keys (bare or under '
            "'state_dict'), or load the whole model, head included, with "
            f'--cfg-options load_from={init_cfg["checkpoint"]}.')
    host_cfg[OWN_WEIGHTS_ATTR] = init_cfg['checkpoint']
    return f'{host_key}.{OWN_WEIGHTS_ATTR}', init_cfg['checkpoint']
