# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An image config whose ``LoadImageFromFile`` mmpretrain's inferencers
ignore, named once.

MMPretrain's ``ImageClassificationInferencer`` (and its other inferencers:
``FeatureExtractor``, ``ImageRetrievalInferencer``, ...) remove every
``LoadImageFromFile`` step from ``test_dataloader.dataset.pipeline``
(``remove_transform``) and read each image themselves with
``mmcv.imread`` and its defaults: 3 colour channels in BGR order, ``uint8``,
the ``cv2`` decoder, the local file backend. The step's own arguments
(``color_type='grayscale'``, ``imdecode_backend='pillow'``,
``to_float32=True``, ``backend_args``, ``ignore_empty``) are dropped
without a word, where ``tools/test.py``, ``tools/infer.py`` and
``ModelInferencer`` honour them, so the two scored the same image
differently. :func:`warn_image_loading_ignored` says so, once per config
and process, where our package meets the config: in ``init_model`` (so
``ModelInferencer``, ``tools/infer.py`` and ``MultiTaskRecognizer``) and
in every mmpretrain inferencer's constructor
(:func:`guard_mmpretrain_inferencers`).
"""
import functools
import logging
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Union

from mmengine.config import Config
from mmengine.logging import print_log

__all__ = [
    'image_loading_ignored', 'warn_image_loading_ignored',
    'guard_mmpretrain_inferencers'
]

#: ``mmcv.transforms.LoadImageFromFile``'s arguments and their defaults,
#: which are what ``mmcv.imread(path)`` reads with.
LOAD_IMAGE_DEFAULTS: Dict[str, Any] = dict(
    to_float32=False,
    color_type='color',
    imdecode_backend='cv2',
    file_client_args=None,
    ignore_empty=False,
    backend_args=None)

#: The key whose pipeline mmpretrain's inferencers read.
PIPELINE_KEY = 'test_dataloader.dataset.pipeline'

# The messages already logged in this process.
_WARNED: Set[str] = set()


def _is_load_image(step: Any) -> bool:
    """Whether mmpretrain's ``remove_transform(pipeline,
    'LoadImageFromFile')`` removes ``step``: a dict whose type is that
    name (or a class of that name), or a built transform of that class."""
    kind = step.get('type') if isinstance(step, dict) else type(step)
    if isinstance(kind, type):
        kind = kind.__name__
    return kind == 'LoadImageFromFile'


def _set_args(step: Any) -> List[Tuple[str, Any]]:
    """The arguments of a ``LoadImageFromFile`` step other than its
    defaults, in the step's order."""
    if isinstance(step, dict):
        args = {k: v for k, v in step.items() if k not in ('type', '_scope_')}
    else:
        # A built transform keeps its arguments as attributes.
        args = {
            k: getattr(step, k)
            for k in LOAD_IMAGE_DEFAULTS if hasattr(step, k)
        }
    return [(k, v) for k, v in args.items()
            if k not in LOAD_IMAGE_DEFAULTS or v != LOAD_IMAGE_DEFAULTS[k]]


def image_loading_ignored(cfg: Union[Config, dict],
                          source: str) -> Optional[str]:
    """Why mmpretrain's ``ImageClassificationInferencer`` scores otherwise
    than our tools for this config, if it does.

    Args:
        cfg (Config | dict): The config.
        source (str): How the config is named in the message.

    Returns:
        str | None: A one-line message naming the config, each
        ``LoadImageFromFile`` step of ``test_dataloader.dataset.pipeline``
        whose arguments mmpretrain's inferencers drop, and what to do; None
        where there is no such pipeline or every such step is left at its
        defaults.
    """
    loader = cfg.get('test_dataloader')
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    pipeline = dataset.get('pipeline') if isinstance(dataset, dict) else None
    if not isinstance(pipeline, (list, tuple)):
        return None
    steps = []
    for index, step in enumerate(pipeline):
        args = _set_args(step) if _is_load_image(step) else []
        if args:
            shown = ', '.join(f'{k}={v!r}' for k, v in args)
            steps.append(f'{PIPELINE_KEY}[{index}] '
                         f'LoadImageFromFile({shown})')
    if not steps:
        return None
    return (
        f'{source}: mmpretrain\'s ImageClassificationInferencer (and its '
        f'other inferencers) drops {" and ".join(steps)} and reads each '
        'image with mmcv.imread\'s defaults (3 colour channels, BGR, uint8, '
        'the cv2 decoder, local files), ignoring these arguments, where '
        'tools/test.py, tools/infer.py and ModelInferencer honour them: '
        'the two may score the same image differently. Classify with '
        'ModelInferencer or tools/infer.py to get the scores of '
        'tools/test.py.')


def warn_image_loading_ignored(cfg: Union[Config, dict], source: str) -> bool:
    """Log :func:`image_loading_ignored`'s message as a warning, the first
    time this process meets it.

    Kept by the message, which names the source, the steps and their
    arguments: configs without a file name (``'the config'``) that drop
    other arguments are each said once.

    Returns:
        bool: Whether a warning was logged now.
    """
    # A scan of a few steps: cheap on each of mmpretrain's calls.
    message = image_loading_ignored(cfg, source)
    if message is None or message in _WARNED:
        return False
    _WARNED.add(message)
    print_log(message, logger='current', level=logging.WARNING)
    return True


def _warn_for(inferencer: Any) -> None:
    """Warn about the config of an mmpretrain ``inferencer``, if need be."""
    # get_model's Config; a built model's own _config may be a dict.
    config = getattr(inferencer, 'config', None)
    if isinstance(config, (Config, dict)):
        warn_image_loading_ignored(
            config,
            getattr(config, 'filename', None) or 'the config')


def _warning_init(init: Callable) -> Callable:

    @functools.wraps(init)
    def wrapped(self, *args, **kwargs):
        init(self, *args, **kwargs)
        _warn_for(self)

    return wrapped


def _warning_call(call: Callable) -> Callable:

    @functools.wraps(call)
    def wrapped(self, *args, **kwargs):
        _warn_for(self)
        return call(self, *args, **kwargs)

    return wrapped


def guard_mmpretrain_inferencers() -> None:
    """Name the ``LoadImageFromFile`` arguments an mmpretrain inferencer
    will ignore.

    Wraps ``__init__`` and ``__call__`` of ``mmpretrain.apis.base.
    BaseInferencer`` (public; every mmpretrain inferencer calls the first,
    whether given a model name, a config file, a ``Config`` or a built
    model, and all but ``FeatureExtractor`` the second), and
    ``FeatureExtractor.__call__`` (public; it reads the images without
    calling ``BaseInferencer.__call__``): after the first, and before the
    others read any image, the inferencer's ``config`` goes through
    :func:`warn_image_loading_ignored`. The calls are needed too: a
    config that imports this package (``custom_imports``) does so inside
    the first call of ``__init__``, which started before the wrap, so the
    first inferencer of such a process is named when it is called.
    Nothing else changes: the inferencer still reads images its own way.
    Called once, by :func:`~mmadaptformer.utils.apply_upstream_fixes`.
    """
    from mmpretrain.apis import FeatureExtractor
    from mmpretrain.apis.base import BaseInferencer
    BaseInferencer.__init__ = _warning_init(BaseInferencer.__init__)
    BaseInferencer.__call__ = _warning_call(BaseInferencer.__call__)
    FeatureExtractor.__call__ = _warning_call(FeatureExtractor.__call__)
