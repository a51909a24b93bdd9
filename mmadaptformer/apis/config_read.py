# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read the config of a model to run: a copy of it, named by its file.

:func:`load_config` names a config that is a folder or is not there, and
refuses what :func:`~mmadaptformer.utils.config_loading.check_config_file`
refuses, in the API's terms (a checkpoint given first:
``init_model(config, checkpoint)``), before MMEngine reads it;
:func:`model_config` is the model config that
:func:`~mmadaptformer.apis.model_init.init_model` builds.
"""
import copy
import os.path as osp
from typing import Tuple, Union

from mmengine.config import Config

from mmadaptformer.utils.checkpoint_formats import API_ORDER
from mmadaptformer.utils.config_loading import read_config
from mmadaptformer.utils.local_files import home_note

__all__ = ['api_order', 'load_config', 'model_config']


def api_order(call: str) -> str:
    """The order of an API's files, for a file given as its config.

    Args:
        call (str): How it is called, e.g.
            ``'init_model(config, checkpoint)'``.

    Returns:
        str: ``'init_model takes the config first, then the checkpoint:
        init_model(config, checkpoint)'``.
    """
    return (f'{call.split("(")[0]} takes the config first, then the '
            f'checkpoint: {call}')


def load_config(config: Union[str, Config],
                order: str = API_ORDER) -> Tuple[Config, str]:
    """A copy of a config and how to name it in messages (its file).

    Args:
        config (str | Config): A config file or object.
        order (str): The order of the caller's files, for a file that is
            no config (a checkpoint given first). Defaults to
            :data:`~mmadaptformer.utils.checkpoint_formats.API_ORDER`;
            see :func:`api_order`.

    Returns:
        tuple[Config, str]: The config and its source.
    """
    if isinstance(config, Config):
        return copy.deepcopy(config), config.filename or '<Config>'
    if osp.isdir(config):
        raise IsADirectoryError(
            f'Config file {config} is a folder, not a config file: give the '
            '.py file in it.')
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'Config file {config} does not exist{home_note(config)}.')
    return read_config(config, order), str(config)


def model_config(cfg: Config, scope: str) -> dict:
    """The model config
    :func:`~mmadaptformer.apis.model_init.init_model` builds.

    mmpretrain's configs give the data preprocessor at the top level
    (``data_preprocessor``); as mmpretrain's ``get_model`` does, it becomes
    the model's unless the model names its own.

    Args:
        cfg (Config): The whole config.
        scope (str): Its toolbox, ``'mmaction'`` or ``'mmpretrain'``.

    Returns:
        dict: A copy of ``cfg.model``.
    """
    model_cfg = copy.deepcopy(cfg.model)
    if scope == 'mmpretrain':
        model_cfg.setdefault('data_preprocessor',
                             cfg.get('data_preprocessor', None))
    return model_cfg
