# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A validation or test pipeline that samples frames, crops, flips or
augments at random, named.

mmaction2's frame samplers (``SampleFrames``, ``DenseSampleFrames``,
``SampleAVAFrames``, ``UniformSample``, ``UniformSampleFrames``, ...) take
``test_mode``: without ``test_mode=True`` they pick the frames of a clip at
random, as training wants. A validation or test pipeline copied from the
training one therefore scored the same video differently on every call
(0.4460, then 0.4424), in ``tools/test.py``, in validation and in
inference, and no message said why. The training pipeline's random crops,
flips and colour changes (``RandomResizedCrop``, ``Flip``, ``ColorJitter``,
``RandAugment``, ...: :func:`~.random_transforms.random_transforms`) do the
same. mmaction2's and mmpretrain's own configs set ``test_mode=True`` in
every validation and test sampler and crop there with ``CenterCrop`` (or
``ThreeCrop``/``TenCrop``); a random step there is taken for a mistake, and
:func:`warn_random_sampling` says so once per config, pipeline and
process, naming the key, the transform and the fix. Only the pipelines the
dataloaders run are read: a top-level ``test_pipeline`` no dataloader uses
is not.
"""
import inspect
import logging
from typing import Iterator, List, Optional, Sequence, Set, Tuple

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import TRANSFORMS

from .config_place import given_cfg_options, mistake_place
from .pipelines import scoped_pipelines
from .random_transforms import AUGMENT, CROP, FLIP, RESIZE, random_transforms
from .registry_names import lookup_type

__all__ = ['random_steps', 'random_sampling_messages', 'warn_random_sampling']

#: Where a dataloader's pipeline scores, for the message.
_USED_IN = {
    'val_dataloader': 'in validation',
    'test_dataloader': 'in tools/test.py and inference'
}

# (source, pipeline key) pairs already warned about in this process.
_WARNED: Set[Tuple[str, str]] = set()


def _takes_test_mode(cls) -> bool:
    """Whether ``cls`` or a class its constructor passes ``**kwargs`` on
    to takes a ``test_mode`` argument."""
    for klass in getattr(cls, '__mro__', ()):
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        try:
            parameters = inspect.signature(init).parameters
        except (TypeError, ValueError):
            return False
        if 'test_mode' in parameters:
            return True
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return False
    return False


def random_steps(pipeline: Sequence,
                 scope: Optional[str] = None) -> List[Tuple[int, str]]:
    """The steps of ``pipeline`` that sample at random: a transform that
    takes ``test_mode`` and is not given ``test_mode=True``.

    Args:
        pipeline (Sequence): Transform configs. A built transform or a
            type no registry holds is not read (the pipeline checks name
            the latter).
        scope (str, optional): The scope a step without ``_scope_`` is
            looked up in. Defaults to None: the current default scope.

    Returns:
        list[tuple[int, str]]: The index and type name of each.
    """
    found = []
    for index, step in enumerate(pipeline):
        if not isinstance(step, dict) or step.get('test_mode'):
            continue
        cls = lookup_type(TRANSFORMS, step.get('type'),
                          step.get('_scope_') or scope).cls
        if inspect.isclass(cls) and _takes_test_mode(cls):
            found.append((index, cls.__name__))
    return found


#: What a frame sampler without test_mode=True does.
_SAMPLES = 'has no test_mode=True, so it samples frames at random'
_SAMPLE = 'sample'

#: The fix of each kind of random step; ``{it}`` is the step (``it``) or
#: steps (``them``) of that kind, or their names where the pipeline has
#: random steps of other kinds too.
_FIXES = {
    _SAMPLE: ("Add test_mode=True to {it} (mmaction2's own configs set it "
              'in every validation and test sampler).'),
    CROP: ('Resize, then use CenterCrop in place of {it}{several}, as '
           "{toolbox}'s own test pipelines do (e.g. {resize}, "
           'then CenterCrop(crop_size=224)).'),
    FLIP: ('Drop {it} (flip only as test-time augmentation, where each '
           'view is flipped always or never).'),
    RESIZE:
    'Use Resize with one scale in place of {it}.',
    AUGMENT:
    'Drop {it} (a training augmentation).',
}

#: The resize before CenterCrop in the toolbox's own test pipelines
#: (``{video: step}``): a crop alone keeps the source resolution, where
#: RandomResizedCrop scaled it.
_RESIZES = {
    True: 'Resize(scale=(-1, 256))',
    False: "ResizeEdge(scale=256, edge='short')"
}


def _random_steps(pipeline: list, key: str,
                  scope: Optional[str]) -> List[Tuple[str, str, str, str]]:
    """``(key, name, what it does at random, kind)`` of each random step of
    ``pipeline``: frame samplers (:func:`random_steps`), then crops, flips,
    resizes and augmentations
    (:func:`~.random_transforms.random_transforms`), in order."""
    samplers = dict(random_steps(pipeline, scope))
    found = []
    for index, step in enumerate(pipeline):
        step_key = f'{key}[{index}]'
        if index in samplers:
            found.append((step_key, samplers[index], _SAMPLES, _SAMPLE))
        else:
            found.extend(random_transforms(step, step_key, scope))
    return found


def _fixes(steps: list, video: bool) -> str:
    """The fix of each kind among ``steps``, in their order."""
    kinds = list(dict.fromkeys(kind for *_, kind in steps))
    fixes = []
    for kind in kinds:
        names = list(
            dict.fromkeys(name for _, name, _, k in steps if k == kind))
        if len(kinds) > 1:
            it = ' and '.join(names)
        else:
            it = 'it' if len(steps) == 1 else 'them'
        fixes.append(_FIXES[kind].format(
            it=it,
            several=' (ThreeCrop or TenCrop to score several fixed crops)'
            if video else '',
            toolbox='mmaction2' if video else 'mmpretrain',
            resize=_RESIZES[video]))
    return ' '.join(fixes)


def random_sampling_messages(
        cfg: Config, source: str,
        loaders: Sequence[str]) -> Iterator[Tuple[str, str]]:
    """One ``(pipeline key, message)`` for each pipeline of the named
    dataloaders with a step that samples frames at random
    (:func:`random_steps`) or crops, flips, resizes or augments at random
    (:func:`~.random_transforms.random_transforms`), in the config's
    default scope.

    Args:
        cfg (Config): The config.
        source (str): How the config is named in the message.
        loaders (Sequence[str]): e.g. ``('val_dataloader',
            'test_dataloader')``.

    Yields:
        tuple[str, str]: The key (``test_dataloader.dataset.pipeline``) and
        a one-line message.
    """
    options = given_cfg_options()
    scope = cfg.get('default_scope')
    video = scope != 'mmpretrain'
    found = []  # [(key, pipeline, steps, keys of equal pipelines)]
    for key, pipeline in scoped_pipelines(cfg, loaders):
        twin = next((f for f in found if f[1] == pipeline), None)
        if twin is not None:
            twin[3].append(key)
            continue
        steps = _random_steps(pipeline, key, scope)
        if steps:
            found.append((key, pipeline, steps, []))
    for key, _, steps, twins in found:
        first, name, does, _ = steps[0]
        place = mistake_place(source, first, options)
        more = ''.join(f', and {k} ({n})' + ('' if d == does else f' {d}')
                       for k, n, d, _ in steps[1:])
        same = ''.join(f' (and {twin}{first[len(key):]}, the same pipeline)'
                       for twin in twins)
        used = ' and '.join(_USED_IN[loader] for loader in _USED_IN if any(
            k.startswith(loader) for k in [key] + twins)) or 'where it is read'
        yield key, (
            f'{place} ({name}){same} {does}{more}: the same '
            f'{"video" if video else "image"} scores differently on every '
            f'call ({used}). {_fixes(steps, video)}')


def warn_random_sampling(cfg: Config, source: str,
                         loaders: Sequence[str]) -> List[str]:
    """Log :func:`random_sampling_messages` as warnings, each the first
    time this process meets it for ``source``.

    Args:
        cfg (Config): The config.
        source (str): How the config is named in the messages.
        loaders (Sequence[str]): The dataloaders whose pipelines are read.

    Returns:
        list[str]: The keys of the pipelines warned about now.
    """
    warned = []
    for key, message in random_sampling_messages(cfg, source, loaders):
        if (source, key) in _WARNED:
            continue
        _WARNED.add((source, key))
        print_log(message, logger='current', level=logging.WARNING)
        warned.append(key)
    return warned
