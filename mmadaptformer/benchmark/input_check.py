# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse synthetic inputs that the config's backbone cannot take, before
any mode runs.

``benchmark_train.py CONFIG --img-size 8`` on a backbone with 16-pixel
patches (or ``--num-frames 1`` on a VideoMAE ViT with 2-frame tubelets)
failed in each mode's worker process with PyTorch's ``Kernel size can't be
greater than actual input size``, after a worker had started and built the
model, without naming the flag. :func:`input_size_problem` names the flag
(or the pipeline key the size came from), the patch or tubelet size and
the config key that gives it.
"""
import inspect
from typing import Optional, Tuple

from mmengine.registry import MODELS

from ..utils.registry_names import registered, use_default_scope
from .options import WRAPPER_TYPES

__all__ = ['input_size_problem']


def _host(cfg) -> Tuple[dict, str]:
    """The host backbone's config and its config key (inside an
    AdaptFormer wrapper: ``model.backbone.backbone``)."""
    backbone = cfg.model.get('backbone') or {}
    if backbone.get('type') in WRAPPER_TYPES and isinstance(
            backbone.get('backbone'), dict):
        return backbone['backbone'], 'model.backbone.backbone'
    return backbone, 'model.backbone'


def _setting(cfg, backbone: dict, key: str, name: str):
    """``(value, where it came from)`` of a backbone argument: the config's
    key, else the host class's default; ``(None, '')`` if neither."""
    if name in backbone:
        return backbone[name], f'{key}.{name} of the config'
    use_default_scope(cfg)
    cls = registered(MODELS, backbone.get('type'))
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return None, ''
    default = params[name].default if name in params else None
    if default is inspect.Parameter.empty:
        return None, ''
    return default, (f'the default of {backbone.get("type")} ({key} has no '
                     f'{name})')


def _sides(value) -> Optional[Tuple[int, int]]:
    """A patch size as ``(h, w)``; None for one that is not."""
    if isinstance(value, int):
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) for v in value):
        return tuple(value)
    return None


#: What ``benchmark_train.py`` tells a user to do about an input side
#: below the patch size, and about clips shorter than a tubelet.
SIZE_ADVICE = 'give an --img-size of at least the patch size'
FRAMES_ADVICE = 'give a --num-frames of at least the tubelet size'


def input_size_problem(cfg,
                       spec: dict,
                       size_advice: str = SIZE_ADVICE,
                       frames_advice: str = FRAMES_ADVICE) -> Optional[str]:
    """What is wrong with the synthetic input of :func:`input_spec` for the
    config's backbone: a side below the patch size, or (a VideoMAE-style
    video backbone with ``tubelet_size``) fewer frames than a tubelet.

    Args:
        cfg (Config): The config (``--cfg-options`` merged).
        spec (dict): The result of :func:`input_spec` for it.
        size_advice (str): What to do about a side below the patch size.
            Defaults to :data:`SIZE_ADVICE`.
        frames_advice (str): What to do about clips shorter than a
            tubelet. Defaults to :data:`FRAMES_ADVICE`.

    Returns:
        str | None: One line naming the flag or key the input size came
        from, the patch or tubelet size and where that came from; None if
        the input fits.
    """
    backbone, key = _host(cfg)
    if not isinstance(backbone, dict):
        return None
    shape, sources = spec['sample_shape'], spec['sources']
    patch, patch_source = _setting(cfg, backbone, key, 'patch_size')
    sides = _sides(patch)
    h, w = shape[-2:]
    if sides and (h < sides[0] or w < sides[1]):
        return (f'input size {h}x{w} (from {sources["size"]}) is smaller '
                f'than the patch size {patch} ({patch_source}): '
                f'{size_advice}')
    if not spec['video'] or len(shape) != 5:
        return None
    tubelet, tubelet_source = _setting(cfg, backbone, key, 'tubelet_size')
    frames = shape[2]
    if isinstance(tubelet, int) and frames < tubelet:
        return (f'clips of {frames} frame(s) (from {sources["frames"]}) are '
                f'fewer than the tubelet size {tubelet} ({tubelet_source}): '
                f'{frames_advice}')
    return None
