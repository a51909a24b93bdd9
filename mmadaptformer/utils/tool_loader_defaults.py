# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The dataloader defaults MMPretrain's ``tools/train.py`` and
``tools/test.py`` add to a config, which our tools add as well so an
MMPretrain config runs here as it runs there."""
from copy import deepcopy
from typing import Iterable

from mmengine.config import Config, ConfigDict

__all__ = ['add_mmpretrain_loader_defaults']


def add_mmpretrain_loader_defaults(cfg: Config, fields: Iterable[str],
                                   **defaults) -> None:
    """Give an MMPretrain config's dataloaders MMPretrain's tool defaults.

    What the config sets wins over a default, as in MMPretrain's tools;
    a config of another scope, or a dataloader it leaves out, is left as
    it is.

    Args:
        cfg (Config): The config, changed in place.
        fields (Iterable[str]): The dataloader keys, e.g.
            ``('test_dataloader',)``.
        **defaults: The defaults, e.g. ``pin_memory=True,
            collate_fn=dict(type='default_collate')``.
    """
    if cfg.get('default_scope') != 'mmpretrain':
        return
    for field in fields:
        if cfg.get(field, None) is None:
            continue
        dataloader_cfg = ConfigDict(deepcopy(defaults))
        dataloader_cfg.update(cfg[field])
        cfg[field] = dataloader_cfg
