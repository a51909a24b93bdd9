# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video config whose two test pipelines differ, named once.

A recognizer config holds its test pipeline twice: the top-level
``test_pipeline`` and ``test_dataloader.dataset.pipeline`` (the stock
configs set the second to the first). ``tools/test.py``, ``tools/infer.py``,
``ModelInferencer`` and MMAction2's own ``MMAction2Inferencer`` feed the
dataloader's; MMAction2's ``inference_recognizer`` (on the model of
``init_recognizer`` or our ``init_model``) reads the top-level one. A child
config that sets only ``test_dataloader``, or ``--cfg-options
test_dataloader.dataset.pipeline...``, changed one of them, and the two
APIs scored the same video differently without a word.
:func:`warn_test_pipelines_disagree` says so, once per config and process,
where a test run is built and where a model for inference is.
MMPretrain's ``ImageClassificationInferencer`` and ``inference_model`` read
``test_dataloader.dataset.pipeline`` as ours do, so an image config is not
concerned (but for the arguments of its ``LoadImageFromFile``, which they
drop: :mod:`~mmadaptformer.utils.image_loading_agreement`).
"""
import logging
from typing import Optional, Set, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from .pipelines import dataloader_pipelines
from .random_sampling import random_steps

__all__ = ['pipelines_disagreement', 'warn_test_pipelines_disagree']

# (source, dataloader key) pairs already warned about in this process.
_WARNED: Set[Tuple[str, str]] = set()


def _is_recognizer_config(cfg: Config) -> bool:
    model = cfg.get('model')
    model_type = model.get('type') if isinstance(model, dict) else None
    return (cfg.get('default_scope') == 'mmaction'
            or str(model_type).startswith('mmaction.')
            or str(model_type).startswith('Recognizer'))


def _unscoped(step, scope: str):
    """``step`` without a ``_scope_`` that names ``scope``."""
    if isinstance(step, dict) and step.get('_scope_') == scope:
        return {k: v for k, v in step.items() if k != '_scope_'}
    return step


def _steps(pipeline: list, other: list, index: int) -> str:
    """Step ``index`` of ``pipeline``: its type, and where ``other``'s step
    is of the same type, the arguments in which they differ."""
    if index >= len(pipeline):
        return 'no step'
    step = pipeline[index]
    if not isinstance(step, dict):
        return repr(step)
    twin = other[index] if index < len(other) else None
    if not isinstance(twin, dict) or twin.get('type') != step.get('type'):
        return str(step.get('type'))
    names = sorted(
        k for k in set(step) | set(twin)
        if k != 'type' and step.get(k) != twin.get(k))
    args = ', '.join(f'{k}={step[k]!r}' if k in step else f'no {k}'
                     for k in names)
    return f'{step.get("type")}({args})'


def pipelines_disagreement(cfg: Config,
                           source: str) -> Optional[Tuple[str, str]]:
    """Why MMAction2's ``inference_recognizer`` scores otherwise than our
    tools for this config, if it does.

    Args:
        cfg (Config): The config.
        source (str): How the config is named in the message.

    Returns:
        tuple | None: The dataloader's pipeline key and a one-line message,
        or None where the config is not a recognizer's, lacks either
        pipeline (then there is only one to read) or both are equal.
    """
    top = cfg.get('test_pipeline')
    if not _is_recognizer_config(cfg) or not isinstance(top, (list, tuple)):
        return None
    found = next(dataloader_pipelines(cfg, 'test_dataloader'), None)
    if found is None:
        return None
    key, pipeline = found
    # MMEngine marks the steps of a variable inherited from another
    # package's config with that package's scope, not the dataloader's
    # copy of them: the same transforms where it is the default scope.
    scope = cfg.get('default_scope') or 'mmaction'
    pipeline = [_unscoped(step, scope) for step in pipeline]
    top = [_unscoped(step, scope) for step in top]
    if pipeline == top:
        return None
    index = next((i for i, (a, b) in enumerate(zip(pipeline, top)) if a != b),
                 min(len(pipeline), len(top)))
    # Never advise spreading a sampler that picks frames at random: it is
    # given test_mode=True first.
    unfixed = ', '.join(f'{key}[{i}] ({name})'
                        for i, name in random_steps(pipeline, scope))
    first = (f'add test_mode=True to {unfixed} (without it, it samples '
             'frames at random), then ' if unfixed else '')
    return key, (
        f'{source}: {key} differs from the top-level test_pipeline (first '
        f'at step {index}: {_steps(pipeline, top, index)} against '
        f'{_steps(top, pipeline, index)}). tools/test.py, tools/infer.py, '
        "ModelInferencer and MMAction2Inferencer feed the former; mmaction2's "
        'inference_recognizer (on the model of init_recognizer or '
        'init_model) reads the latter, so they score the same video '
        f'differently. To make them agree, {first}set test_pipeline = {key} '
        'in the config (or give a --cfg-options change to both keys).')


def warn_test_pipelines_disagree(cfg: Config, source: str) -> bool:
    """Log :func:`pipelines_disagreement`'s message as a warning, the
    first time this process meets it for ``source``.

    Returns:
        bool: Whether a warning was logged now.
    """
    found = pipelines_disagreement(cfg, source)
    if found is None or (source, found[0]) in _WARNED:
        return False
    _WARNED.add((source, found[0]))
    print_log(found[1], logger='current', level=logging.WARNING)
    return True
