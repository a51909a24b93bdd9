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

One mistake builds without an error: mmaction2's ``SampleFrames`` (and its
subclass ``DenseSampleFrames``) takes ``**kwargs`` and drops them, so
``dict(type='SampleFrames', clip_len=16, num_clip=2)`` sampled one clip
per video without a word, in training and in the test's views alike.
:func:`build_transforms` refuses an argument such a transform drops
(:data:`DROPPING_TRANSFORMS`), with the closest ones it takes.

Another fails late: mmaction2's loading transforms (``DecordInit``,
``PyAVInit``, ``RawFrameDecode``, ...) keep the arguments they do not know
for the file client they make at the first file they read, and the local
one (``io_backend='disk'``) takes none. ``dict(type='DecordInit',
num_thread=2)`` built, and the first video read failed with ``TypeError:
HardDiskBackend.__init__() got an unexpected keyword argument`` inside a
dataloader worker, for a validation pipeline after a whole training epoch.
:func:`build_transforms` refuses such an argument too
(:func:`file_client_misfits`).
"""
import copy
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.fileio import HardDiskBackend
from mmengine.registry import TRANSFORMS

from .config_error import ConfigError
from .config_place import mistake_place
from .registry_names import close_hint, registry_miss, use_default_scope
from .unknown_keys import dropped_keywords, named_arguments
from .video_containers import one_line_error

__all__ = [
    'build_transforms', 'dataloader_pipelines', 'scoped_pipelines',
    'check_pipelines', 'dropped_arguments', 'file_client_misfits',
    'DROPPING_TRANSFORMS'
]

#: mmaction2 transforms whose constructor takes ``**kwargs`` and drops
#: them: an argument misspelled there would be ignored.
DROPPING_TRANSFORMS = ('SampleFrames', )

#: What the transform does with an argument that :func:`dropped_arguments`
#: or :func:`file_client_misfits` finds, for the error.
_DROPS = ('accepts and drops arguments it does not know, so it would sample '
          'as if it were not there')
_PASSES_ON = ('passes arguments it does not know to its file client, and the '
              "local one (io_backend='disk') takes none, so the first file "
              'read would fail with a TypeError')


def dropped_arguments(transform: dict, built) -> Tuple[List[str], List[str]]:
    """The arguments of the config ``transform`` that the transform
    ``built`` from it dropped, and those it takes.

    Only a transform of :data:`DROPPING_TRANSFORMS`, or a subclass from
    mmaction2 itself that passes its ``**kwargs`` on to it, is read; any
    other (one of the user's own may use its ``**kwargs``) gives
    ``([], [])``.

    Args:
        transform (dict): The transform's config.
        built: The transform built from it.

    Returns:
        tuple[list, list]: The dropped arguments and the arguments the
        constructors down to the dropping class take.
    """
    return dropped_keywords(transform, type(built), DROPPING_TRANSFORMS,
                            ('mmaction.', ))


def file_client_misfits(built) -> Tuple[List[str], List[str]]:
    """The arguments that the mmaction2 loading transform ``built`` keeps
    for its local file client, which takes none of them, and those the
    transform takes itself.

    Such a transform keeps the arguments it does not know as ``kwargs`` and
    makes ``FileClient(io_backend, **kwargs)`` at the first file it reads;
    for ``io_backend='disk'`` that is a ``HardDiskBackend``. Another
    backend (``petrel``, ``memcached``) takes its own arguments and is not
    read, nor is a transform that is not mmaction2's.

    Returns:
        tuple[list, list]: The arguments the file client would refuse and
        the arguments the transform takes; ``([], [])`` if it is not such
        a transform.
    """
    kwargs = getattr(built, 'kwargs', None)
    if not type(built).__module__.startswith('mmaction.') or not isinstance(
            kwargs, dict) or not hasattr(built, 'file_client') or getattr(
                built, 'io_backend', None) != 'disk':
        return [], []
    client_takes = named_arguments(HardDiskBackend.__init__)
    return ([name for name in kwargs if name not in client_takes],
            named_arguments(type(built).__init__))


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
            (:func:`~.registry_names.registry_miss`); or if it would drop an
            argument (:func:`dropped_arguments`) or pass one to a file
            client that does not take it (:func:`file_client_misfits`).
    """
    transforms = []
    for index, transform in enumerate(pipeline):
        if not isinstance(transform, dict) and callable(transform):
            transforms.append(transform)
            continue
        kind = transform.get('type') if isinstance(transform, dict) else None
        try:
            built = TRANSFORMS.build(copy.deepcopy(transform))
        except Exception as e:
            error = registry_miss(e, cfg, source, options)
            if error is not None:
                raise error from e
            raise ConfigError(f'{source}: {key}[{index}]' +
                              (f' ({kind})' if kind else '') +
                              ' cannot be built: '
                              f'{one_line_error(e, end=".")}') from e
        for (unused, takes), fate in ((dropped_arguments(transform, built),
                                       _DROPS), (file_client_misfits(built),
                                                 _PASSES_ON)):
            if unused:
                name = type(built).__name__
                where = mistake_place(source, f'{key}[{index}].{unused[0]}',
                                      options)
                raise ConfigError(
                    f'{where}: {name} takes no argument {unused[0]!r}'
                    f'{close_hint(unused[0], takes)}; mmaction2\'s {name} '
                    f'{fate}. It takes: {", ".join(takes)}.')
        transforms.append(built)
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


def scoped_pipelines(cfg: Config,
                     loaders: Sequence[str]) -> Iterator[Tuple[str, list]]:
    """The ``(key, pipeline)`` of every pipeline of the named dataloaders
    (:func:`dataloader_pipelines` of each), with the config's
    ``default_scope`` made the current one first, as the Runner makes it:
    the scope their transforms are looked up in.

    Args:
        cfg (Config): The config.
        loaders (Sequence[str]): e.g. ``('train_dataloader',
            'val_dataloader')``; one the config leaves unset gives none.

    Yields:
        tuple[str, list]: The pipeline's key
        (``train_dataloader.dataset.pipeline``) and its transforms.
    """
    use_default_scope(cfg)
    for loader in loaders:
        yield from dataloader_pipelines(cfg, loader)


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
    for key, pipeline in scoped_pipelines(cfg, loaders):
        build_transforms(pipeline, key, cfg, source, options)
