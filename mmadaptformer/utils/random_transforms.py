# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The transforms of a pipeline that crop, flip, resize or augment at
random.

A validation or test pipeline copied from the training one keeps its
``RandomResizedCrop``, ``Flip`` or ``ColorJitter``: the same input then
scores differently on every call, as a frame sampler without
``test_mode=True`` does (:mod:`~.random_sampling`, which warns about
both). Which transforms are random, and with which arguments, was read
from their constructors and ``transform`` methods in mmaction2 1.2.0,
mmpretrain 1.2.0 and mmcv 2.1.0; a transform is named only where its
arguments make it random (``Flip(flip_ratio=0)`` and ``RandomFlip(prob=1.)``
are not; mmpretrain's ``ColorJitter`` jitters nothing by default,
mmaction2's does; ``MultiScaleCrop(random_crop=False)`` still picks one of
its fixed crops at random; mmpretrain's ``Rotate(angle=30., prob=1.)`` still
negates its angle half the time, ``Cutout(shape=8, prob=1.)`` still cuts
at a random position). A wrapper (``TestTimeAug``, ``RandomApply``,
``RandomChoice``, ``Compose``, ...) is random itself where it chooses, and
is read through where it does not. A transform not listed (a user's own,
an Albumentations list) is not judged.
"""
import functools
import inspect
from typing import Callable, Dict, Iterator, Optional, Tuple

from mmengine.registry import TRANSFORMS

from .registry_names import lookup_type

__all__ = ['CROP', 'FLIP', 'RESIZE', 'AUGMENT', 'random_transforms']

#: What a random transform does, for the fix a message gives.
CROP, FLIP, RESIZE, AUGMENT = 'crop', 'flip', 'resize', 'augment'


def _arg(step: dict, cls, name: str):
    """``step[name]``, else the default of ``cls``'s constructor."""
    if name in step:
        return step[name]
    try:
        parameter = inspect.signature(cls).parameters.get(name)
    except (TypeError, ValueError):
        return None
    if parameter is None or parameter.default is parameter.empty:
        return None
    return parameter.default


def _chance(value) -> bool:
    """Whether ``value`` is a probability strictly between 0 and 1."""
    return isinstance(value, (int, float)) and 0 < value < 1


def _always(does: str) -> Callable:
    return lambda step, cls: does


def _with_chance(name: str, does: str, upto_one: bool = True) -> Callable:
    """Random where the probability ``name`` is above 0 and (with
    ``upto_one``) below 1: at 1 the transform always applies, the same
    way."""

    def rule(step, cls):
        value = _arg(step, cls, name)
        if _chance(value) or (not upto_one and value == 1):
            return f'{does} ({name}={value})'
        return None

    return rule


def _jitters(*names: str) -> Callable:
    """Random where one of the ranges ``names`` is not one point: a number
    ``v`` jitters by ``±v``, a pair is the range itself."""

    def rule(step, cls):
        ranges = []
        for name in names:
            value = _arg(step, cls, name)
            if isinstance(value, (int, float)) and value != 0 or \
                    isinstance(value, (list, tuple)) and len(set(value)) > 1:
                ranges.append(f'{name}={value}')
        return f'jitters colours at random ({", ".join(ranges)})' \
            if ranges else None

    return rule


def _flips(step, cls) -> Optional[str]:
    """mmcv's ``RandomFlip``: a draw among the directions and no flip,
    random where two of them have a chance."""
    prob = _arg(step, cls, 'prob')
    direction = _arg(step, cls, 'direction')
    directions = 1 if isinstance(direction, str) else len(direction or ())
    if isinstance(prob, (list, tuple)):
        chances = list(prob) + [1 - sum(prob)]
    elif isinstance(prob, (int, float)):
        chances = [prob / max(directions, 1)] * directions + [1 - prob]
    else:
        return None
    if sum(1 for chance in chances if chance > 0) > 1:
        return f'flips at random (prob={prob})'
    return None


def _resizes(step, cls) -> Optional[str]:
    """mmcv's ``RandomResize``: a scale drawn from a list, or one scale
    times a ratio drawn from ``ratio_range``."""
    scale = _arg(step, cls, 'scale')
    if isinstance(scale, (list, tuple)) and scale and \
            all(isinstance(s, (list, tuple)) for s in scale):
        random = len({tuple(s) for s in scale}) > 1
    else:
        ratio = _arg(step, cls, 'ratio_range')
        random = isinstance(ratio, (list, tuple)) and len(set(ratio)) > 1
    return 'resizes to a random scale' if random else None


def _choice_resizes(step, cls) -> Optional[str]:
    scales = _arg(step, cls, 'scales') or ()
    distinct = {tuple(s) if isinstance(s, list) else s for s in scales}
    return 'resizes to a random scale' if len(distinct) > 1 else None


#: The argument of a fixed magnitude (``Equalize``, ... have none).
_MAGNITUDES = ('magnitude', 'angle', 'shape', 'thr', 'bits', 'radius')
_CUTOUT = 'mmpretrain.datasets.transforms.auto_augment.Cutout'


def _ranged_magnitude(step, base) -> Tuple[bool, object]:
    """``(drawn, magnitude)`` from ``magnitude_range``, as
    ``BaseAugTransform.random_magnitude`` computes it (None: not read)."""
    low, high = step['magnitude_range']
    std, level, total = (
        _arg(step, base, n)
        for n in ('magnitude_std', 'magnitude_level', 'total_level'))
    if not all(isinstance(v, (int, float)) for v in (low, high, level)) \
            or not total or not isinstance(total, (int, float)):
        return False, None
    if low == high or std == 'inf' and level == 0:
        return False, low
    if std == 'inf' or isinstance(std, (int, float)) and std > 0:
        return True, None
    return False, level / total * (high - low) + low


def _augments_by_chance(step, cls) -> Optional[str]:
    """mmpretrain's single augmentations (``Rotate``, ``Cutout``, ...):
    applied with ``prob``, by a magnitude drawn or negated at random
    (``random_negative_prob``: 0.5 by default in ``Rotate``, ``Shear``,
    ...); ``Cutout`` cuts at a random position."""
    prob = _arg(step, cls, 'prob')
    if _chance(prob):
        return f'augments at random (prob={prob})'
    parameters = inspect.signature(cls).parameters
    name = next((n for n in _MAGNITUDES if n in parameters), None)
    if not prob or name is None:
        return None
    magnitude, span = step.get(name), step.get('magnitude_range')
    if magnitude is None and isinstance(span, (list, tuple)) and \
            len(span) == 2:
        base = next(c for c in cls.__mro__ if _qualified(c) == _BASE_AUG)
        drawn, magnitude = _ranged_magnitude(step, base)
        if drawn:
            std = _arg(step, base, 'magnitude_std')
            return f'augments by a random magnitude (magnitude_std={std!r})'
    sizes = magnitude if isinstance(magnitude, (list, tuple)) else [magnitude]
    if not all(isinstance(v, (int, float)) and v != 0 for v in sizes):
        return None  # none (a broken step), or one that changes nothing
    # Solarize, Cutout, ... pass 0 themselves: only their own argument.
    negative = _arg(step, cls, 'random_negative_prob')
    if _chance(negative):
        return f'negates its {name} at random ' \
            f'(random_negative_prob={negative})'
    if _qualified(cls) == _CUTOUT:
        return 'cuts out at a random position'
    return None


_COLOURS = _jitters('brightness', 'contrast', 'saturation', 'hue')
#: torchvision transforms random by default, beside its Random* ones.
_TORCHVISION_RANDOM = ('AugMix', 'AutoAugment', 'ElasticTransform',
                       'RandAugment', 'TrivialAugmentWide')
#: torchvision Random* transforms that do one fixed thing at ``p`` 1.
_TORCHVISION_BY_P = ('RandomAdjustSharpness', 'RandomAutocontrast',
                     'RandomEqualize', 'RandomGrayscale',
                     'RandomHorizontalFlip', 'RandomInvert', 'RandomPosterize',
                     'RandomSolarize', 'RandomVerticalFlip')


def _torchvision(op: str, args: dict) -> Optional[Tuple[str, str]]:
    """``(does, kind)`` of the torchvision transform ``op`` given
    ``args``, read as its signature in torchvision says."""
    import torchvision.transforms as tv
    cls = getattr(tv, op, None) if isinstance(op, str) else None
    if cls is None:
        return None
    kind = FLIP if 'Flip' in op else CROP if 'Crop' in op else \
        RESIZE if 'Resize' in op else AUGMENT
    if op == 'ColorJitter':
        does = _COLOURS(args, cls)
    elif op == 'GaussianBlur':
        sigma = _arg(args, cls, 'sigma')
        does = 'blurs by a random sigma' if isinstance(
            sigma, (list, tuple)) and len(set(sigma)) > 1 else None
    elif op in _TORCHVISION_BY_P:
        does = _with_chance('p', f'applies {op} at random')(args, cls)
    elif op.startswith('Random') or op in _TORCHVISION_RANDOM:
        does = f'applies {op} at random'
    else:
        does = None
    return None if does is None else (does, kind)


def _op(step, cls) -> Optional[Tuple[str, str]]:
    """mmaction2's ``TorchVisionWrapper(op=...)``."""
    args = {k: v for k, v in step.items() if k not in ('type', 'op')}
    return _torchvision(step.get('op'), args)


def _pytorchvideo(step, cls) -> Optional[Tuple[str, str]]:
    """mmaction2's ``PytorchVideoWrapper``: every op it takes but
    ``ShortSideScale`` draws."""
    op = step.get('op')
    if op == 'ShortSideScale':
        return None
    return f'applies {op} at random', CROP if 'Crop' in op else \
        RESIZE if 'Scale' in op else AUGMENT


def _imgaug(step, cls) -> Optional[str]:
    """mmaction2's ``ImgAug``: its ``'default'`` list is RandAugment-like;
    a list of imgaug augmenters is not judged."""
    return 'augments at random (transforms=\'default\')' \
        if step.get('transforms') == 'default' else None


#: ``{qualified class name: (rule, kind)}``: the rule gives what the step
#: does at random (for the message), or None where its arguments make it
#: deterministic.
_RULES: Dict[str, Tuple[Callable, str]] = {}
for _module, _entries in {
        'mmaction.datasets.transforms.processing': {
            'RandomCrop': (_always('crops at random'), CROP),
            'RandomResizedCrop': (_always('crops at random'), CROP),
            'MultiScaleCrop': (_always('crops at random'), CROP),
            'RandomRescale': (_always('resizes to a random scale'), RESIZE),
            'Flip': (_with_chance('flip_ratio', 'flips at random'), FLIP),
            'ColorJitter': (_COLOURS, AUGMENT),
            'RandomErasing':
            (_with_chance('erase_prob', 'erases at random',
                          upto_one=False), AUGMENT),
        },
        'mmaction.datasets.transforms.wrappers': {
            'ImgAug': (_imgaug, AUGMENT),
        },
        'mmpretrain.datasets.transforms.processing': {
            'RandomCrop': (_always('crops at random'), CROP),
            'RandomResizedCrop': (_always('crops at random'), CROP),
            'EfficientNetRandomCrop': (_always('crops at random'), CROP),
            'MAERandomResizedCrop': (_always('crops at random'), CROP),
            'RandomResizedCropAndInterpolationWithTwoPic':
            (_always('crops at random'), CROP),
            'RandomErasing':
            (_with_chance('erase_prob', 'erases at random',
                          upto_one=False), AUGMENT),
            'ColorJitter': (_COLOURS, AUGMENT),
            'Lighting': (lambda step, cls: 'changes the lighting at random'
                         if _arg(step, cls, 'alphastd') else None, AUGMENT),
            'RandomTranslatePad':
            (lambda step, cls: 'translates at random'
             if step.get('aug_translate') else None, AUGMENT),
            'SimMIMMaskGenerator': (_always('masks at random'), AUGMENT),
            'BEiTMaskGenerator': (_always('masks at random'), AUGMENT),
        },
        'mmpretrain.datasets.transforms.auto_augment': {
            'AutoAugment': (_always('augments at random'), AUGMENT),
            'RandAugment': (_always('augments at random'), AUGMENT),
        },
        'mmcv.transforms.processing': {
            'RandomFlip': (_flips, FLIP),
            'RandomGrayscale': (_with_chance('prob',
                                             'greys at random'), AUGMENT),
            'RandomResize': (_resizes, RESIZE),
            'RandomChoiceResize': (_choice_resizes, RESIZE),
        },
}.items():
    for _name, _rule in _entries.items():
        _RULES[f'{_module}.{_name}'] = _rule
#: Rules that give ``(does, kind)`` themselves.
_OP_RULES = {
    'mmaction.datasets.transforms.wrappers.TorchVisionWrapper': _op,
    'mmaction.datasets.transforms.wrappers.PytorchVideoWrapper': _pytorchvideo,
}
_BASE_AUG = 'mmpretrain.datasets.transforms.auto_augment.BaseAugTransform'
#: Wrappers that run their ``transforms`` every time, read through.
_THROUGH = ('mmcv.transforms.processing.TestTimeAug',
            'mmcv.transforms.wrappers.Compose',
            'mmcv.transforms.wrappers.KeyMapper',
            'mmcv.transforms.wrappers.TransformBroadcaster',
            'mmpretrain.datasets.transforms.wrappers.ApplyToList',
            'mmpretrain.datasets.transforms.wrappers.MultiView')


def _qualified(cls) -> str:
    return f'{cls.__module__}.{cls.__qualname__}'


def _nested(value, key: str) -> Iterator[Tuple[str, dict]]:
    """The transform dicts of a wrapper's ``transforms`` (one dict, a
    list, or a list of lists), with their keys."""
    if isinstance(value, dict):
        yield key, value
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _nested(item, f'{key}[{index}]')


def _step_class(step: dict, scope: Optional[str]):
    kind = step.get('type')
    cls = lookup_type(TRANSFORMS, kind, step.get('_scope_') or scope).cls
    if isinstance(cls, functools.partial):  # mmpretrain's torchvision/X
        return cls
    return cls if inspect.isclass(cls) else None


def random_transforms(
        step: dict,
        key: str,
        scope: Optional[str] = None) -> Iterator[Tuple[str, str, str, str]]:
    """What ``step`` (or a transform a wrapper of it runs) does at
    random.

    Args:
        step (dict): A transform's config.
        key (str): Its key, for the keys of nested transforms
            (``test_dataloader.dataset.pipeline[2]``).
        scope (str, optional): The scope a step without ``_scope_`` is
            looked up in. Defaults to None: the current default scope.

    Yields:
        tuple[str, str, str, str]: The key, the transform's name, what it
        does at random (``crops at random``, ``flips at random
        (flip_ratio=0.5)``) and its kind (:data:`CROP`, :data:`FLIP`,
        :data:`RESIZE` or :data:`AUGMENT`).
    """
    if not isinstance(step, dict):
        return
    cls = _step_class(step, scope)
    if cls is None:
        return
    scope = step.get('_scope_') or scope
    if isinstance(cls, functools.partial):
        transform = cls.keywords.get('transform')
        found = None if transform is None else _torchvision(
            transform.__name__, step)
        if found is not None:
            yield (key, f'torchvision/{transform.__name__}') + found
        return
    name, qualified = cls.__name__, _qualified(cls)
    if qualified in _RULES:
        rule, kind = _RULES[qualified]
        does = rule(step, cls)
        if does is not None:
            yield key, name, does, kind
    elif qualified in _OP_RULES:
        found = _OP_RULES[qualified](step, cls)
        if found is not None:
            yield (key, name) + found
    elif any(_qualified(c) == _BASE_AUG for c in cls.__mro__):
        does = _augments_by_chance(step, cls)
        if does is not None:
            yield key, name, does, AUGMENT
    elif qualified == 'mmcv.transforms.wrappers.RandomApply':
        prob = _arg(step, cls, 'prob')
        if _chance(prob):
            yield key, name, f'applies its transforms at random (prob=' \
                f'{prob})', AUGMENT
        elif prob == 1:
            yield from _through(step, key, scope)
    elif qualified == 'mmcv.transforms.wrappers.RandomChoice':
        options = list(step.get('transforms') or ())
        prob = step.get('prob') or [1] * len(options)
        chosen = [o for o, p in zip(options, prob) if p > 0]
        if len(chosen) > 1:
            yield key, name, 'picks one of its transforms at random', AUGMENT
        elif chosen:
            index = options.index(chosen[0])
            for inner_key, inner in _nested(chosen[0],
                                            f'{key}.transforms[{index}]'):
                yield from random_transforms(inner, inner_key, scope)
    elif qualified in _THROUGH:
        yield from _through(step, key, scope)


def _through(step: dict, key: str, scope: Optional[str]):
    for inner_key, inner in _nested(
            step.get('transforms'), f'{key}.transforms'):
        yield from random_transforms(inner, inner_key, scope)
