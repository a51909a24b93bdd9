# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The configs of ``tools/infer.py``'s models, read before any model loads:
for the checks of ``--out`` against the files they name, and for how the
models expand a folder INPUT (:class:`~mmadaptformer.apis.folder_readers.
FolderReaders`).

A config that cannot be read here cannot be loaded either. With one model
``tools/infer.py`` says so once, as a usage error
(:func:`unreadable_config_line`); with ``--task`` that task fails in every
input while the others answer, and it has no say in how a folder is
expanded: a clip folder stays one clip for the tasks that read frames,
not the frames as images for a task that is not there.
"""
from typing import Dict, Optional, Sequence

from mmengine.config import Config

from mmadaptformer.utils.cfg_options_merge import (CfgOptionsError,
                                                   merge_cfg_options)
from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.config_loading import load_config_file
from .folder_readers import FolderReaders
from .frame_folders import FrameFolders
from .infer_files import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from .inputs import toolbox_of
from .test_pipeline import test_pipeline_cfg

__all__ = ['read_model_configs', 'folder_readers_of', 'unreadable_config_line']


def read_model_configs(
    configs: Sequence[str],
    cfg_options: Optional[dict] = None,
    errors: Optional[Dict[str,
                          Exception]] = None) -> Dict[str, Optional[Config]]:
    """Each model's config, with ``--cfg-options`` merged in, read once by
    file.

    Args:
        configs (Sequence[str]): The config files, a file given twice read
            once.
        cfg_options (dict, optional): ``--cfg-options``. Defaults to None.
        errors (dict, optional): Filled with ``{file: exception}`` for each
            config that cannot be read, for
            :func:`unreadable_config_line`. Defaults to None.

    Returns:
        dict: ``{file: Config}``, None for a config that cannot be read
        here, or whose ``--cfg-options`` change a variable it copied
        (:func:`~mmadaptformer.utils.cfgopt_variables.
        refuse_copied_variables`: the model's load names that option).

    Raises:
        CfgOptionsError: If an option cannot be merged into a config that
            was read (it names the option and the file), for a usage
            error said once rather than a load error in every input.
    """
    read: Dict[str, Optional[Config]] = {}
    for config in configs:
        if config in read:
            continue
        read[config] = None
        try:
            cfg = load_config_file(config)
        except Exception as exc:  # the caller says it (errors), or the load
            if errors is not None:
                errors[config] = exc
            continue
        try:
            read[config] = merge_cfg_options(cfg, cfg_options)
        except CfgOptionsError:
            raise  # a mistake of the command line, said once
        except ConfigError:  # a copied variable: named when the model loads
            pass
    return read


def unreadable_config_line(config: str, exc: Exception) -> str:
    """One line for a config that :func:`read_model_configs` could not
    read, naming the file and, where it can be found, the line.

    Args:
        config (str): The config file.
        exc (Exception): What reading it raised.

    Returns:
        str: ``load_config_file``'s own line (a
        :class:`~mmadaptformer.utils.config_error.ConfigError`, worded as
        ``tools/train.py`` and ``tools/test.py`` word it) for Python that
        does not parse, a ``_base_`` file that does not exist, bytes that
        are not UTF-8 text (it names the file and, where it can, the line);
        else the config and the error.
    """
    if isinstance(exc, ConfigError):  # names the file and the line
        return str(exc)
    line = f'{type(exc).__name__}: {exc}'
    return line if config in str(exc) else f'The config {config}: {line}'


def folder_readers_of(configs: Dict[str, Optional[Config]]) -> FolderReaders:
    """How the models read a folder, as the engines expand it: as clip
    folders for a config whose test pipeline reads extracted frames, as
    video files for another mmaction config, as images for an mmpretrain
    one. A config that cannot be read here, or whose kind cannot be told,
    has no say: its model's load names the mistake, as the task's error in
    every input. When no config has a say, a folder is not expanded (it is
    one input, which gets the errors).

    Args:
        configs (dict): ``{file: Config or None}``, from
            :func:`read_model_configs`.

    Raises:
        ConfigError: If a test set names its frames with a template that
            names none.
    """
    frames, extensions = [], ()
    for config, cfg in configs.items():
        if cfg is None:  # said when the model loads, as a task error
            continue
        try:
            toolbox = toolbox_of(cfg, config)
            test_pipeline_cfg(cfg, config)
        except Exception:  # said when the model loads, as a task error
            continue
        naming = FrameFolders.of_config(cfg, config)
        if naming is not None:
            frames.append(naming)
        else:
            extensions += VIDEO_EXTENSIONS if toolbox == 'mmaction' else \
                IMAGE_EXTENSIONS
    return FolderReaders(frames, extensions, expand=bool(frames or extensions))
