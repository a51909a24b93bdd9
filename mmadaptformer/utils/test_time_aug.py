# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a ``TestTimeAug`` step in a pipeline that feeds the model itself.

MMCV's ``TestTimeAug`` gives each input several augmented copies, which
only a test-time augmentation wrapper merges: the config's ``tta_model``,
that ``tools/test.py --tta`` wraps the model in, with ``tta_pipeline`` as
its test pipeline. Any other run feeds the model itself, which takes one
copy per input, and failed at the first batch deep in the model with a
traceback naming neither the step nor the config: ``RuntimeError: Expected
3D (unbatched) or 4D (batched) input to conv2d`` (an image ViT),
``AttributeError: 'tuple' object has no attribute 'ndim'`` (mmaction2's
data preprocessor), after the work dir was written.

:func:`refuse_test_time_aug` names the config, the key and index
(``test_dataloader.dataset.pipeline[1]``) and what to do, for inference
(:func:`~mmadaptformer.apis.test_pipeline.build_test_pipeline`), and
:func:`check_test_time_aug` for the tools' dataloaders, before the Runner
is built.
"""
from typing import Mapping, Optional, Sequence

from mmcv.transforms import TestTimeAug
from mmengine.config import Config
from mmengine.model import BaseTTAModel
from mmengine.registry import MODELS

from .config_error import ConfigError
from .config_place import mistake_place
from .pipelines import build_transforms, scoped_pipelines

__all__ = [
    'test_time_aug_index', 'model_merges_copies', 'refuse_test_time_aug',
    'check_test_time_aug'
]


def test_time_aug_index(transforms: Sequence) -> Optional[int]:
    """The index of the first ``TestTimeAug`` (or subclass) among the
    built ``transforms``, or None if there is none."""
    for index, transform in enumerate(transforms):
        if isinstance(transform, TestTimeAug):
            return index
    return None


def model_merges_copies(cfg: Config) -> bool:
    """Whether the config's model is itself a test-time augmentation model
    (an MMEngine ``BaseTTAModel``, e.g. mmpretrain's ``AverageClsScoreTTA``
    around the classifier, as ``--tta`` wraps it), which merges the copies
    ``TestTimeAug`` gives. Its type is looked up in the config's
    ``default_scope``, as the Runner builds it; a type not registered
    there is left to the Runner's own error."""
    model = cfg.get('model')
    type_ = model.get('type') if isinstance(model, Mapping) else None
    if isinstance(type_, str):
        with MODELS.switch_scope_and_registry(
                cfg.get('default_scope')) as registry:
            type_ = registry.get(type_)
    return isinstance(type_, type) and issubclass(type_, BaseTTAModel)


def refuse_test_time_aug(transforms: Sequence,
                         key: str,
                         source: str,
                         runs: str,
                         advice: str,
                         options: Optional[dict] = None) -> None:
    """Refuse a ``TestTimeAug`` step among the built ``transforms`` of the
    pipeline ``key``.

    Args:
        transforms (Sequence): The pipeline's transforms, built
            (:func:`~.pipelines.build_transforms`).
        key (str): The pipeline's config key, e.g.
            ``'test_dataloader.dataset.pipeline'``.
        source (str): The config file, for the error.
        runs (str): What runs the model itself, e.g. ``'inference'``.
        advice (str): What to do instead, a sentence.
        options (dict, optional): The ``--cfg-options`` given: a step one
            of them set is named by it. Defaults to None.

    Raises:
        ConfigError: If a step is ``TestTimeAug``: naming the config, the
            key and index (or the option), what runs, and ``advice``.
    """
    index = test_time_aug_index(transforms)
    if index is None:
        return
    where = mistake_place(source, f'{key}[{index}]', options)
    raise ConfigError(
        f'{where} is TestTimeAug, which gives each input several augmented '
        'copies for a test-time augmentation model to merge (the config\'s '
        'tta_model, which tools/test.py --tta wraps the model in, with '
        f'tta_pipeline as its test pipeline); {runs} runs the model itself, '
        f'which takes one copy per input. {advice}')


def check_test_time_aug(cfg: Config,
                        source: str,
                        loaders: Sequence[str],
                        runs: str,
                        advice: str,
                        options: Optional[dict] = None) -> None:
    """Refuse a ``TestTimeAug`` step in a pipeline of the named
    dataloaders (:func:`refuse_test_time_aug`), built in the config's
    ``default_scope``, unless the config's model merges the copies itself
    (:func:`model_merges_copies`).

    Args:
        cfg (Config): The config.
        source (str): The config file, for the error.
        loaders (Sequence[str]): e.g. ``('test_dataloader', )``; one the
            config leaves unset is skipped.
        runs (str): What runs the model itself, e.g. ``'tools/test.py
            without --tta'``.
        advice (str): What to do instead; ``{key}`` in it is replaced by
            the pipeline's key.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: See :func:`refuse_test_time_aug`, or
            :func:`~.pipelines.build_transforms`.
    """
    if model_merges_copies(cfg):
        return
    for key, pipeline in scoped_pipelines(cfg, loaders):
        transforms = build_transforms(pipeline, key, cfg, source, options)
        refuse_test_time_aug(transforms, key, source, runs,
                             advice.format(key=key), options)
