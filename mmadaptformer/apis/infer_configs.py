# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The configs of ``tools/infer.py``'s models, read before any model loads:
for the checks of ``--out`` against the files they name, and for how the
models expand a folder INPUT (:class:`~mmadaptformer.apis.folder_readers.
FolderReaders`)."""
from typing import Dict, Optional, Sequence

from mmengine.config import Config

from mmadaptformer.utils.config_file import load_config_file, merge_cfg_options
from .folder_readers import FolderReaders
from .frame_folders import FrameFolders
from .infer_files import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from .inputs import toolbox_of
from .test_pipeline import test_pipeline_cfg

__all__ = ['read_model_configs', 'folder_readers_of']


def read_model_configs(
        configs: Sequence[str],
        cfg_options: Optional[dict] = None) -> Dict[str, Optional[Config]]:
    """Each model's config, with ``--cfg-options`` merged in, read once by
    file.

    Args:
        configs (Sequence[str]): The config files, a file given twice read
            once.
        cfg_options (dict, optional): ``--cfg-options``. Defaults to None.

    Returns:
        dict: ``{file: Config}``, None for a config that cannot be read
        here: its model's load names the mistake, as the task's error.
    """
    read: Dict[str, Optional[Config]] = {}
    for config in configs:
        if config in read:
            continue
        try:
            read[config] = merge_cfg_options(
                load_config_file(config), cfg_options)
        except Exception:  # named as the task's error when it loads
            read[config] = None
    return read


def folder_readers_of(configs: Dict[str, Optional[Config]]) -> FolderReaders:
    """How the models read a folder, as the engines expand it: as clip
    folders for a config whose test pipeline reads extracted frames, as
    video files for another mmaction config, as images for an mmpretrain
    one, and as both files where a config cannot be read here (its model's
    load names the mistake).

    Args:
        configs (dict): ``{file: Config or None}``, from
            :func:`read_model_configs`.

    Raises:
        ConfigError: If a test set names its frames with a template that
            names none.
    """
    frames, extensions = [], ()
    both = VIDEO_EXTENSIONS + IMAGE_EXTENSIONS
    for config, cfg in configs.items():
        if cfg is None:  # said when the model loads, as a task error
            extensions += both
            continue
        try:
            toolbox = toolbox_of(cfg, config)
            test_pipeline_cfg(cfg, config)
        except Exception:  # said when the model loads, as a task error
            extensions += both
            continue
        naming = FrameFolders.of_config(cfg, config)
        if naming is not None:
            frames.append(naming)
        else:
            extensions += VIDEO_EXTENSIONS if toolbox == 'mmaction' else \
                IMAGE_EXTENSIONS
    return FolderReaders(frames, extensions)
