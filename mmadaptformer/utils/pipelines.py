# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Build a config's data pipelines up front, so that a transform that
cannot be built is named as a mistake of the config.

MMEngine's Runner builds its datasets, and with them their pipelines,
lazily inside ``train()`` and ``test()``: a transform with a wrong argument
ended the tools with a traceback through the Runner, the dataset and
``Compose`` (``TypeError: RandomResizedCrop.__init__() got an unexpected
keyword argument ...``), and inference blamed it on the checkpoint.
:func:`check_pipelines` builds every transform of the dataloaders a tool
will use before anything runs, and :func:`build_transforms` raises a
:class:`~.config_error.ConfigError` naming the config, the key and index
(``train_dataloader.dataset.pipeline[2]``) and the transform's type.
Building a transform reads no data.
"""
import copy
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import TRANSFORMS

from .config_error import ConfigError
from .config_file import registry_miss, use_default_scope
from .video_containers import one_line_error

__all__ = ['build_transforms', 'dataloader_pipelines', 'check_pipelines']


def build_transforms(pipeline: Sequence,
                     key: str,
                     cfg: Config,
                     source: str,
                     options: Optional[dict] = None) -> List[Callable]:
    """Build the transforms of a pipeline in the current default scope.

    Args:
        pipeline (Sequence): Transform configs; a callable is taken as
            built, as :class:`mmengine.dataset.Compose` takes it.
        key (str): Its config key, for errors.
        cfg (Config): The config, for the registry-miss message.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Returns:
        list: The transforms.

    Raises:
        ConfigError: If a transform cannot be built: naming ``source``,
            ``key[index]`` and its type, or, for a type no registry holds,
            the closest registered names
            (:func:`~.config_file.registry_miss`).
    """
    transforms = []
    for index, transform in enumerate(pipeline):
        if not isinstance(transform, dict) and callable(transform):
            transforms.append(transform)
            continue
        kind = transform.get('type') if isinstance(transform, dict) else None
        try:
            transforms.append(TRANSFORMS.build(copy.deepcopy(transform)))
        except Exception as e:
            error = registry_miss(e, cfg, source, options)
            if error is not None:
                raise error from e
            raise ConfigError(f'{source}: {key}[{index}]' +
                              (f' ({kind})' if kind else '') +
                              f' cannot be built: {one_line_error(e)}.') from e
    return transforms


def dataloader_pipelines(cfg: Config,
                         loader: str) -> Iterator[Tuple[str, list]]:
    """The ``(key, pipeline)`` of every dataset config under ``cfg[loader]``
    that has a pipeline, wrapped and concatenated datasets included
    (``train_dataloader.dataset.datasets[1].pipeline``)."""

    def walk(node, key):
        if isinstance(node, dict):
            if isinstance(node.get('pipeline'), (list, tuple)):
                yield f'{key}.pipeline', list(node['pipeline'])
            for name, value in node.items():
                if name != 'pipeline':
                    yield from walk(value, f'{key}.{name}')
        elif isinstance(node, (list, tuple)):
            for index, value in enumerate(node):
                yield from walk(value, f'{key}[{index}]')

    yield from walk(cfg.get(loader), loader)


def check_pipelines(cfg: Config,
                    source: str,
                    loaders: Sequence[str],
                    options: Optional[dict] = None) -> None:
    """Build every transform of the named dataloaders' pipelines, in the
    config's ``default_scope``, and drop them.

    Args:
        cfg (Config): The config.
        source (str): The config file, for errors.
        loaders (Sequence[str]): e.g. ``('train_dataloader',
            'val_dataloader')``; one the config leaves unset is skipped.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: See :func:`build_transforms`.
    """
    use_default_scope(cfg)
    for loader in loaders:
        for key, pipeline in dataloader_pipelines(cfg, loader):
            build_transforms(pipeline, key, cfg, source, options)
