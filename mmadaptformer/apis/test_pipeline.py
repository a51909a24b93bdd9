# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A config's test pipeline, which inference feeds its inputs through.

It is ``test_dataloader.dataset.pipeline`` (through wrapped datasets), as
``tools/test.py`` feeds the test set, else the top-level ``test_pipeline``.
A transform that cannot be built is a mistake of the config, and
:func:`build_test_pipeline` says so, naming the key and the index
(:func:`~mmadaptformer.utils.pipelines.build_transforms`): raised later,
it would read as a damaged checkpoint or a damaged input.
"""
import copy
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmadaptformer.utils.config_error import ConfigError
from mmadaptformer.utils.pipelines import (build_transforms,
                                           dataloader_pipelines)
from mmadaptformer.utils.test_time_aug import refuse_test_time_aug
from mmadaptformer.utils.video_clip_frames import check_pipeline_clip_frames

__all__ = ['test_pipeline_cfg', 'test_pipeline_key', 'build_test_pipeline']


def _test_pipeline(cfg: Config) -> Tuple[str, list]:
    """The config key of the test pipeline and the pipeline: the first
    that :func:`~mmadaptformer.utils.pipelines.dataloader_pipelines` finds
    under ``test_dataloader`` (``test_dataloader.dataset.pipeline``,
    through wrapped datasets), else ``test_pipeline``; the pipeline is
    empty if neither is set."""
    for key, pipeline in dataloader_pipelines(cfg, 'test_dataloader'):
        return key, pipeline
    return 'test_pipeline', list(cfg.get('test_pipeline') or [])


def test_pipeline_cfg(cfg: Config, source: str = 'config') -> list:
    """The config's test pipeline: ``test_dataloader.dataset.pipeline``,
    else the top-level ``test_pipeline``.

    Args:
        cfg (Config): The config.
        source (str): How the config is named in errors.

    Returns:
        list[dict]: A copy of the pipeline.

    Raises:
        ConfigError: If neither is set (or the one set is empty).
    """
    return copy.deepcopy(_found_test_pipeline(cfg, source)[1])


def test_pipeline_key(cfg: Config, source: str = 'config') -> str:
    """The config key of the test pipeline :func:`build_test_pipeline`
    builds, e.g. ``'test_dataloader.dataset.pipeline'``, for errors.

    Raises:
        ConfigError: As :func:`test_pipeline_cfg`.
    """
    return _found_test_pipeline(cfg, source)[0]


def _found_test_pipeline(cfg: Config, source: str) -> Tuple[str, list]:
    """:func:`_test_pipeline`, refusing an empty pipeline (see
    :func:`test_pipeline_cfg`)."""
    key, pipeline = _test_pipeline(cfg)
    if not pipeline:
        raise ConfigError(f'{source}: neither test_dataloader.dataset.'
                          'pipeline nor test_pipeline is set.')
    return key, pipeline


def build_test_pipeline(cfg: Config,
                        toolbox: str,
                        source: str = 'config',
                        options: Optional[dict] = None) -> Compose:
    """The config's test pipeline, built in its toolbox's scope.

    A transform that cannot be built is a mistake of the config, not of a
    checkpoint or an input, and is named so.

    Args:
        cfg (Config): The config.
        toolbox (str): ``'mmaction'`` or ``'mmpretrain'``, whose
            transforms it names.
        source (str): How the config is named in errors.
        options (dict, optional): The ``--cfg-options`` merged into
            ``cfg``: a mistake that one of them made is named by it
            (``--cfg-options KEY=VALUE``) rather than by its key in the
            merged config. Defaults to None.

    Returns:
        Compose: The pipeline.

    Raises:
        ConfigError: If there is no test pipeline, or a transform of it
            cannot be built: the message names the config, the key and
            index (``test_dataloader.dataset.pipeline[2]``) and the type,
            or the option that set it, or, for a type that is not
            registered, the closest names; or if its frame sampler's
            ``clip_len`` is not the model's VideoMAE ViT ``num_frames``
            (:func:`~mmadaptformer.utils.video_clip_frames.
            check_pipeline_clip_frames`); or if a step of it is
            ``TestTimeAug``, which only a test-time augmentation model
            merges (:func:`~mmadaptformer.utils.test_time_aug.
            refuse_test_time_aug`).
    """
    key, pipeline = _found_test_pipeline(cfg, source)
    init_default_scope(toolbox)
    # build_transforms builds each from a copy: the config is not changed.
    transforms = build_transforms(pipeline, key, cfg, source, options)
    # Its copies of each input failed inside the data preprocessor, with a
    # traceback: only a tta_model merges them.
    refuse_test_time_aug(
        transforms,
        key,
        source,
        'inference',
        f'Give {key} without TestTimeAug (tools/test.py --tta still uses '
        'tta_pipeline).',
        options=options)
    # Clips the VideoMAE ViT cannot take failed at the first input.
    check_pipeline_clip_frames(cfg, key, pipeline, source, options)
    return Compose(transforms)
