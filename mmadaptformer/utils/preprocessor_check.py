# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a model data preprocessor that drops the top-level one's
normalisation.

MMPretrain's configs give the data preprocessor at the top level
(``data_preprocessor = dict(num_classes=1000, mean=..., std=...,
to_rgb=True)``), and MMEngine's Runner (as mmpretrain's ``get_model``)
gives it to the model only if the model config names none
(``model.setdefault('data_preprocessor', ...)``). A
``model.data_preprocessor`` therefore replaces it whole:
``model = dict(data_preprocessor=dict(num_classes=2))``, or
``--cfg-options model.data_preprocessor.num_classes=2``, written to set the
number of classes, built a preprocessor without mean, std or channel
order, and the model trained and predicted on raw pixels without a word.
"""
from typing import Optional

from mmengine.config import Config

from .config_error import ConfigError
from .config_place import mistake_place

__all__ = ['check_shadowed_preprocessor', 'NORMALISING_KEYS']

#: The keys of a data preprocessor that normalise its inputs.
NORMALISING_KEYS = ('mean', 'std', 'to_rgb')


def check_shadowed_preprocessor(cfg: Config,
                                source: str,
                                options: Optional[dict] = None) -> None:
    """Refuse a ``model.data_preprocessor`` without the ``mean`` or
    ``std`` that the top-level ``data_preprocessor``, which it replaces,
    sets.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming where ``model.data_preprocessor`` was set, the
            keys it drops and the two ways to keep them.
    """
    top = cfg.get('data_preprocessor', None)
    model = cfg.get('model', None)
    own = model.get('data_preprocessor') if isinstance(model, dict) else None
    if not isinstance(top, dict) or not isinstance(own, dict):
        return
    dropped = [
        key for key in NORMALISING_KEYS if key in top and key not in own
    ]
    if not any(key in dropped for key in ('mean', 'std')):
        return
    place = mistake_place(source, 'model.data_preprocessor', options,
                          dict(own))
    changes = ', '.join(f'{key}={value!r}' for key, value in own.items()
                        if key != 'type')
    raise ConfigError(
        f'{place}: it replaces the top-level data_preprocessor whole '
        "(MMEngine's Runner gives that one only to a model config without "
        'its own), so the model would take its inputs without its '
        f'{", ".join(dropped)}. Set {changes or "the values"} in the '
        'top-level data_preprocessor instead (data_preprocessor = '
        f'dict({changes or "..."})), or give model.data_preprocessor the '
        f'{", ".join(dropped)} too.')
