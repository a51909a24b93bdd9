# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse, before the work dir, a ``Pretrained`` init_cfg without the
``prefix`` that its whole-model checkpoint needs.

A checkpoint of a whole recognizer or classifier (``backbone.*``,
``cls_head.*``) given to the stock backbone inside a wrapper as
``init_cfg=dict(type='Pretrained', checkpoint=PATH)``, without
``prefix='backbone.'``, fits none of the backbone's keys. The wrapper
refuses it when it loads, in ``init_weights()``: after ``tools/train.py``
had made the work dir and the Runner had logged its environment and
config. The file's keys are read here first (mapped, not loaded) and
compared with the host's.
"""
from typing import Iterator, Optional, Sequence, Tuple

from mmengine.config import Config

from ...utils.checkpoint_loading import safe_torch_load
from ...utils.config_error import ConfigError
from ...utils.config_place import mistake_place
from ...utils.local_files import full_local_path, is_local
from ...utils.model_keys import WHOLE_MODEL_PREFIXES
from ...utils.pretrained_init import is_pretrained_cfg
from ...utils.weights_nesting import tensor_keys

__all__ = ['check_pretrained_prefix']

#: Where the recipes put the stock backbone's ``init_cfg`` in a wrapper.
_HOST_KEY = 'model.backbone.backbone'


def _unprefixed_pretrained(host_cfg: dict) -> Iterator[Tuple[str, str]]:
    """``(config key, checkpoint)`` of each ``Pretrained`` init_cfg of the
    host config without a ``prefix``, whose checkpoint is a local file."""
    init_cfg = host_cfg.get('init_cfg')
    many = isinstance(init_cfg, (list, tuple))
    for index, one in enumerate(init_cfg if many else [init_cfg]):
        if not is_pretrained_cfg(one) or one.get('prefix'):
            continue
        path = one.get('checkpoint')
        if isinstance(path, str) and path and is_local(path):
            at = f'[{index}]' if many else ''
            yield f'{_HOST_KEY}.init_cfg{at}', path


def _missing_prefix(path: str, host_keys: Sequence[str]) -> Optional[str]:
    """The prefix the file at ``path`` holds the host's keys under, when
    it holds none of them bare; else None."""
    checkpoint = safe_torch_load(full_local_path(path), 'cpu', mmap=True)
    if not isinstance(checkpoint, dict):
        return None
    tensors = set(tensor_keys(checkpoint.get('state_dict', checkpoint)))
    if any(key in tensors for key in host_keys):
        return None
    for prefix in WHOLE_MODEL_PREFIXES:
        if any(prefix + key in tensors for key in host_keys):
            return prefix
    return None


def check_pretrained_prefix(cfg: Config, source: str, options: Optional[dict],
                            wrapper) -> None:
    """Refuse a wrapper's host ``Pretrained`` init_cfg without ``prefix``
    whose checkpoint holds the host's weights only under a whole model's
    prefix (see the module docstring).

    Args:
        cfg (Config): The config, ``--pretrained`` and ``--cfg-options``
            applied.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given.
        wrapper (FrozenHostWrapper, optional): The config's wrapper, built
            without weights; None (a plain backbone) checks nothing.

    Raises:
        ConfigError: Naming the key (or the option that set it), the file,
            the prefix it needs and an example key.
    """
    if wrapper is None:
        return
    host_cfg = cfg.get('model', {}).get('backbone', {}).get('backbone')
    if not isinstance(host_cfg, dict):
        return
    for key, path in _unprefixed_pretrained(host_cfg):
        prefix = _missing_prefix(path, wrapper.host_keys)
        if prefix is None:
            continue
        where = mistake_place(source, key, options)
        example = prefix + wrapper.host_keys[0]
        raise ConfigError(
            f'{where}: the checkpoint {path} is a whole model\'s (its '
            f'backbone is under {prefix!r}, e.g. {example!r}), but this '
            'Pretrained init_cfg has no prefix, so none of its keys would '
            f'fit the backbone. Add prefix={prefix!r} to {key}, or give the '
            'file with --pretrained PATH, which picks the prefix.')
