# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The arguments a dataset class takes, read from its constructors, so
that a misspelled one is named with the arguments it was meant to be.

A dataset argument its class does not take (``ann_flie``) went through
the constructors' ``**kwargs`` (``CheckedVideoDataset``, mmaction2's
``VideoDataset``, mmpretrain's ``CustomDataset``) down to the first one
without them, which refused it as ``TypeError: BaseDataset.__init__() got
an unexpected keyword argument 'ann_flie'``, naming neither the class the
config asked for nor what the argument should have been; where the class
also lacked a required argument (``ann_file``), only that was named.

:func:`dataset_arguments` reads the named arguments of each ``__init__``
along the class's MRO while each passes ``**kwargs`` on, down to the first
that takes none; :func:`check_dataset_arguments` refuses a key of a
dataset config that none of them takes, with the closest ones.
"""
import inspect
from typing import List, Optional

from mmengine.registry import DATASETS

from .config_error import ConfigError
from .config_place import mistake_place
from .registry_names import close_hint

__all__ = [
    'KNOWN_PACKAGES', 'dataset_arguments', 'dataset_class',
    'check_dataset_arguments', 'data_prefix_keys', 'unexpected_argument_hint'
]

#: The packages whose dataset constructors pass their ``**kwargs`` on to
#: the next class of the MRO (checked for every registered dataset of
#: MMEngine 0.10.7, mmaction2 1.2.0 and mmpretrain 1.2.0). A class of
#: another package may use its ``**kwargs`` itself.
KNOWN_PACKAGES = ('mmengine.', 'mmaction.', 'mmpretrain.', 'mmadaptformer.')

#: Dataset bases whose ``data_prefix`` default names no key that their
#: subclasses read (MMEngine's and mmaction2's).
GENERIC_BASES = ('BaseDataset', 'BaseActionDataset')

#: Keys of a dataset config that are no constructor argument: MMEngine's
#: registry reads them.
REGISTRY_KEYS = ('type', '_scope_')


def dataset_arguments(cls: type, trusted: bool = True) -> Optional[List[str]]:
    """The arguments a config can give the dataset class ``cls``.

    Args:
        cls (type): The class.
        trusted (bool): Whether to read ``**kwargs`` only of classes of
            :data:`KNOWN_PACKAGES` as passed on. Defaults to True.

    Returns:
        list[str], optional: The named arguments of the ``__init__`` of
        each class of the MRO, in order, while each takes ``**kwargs``, and
        of the first that takes none; None if that cannot be told: a
        constructor without a signature to read, ``**kwargs`` that reach
        ``object``, or (``trusted``) ``**kwargs`` of a class of another
        package.
    """
    names: List[str] = []
    for base in inspect.getmro(cls):
        if base is object:
            return None
        if '__init__' not in vars(base):
            continue
        try:
            parameters = inspect.signature(base.__init__).parameters
        except (TypeError, ValueError):  # no signature to read
            return None
        for p in parameters.values():
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and \
                    p.name != 'self' and p.name not in names:
                names.append(p.name)
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return names
        if trusted and not base.__module__.startswith(KNOWN_PACKAGES):
            return None
    return None


def dataset_class(dataset: dict):
    """The class that the dataset config ``dataset`` builds, in the current
    default scope or its own ``_scope_``; None for a type no registry
    holds (building it names the miss)."""
    scope = dataset.get('_scope_')
    kind = dataset.get('type')
    if not isinstance(kind, str):
        return kind
    with DATASETS.switch_scope_and_registry(scope) as registry:
        return registry.get(kind)


def data_prefix_keys(cls: type) -> Optional[List[str]]:
    """The ``data_prefix`` keys the dataset class ``cls`` reads: those of
    the dict default of the first ``__init__`` along its MRO that gives
    ``data_prefix`` a default other than None (mmaction2's
    ``VideoDataset``: ``video``; ``RawframeDataset``: ``img``), a class of
    :data:`KNOWN_PACKAGES` other than :data:`GENERIC_BASES`; None where
    that cannot be told (a string default, as mmpretrain's).

    MMEngine joins every ``data_prefix`` value with ``data_root`` and the
    dataset reads only its own key, so a misspelled one
    (``data_prefix.vdieo=...``) was dropped without a word: the dataset
    read its videos from the config's folder instead."""
    for base in inspect.getmro(cls):
        init = vars(base).get('__init__')
        if init is None:
            continue
        try:
            param = inspect.signature(init).parameters.get('data_prefix')
        except (TypeError, ValueError):
            return None
        # A None default is filled in below (CheckedVideoDataset's).
        if param is None or param.default is None:
            continue
        default = param.default
        # The bases' defaults are no key their subclasses read (mmaction2's
        # PoseDataset reads 'skeleton', its BaseActionDataset says 'prefix').
        if not base.__module__.startswith(KNOWN_PACKAGES) or \
                base.__name__ in GENERIC_BASES or \
                not isinstance(default, dict) or not default:
            return None
        return list(default)
    return None


def _check_data_prefix(dataset: dict, cls: type, key: str, source: str,
                       options: Optional[dict]) -> None:
    prefix = dataset.get('data_prefix')
    reads = data_prefix_keys(cls) if isinstance(prefix, dict) else None
    for name in (prefix if reads else ()):
        if name in reads:
            continue
        place = mistake_place(source, f'{key}.data_prefix.{name}', options)
        raise ConfigError(
            f'{place}: {cls.__name__} reads no data_prefix key {name!r}'
            f'{close_hint(name, reads)}; it reads: {", ".join(reads)}, and '
            f'would ignore this one.')


def check_dataset_arguments(dataset: dict, key: str, source: str,
                            options: Optional[dict]) -> None:
    """Refuse a key of the dataset config ``dataset`` that the class it
    builds does not take (:func:`dataset_arguments`); nothing is refused
    where what it takes cannot be told.

    Args:
        dataset (dict): The dataset config, as the config gives it.
        key (str): Its config key, e.g. ``'train_dataloader.dataset'``.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given.

    Raises:
        ConfigError: ``WHERE: unknown argument 'ann_flie' of
            CheckedVideoDataset (did you mean 'ann_file'?). It takes: ...``,
            or a ``data_prefix`` key it does not read
            (:func:`data_prefix_keys`), where WHERE is the ``--cfg-options``
            entry that set it or the config file and key.
    """
    cls = dataset_class(dataset)
    takes = dataset_arguments(cls) if inspect.isclass(cls) else None
    if takes is None:
        return
    for name in dataset:
        if name in takes or name in REGISTRY_KEYS:
            continue
        place = mistake_place(source, f'{key}.{name}', options)
        raise ConfigError(
            f'{place}: unknown argument {name!r} of {cls.__name__}'
            f'{close_hint(name, takes)}. It takes: {", ".join(takes)}.')
    _check_data_prefix(dataset, cls, key, source, options)


def unexpected_argument_hint(error: BaseException, cls) -> str:
    """`` (did you mean ...?)`` for the ``TypeError`` of a constructor
    that got an argument it does not take, from the arguments ``cls``
    takes along its MRO, whatever its ``**kwargs`` do; ``''`` for another
    error or nothing close."""
    if not isinstance(error, TypeError) or not inspect.isclass(cls):
        return ''
    text = str(error)
    marker = "unexpected keyword argument '"
    if marker not in text:
        return ''
    name = text.split(marker, 1)[1].split("'", 1)[0]
    return close_hint(name, dataset_arguments(cls, trusted=False) or [])
