# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint given to the toolboxes' own APIs where the config goes.

``init_recognizer(CHECKPOINT, CONFIG)`` (the two swapped) and mmaction2's
Inferencers read the config with MMEngine's ``Config.fromfile``, which
ended them with ``OSError: Only py/yml/yaml/json type are supported now!``;
mmpretrain's ``get_model``, ``init_model`` and Inferencers look a path
that is not a ``.py`` file up as a model name and ended with ``Failed to
find model "epoch_1.pth"``. Neither says that the file is a checkpoint, or
which order the files go in. Every one of those paths passes
``Config.fromfile`` or mmpretrain's ``ModelHub.get``, so the check sits
there (:func:`guard_config_file_reads`) and says what the file is, with
the APIs' order of files (:data:`~.checkpoint_formats.API_ORDER`), and
what that reader takes: MMEngine's py, json and yaml configs
(:func:`~.config_loading.check_config_file`), mmpretrain's ``.py`` configs
only (:func:`check_model_name_file`).

Every config read of the process passes the same ``Config.fromfile``, so
it also reads one config at a time there (:mod:`~.config_read_lock`):
MMEngine's reader is not thread-safe; and names a ``{{_base_.X}}`` typo or a
key two bases define as our tools do
(:func:`~.config_base_errors.naming_base_mistakes`), where MMEngine raised
a bare ``KeyError``.
"""
import functools
import os
import os.path as osp
from typing import Callable

from .checkpoint_formats import API_ORDER, file_kind
from .config_base_errors import naming_base_mistakes
from .config_error import NotAConfigFileError
from .config_loading import check_config_file
from .config_read_lock import one_read_at_a_time
from .local_files import CONFIG_SUFFIXES

__all__ = ['check_model_name_file', 'guard_config_file_reads']


def check_model_name_file(name: str) -> None:
    """Refuse an existing file that mmpretrain's ``get_model`` would look up
    as a model name: it reads a config only from a ``.py`` file (or a
    :class:`~mmengine.config.Config`), and ``ModelHub.get`` looks any other
    string up among the model names.

    Args:
        name (str): What ``get_model`` (or an Inferencer) was given as the
            model.

    Raises:
        NotAConfigFileError: If ``name`` is a file other than a ``.py``
            one: saying what mmpretrain reads, what the file is (a
            checkpoint, a video, an image) with the order of files, or, for
            a json or yaml config, how to give it.
    """
    if not (isinstance(name, (str, os.PathLike)) and osp.isfile(name)):
        return
    name = str(name)
    suffix = osp.splitext(name)[1]
    if suffix == '.py':
        # get_model reads these itself; ModelHub.get called with one
        # directly keeps its own "Failed to find model".
        return
    reads = ("mmpretrain's get_model and Inferencers read a config only "
             'from a .py file or a Config (any other string is looked up '
             'as a model name)')
    if suffix in CONFIG_SUFFIXES:
        raise NotAConfigFileError(
            f'The model {name} is a {suffix[1:]} config file, but {reads}: '
            f'give Config.fromfile({name!r}) as the model instead.')
    kind = file_kind(name)
    what = f'; it is {kind}: {API_ORDER}' if kind else ''
    raise NotAConfigFileError(
        f'The model {name} is not a .py config file: {reads}{what}.')


def _checked_fromfile(fromfile: Callable) -> Callable:

    @functools.wraps(fromfile)
    def checked(filename, *args, **kwargs):
        if isinstance(filename, (str, os.PathLike)) \
                and osp.isfile(filename):
            check_config_file(str(filename), API_ORDER)
        return fromfile(filename, *args, **kwargs)

    return checked


def _checked_get(get: Callable) -> Callable:

    @functools.wraps(get)
    def checked(cls, model_name, *args, **kwargs):
        check_model_name_file(model_name)
        return get(cls, model_name, *args, **kwargs)

    return checked


def guard_config_file_reads() -> None:
    """Name a checkpoint, video or image given to the APIs as a config
    and a mistake in a config's bases, and read one config at a time.

    Wraps ``mmengine.config.Config.fromfile`` (behind mmaction2's
    ``init_recognizer`` and Inferencers, and MMEngine's) and mmpretrain's
    ``ModelHub.get`` (behind its ``get_model``, ``init_model`` and
    Inferencers), both public: an existing file that is not a config is
    refused by :func:`~.config_loading.check_config_file` and, for
    mmpretrain, which reads only ``.py`` configs, any file but a ``.py``
    one by :func:`check_model_name_file`; a ``{{_base_.X}}`` that the
    bases do not define, or a key two bases define, raises a
    :class:`~.config_base_errors.ConfigKeyError`
    (:func:`~.config_base_errors.naming_base_mistakes`).
    Anything else goes through unchanged, one ``Config.fromfile`` at a
    time in the process (:func:`~.config_read_lock.one_read_at_a_time`;
    the check before it is not held up). Called once, by
    :func:`~mmadaptformer.utils.apply_upstream_fixes`.
    """
    from mmengine.config import Config
    from mmpretrain.apis.model import ModelHub
    fromfile = Config.__dict__['fromfile'].__func__
    Config.fromfile = staticmethod(
        _checked_fromfile(naming_base_mistakes(one_read_at_a_time(fromfile))))
    get = ModelHub.__dict__['get'].__func__
    ModelHub.get = classmethod(_checked_get(get))
