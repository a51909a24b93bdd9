# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a video pipeline whose clips have another number of frames than
mmaction2's VideoMAE ``VisionTransformer`` was built for.

The VideoMAE ViT adds a position embedding of ``num_frames //
tubelet_size`` time steps to the tokens of every clip. It resizes the
embedding to another frame size, but not to another clip length: a
``SampleFrames`` with ``clip_len=8`` in front of a backbone with
``num_frames=16`` (a stock VideoMAE config shortened to the paper's 8-frame
clips, with the backbone left as it was) ended training at its first step,
after the work dir and the model were made, and testing and inference at
their first input, with ``RuntimeError: The size of tensor a (784) must
match the size of tensor b (1568) at non-singleton dimension 1`` from
inside the backbone. :func:`check_clip_frames` names both keys before
anything runs.
"""
import inspect
from typing import Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import MODELS, TRANSFORMS

from .config_error import ConfigError
from .config_place import mistake_place
from .pipelines import scoped_pipelines
from .registry_names import registered

__all__ = ['check_clip_frames', 'check_pipeline_clip_frames', 'video_host']

#: The module of mmaction2's VideoMAE ViT, whose position embedding fixes
#: the clip length.
VIDEOMAE_MODULE = 'mmaction.models.backbones.vit_mae'


def video_host(cfg: Config) -> Optional[Tuple[str, int, int]]:
    """The config key, ``num_frames`` and ``tubelet_size`` of the model's
    mmaction2 VideoMAE ``VisionTransformer`` (``model.backbone``, or the
    host inside an AdaptFormer or VPT wrapper, ``model.backbone.backbone``),
    in the current default scope; None for any other backbone."""
    model = cfg.get('model')
    backbone = model.get('backbone') if isinstance(model, dict) else None
    key = 'model.backbone'
    if isinstance(backbone, dict) and isinstance(
            backbone.get('backbone'), dict):
        backbone, key = backbone['backbone'], f'{key}.backbone'
    if not isinstance(backbone, dict):
        return None
    cls = registered(MODELS, backbone.get('type'))
    if not isinstance(cls, type) or cls.__module__ != VIDEOMAE_MODULE:
        return None
    defaults = inspect.signature(cls).parameters
    num_frames = backbone.get('num_frames', defaults['num_frames'].default)
    tubelet = backbone.get('tubelet_size', defaults['tubelet_size'].default)
    if not (isinstance(num_frames, int) and isinstance(tubelet, int)
            and tubelet > 0):
        return None
    return key, num_frames, tubelet


def check_pipeline_clip_frames(cfg: Config,
                               key: str,
                               pipeline: Sequence,
                               source: str,
                               options: Optional[dict] = None) -> None:
    """Refuse a frame sampler of ``pipeline`` (an mmaction2 transform with
    ``clip_len``, such as ``SampleFrames``) whose clips the model's VideoMAE
    ViT cannot take (see the module's docstring).

    Args:
        cfg (Config): The config, for the backbone.
        key (str): The pipeline's config key, e.g.
            ``'test_dataloader.dataset.pipeline'``.
        pipeline (Sequence): Its transform configs.
        source (str): The config file, for errors.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the sampler's ``clip_len`` (or the option that
            set it) and the backbone's ``num_frames``.
    """
    host = video_host(cfg)
    if host is None:
        return
    host_key, num_frames, tubelet = host
    for index, transform in enumerate(pipeline):
        if not isinstance(transform, dict):
            continue
        clip_len = transform.get('clip_len')
        cls = registered(TRANSFORMS, transform.get('type'))
        if not isinstance(clip_len, int) or not isinstance(
                cls, type) or not cls.__module__.startswith('mmaction.'):
            continue
        # The tubelet convolution drops a last incomplete tubelet, so only
        # the number of time steps has to agree.
        if clip_len // tubelet == num_frames // tubelet:
            continue
        where = mistake_place(source, f'{key}[{index}].clip_len', options)
        frames = mistake_place(source, f'{host_key}.num_frames', options)
        raise ConfigError(
            f'{where}: {key}[{index}] ({cls.__name__}) samples clips of '
            f'{clip_len} frames, but the backbone {host_key} (mmaction2\'s '
            f'VideoMAE VisionTransformer) was built for num_frames='
            f'{num_frames} (tubelet_size={tubelet}; {frames}): its '
            f'position embedding covers {num_frames // tubelet} time steps, '
            f'a clip gives {clip_len // tubelet}, and the first forward '
            'would fail inside the backbone. Set clip_len='
            f'{num_frames}, or num_frames={clip_len} in {host_key} (the '
            'pretrained checkpoint\'s position embedding must then be one '
            'for that many frames: python tools/model_converters/'
            f'convert_official.py SRC DST --num-frames {clip_len}, for an '
            'MMAction2 model-zoo file or a VideoMAE pre-training one).')


def check_clip_frames(cfg: Config,
                      source: str,
                      loaders: Sequence[str],
                      options: Optional[dict] = None) -> None:
    """:func:`check_pipeline_clip_frames` for every pipeline of the named
    dataloaders, in the config's ``default_scope``
    (:func:`~.pipelines.scoped_pipelines`).

    Args:
        cfg (Config): The config.
        source (str): The config file, for errors.
        loaders (Sequence[str]): e.g. ``('train_dataloader',
            'val_dataloader')``; one the config leaves unset is skipped.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: See :func:`check_pipeline_clip_frames`.
    """
    for key, pipeline in scoped_pipelines(cfg, loaders):
        check_pipeline_clip_frames(cfg, key, pipeline, source, options)
