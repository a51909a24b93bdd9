# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse checkpoints that do not fit the model, instead of part-loading.

MMEngine loads checkpoints non-strictly: ``load_from``, ``--resume``,
``tools/test.py`` and ``init_cfg=dict(type='Pretrained', ...)`` only warn
about missing and unexpected keys and skip tensors whose shapes differ, so a
checkpoint of another architecture (other depth, embed dims or number of
classes) loads in part and training or testing goes on with random weights.

:func:`diff_state_dict` finds what would not load, by a dry run of the
model's own loading code (its load-state-dict hooks included, e.g. the
AdaptFormer key routing or mmpretrain's position-embedding resizing) on
tensors of the ``meta`` device: nothing is copied and nothing changes.
:func:`check_state_dict` turns the differences into one error that names the
file, the missing and unexpected keys and ``key: checkpoint shape vs model
shape`` for every mismatch, except for the keys a fresh start legitimately
initialises (:func:`fresh_keys`): the adapters, the head and normalisation
layers. Shape mismatches are always errors.
"""
import logging
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import (Any, Callable, Iterable, List, Optional, Sequence, Set,
                    Tuple)

import torch
from mmengine.logging import print_log
from torch import nn

__all__ = [
    'HEAD_NAMES', 'StateDictMismatchError', 'StateDictDiff', 'diff_state_dict',
    'fresh_keys', 'check_state_dict', 'pretrained_init_cfgs',
    'is_pretrained_cfg', 'check_pretrained_init'
]

#: Attribute names of a model's head, tried in order: ``cls_head`` of an
#: MMAction2 recognizer, ``head`` of an MMPretrain classifier.
HEAD_NAMES = ('cls_head', 'head')

#: How many keys of each kind an error lists before it gives a count.
MAX_LISTED = 20

_SIZE_MISMATCH = re.compile(
    r'size mismatch for (?P<key>\S+): copying a param with shape '
    r'torch\.Size\((?P<ckpt>\[[^\]]*\])\) from checkpoint, the shape in '
    r'current model is torch\.Size\((?P<model>\[[^\]]*\])\)')
_NORM_TYPES = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm,
               nn.modules.instancenorm._InstanceNorm)


class StateDictMismatchError(RuntimeError):
    """A checkpoint does not fit the model it is loaded into."""


@dataclass
class StateDictDiff:
    """What would not load from a state dict into a model.

    Attributes:
        missing (list[str]): Model keys the state dict lacks.
        unexpected (list[str]): State-dict keys the model lacks.
        mismatched (list[tuple]): ``(key, checkpoint shape, model shape)``
            for keys in both with different shapes.
        errors (list[str]): Other errors the model's loading code raised.
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)


def _shape(text: str) -> tuple:
    return tuple(int(d) for d in re.findall(r'-?\d+', text))


def _strip_prefix(state_dict: dict, prefix: str = 'module.') -> dict:
    """Drop a DDP ``module.`` prefix, as MMEngine's loading does."""
    out = OrderedDict((k[len(prefix):] if k.startswith(prefix) else k, v)
                      for k, v in state_dict.items())
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        out._metadata = metadata
    return out


def _meta_copy(state_dict: dict) -> dict:
    out = OrderedDict((k, torch.empty(v.shape, dtype=v.dtype, device='meta'
                                      ) if torch.is_tensor(v) else v)
                      for k, v in state_dict.items())
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        out._metadata = OrderedDict(metadata)
    return out


def _dry_run(model: nn.Module, state_dict: dict) -> StateDictDiff:
    """Run MMEngine's loading loop on meta tensors and record the result."""
    from mmengine.model import is_model_wrapper
    from torch.nn.modules.module import _IncompatibleKeys
    state_dict = _meta_copy(state_dict)
    metadata = getattr(state_dict, '_metadata', None)
    missing: List[str] = []
    unexpected: List[str] = []
    messages: List[str] = []
    # Keys the model's own load pre-hooks delete from the state dict: it
    # re-creates those tensors itself (e.g. Swin V2's relative position
    # tables), so they are not missing from the checkpoint.
    dropped: Set[str] = set()

    def load(module: nn.Module, local: dict, prefix: str = '') -> None:
        if is_model_wrapper(module):
            module = module.module
        local_metadata = {} if metadata is None else metadata.get(
            prefix[:-1], {})
        before = set(local)
        module._load_from_state_dict(local, prefix, local_metadata, True,
                                     missing, unexpected, messages)
        dropped.update(before - set(local))
        for name, child in module._modules.items():
            if child is not None:
                child_prefix = prefix + name + '.'
                load(child, {
                    k: v
                    for k, v in local.items() if k.startswith(child_prefix)
                }, child_prefix)
        incompatible = _IncompatibleKeys(missing, unexpected)
        for hook in module._load_state_dict_post_hooks.values():
            hook(module, incompatible)

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        load(model, state_dict)
    diff = StateDictDiff(
        missing=[
            k for k in missing
            if 'num_batches_tracked' not in k and k not in dropped
        ],
        unexpected=list(unexpected))
    for message in messages:
        match = _SIZE_MISMATCH.search(message)
        if match:
            diff.mismatched.append(
                (match['key'], _shape(match['ckpt']), _shape(match['model'])))
        elif 'meta tensor' not in message:
            # The copy from a meta tensor fails by design; anything else
            # is a real error of the model's loading code.
            diff.errors.append(message)
    return diff


def _plain_diff(model: nn.Module, state_dict: dict) -> StateDictDiff:
    """Compare keys and shapes without running the model's load hooks."""
    own = model.state_dict()
    diff = StateDictDiff(
        missing=[
            k for k in own
            if k not in state_dict and 'num_batches_tracked' not in k
        ],
        unexpected=[
            k for k, v in state_dict.items()
            if k not in own and torch.is_tensor(v)
        ])
    for key, value in state_dict.items():
        if key in own and torch.is_tensor(value) and \
                tuple(value.shape) != tuple(own[key].shape):
            diff.mismatched.append(
                (key, tuple(value.shape), tuple(own[key].shape)))
    return diff


def diff_state_dict(model: nn.Module, state_dict: dict) -> StateDictDiff:
    """Find what would not load from ``state_dict`` into ``model``.

    The model's own loading code runs (so its load-state-dict hooks rename
    or resize keys as in a real load) on ``meta`` copies of the tensors:
    the model's weights do not change. If that dry run fails (a hook that
    needs real data), keys and shapes are compared directly.

    Args:
        model (nn.Module): The model (a DDP wrapper is unwrapped).
        state_dict (dict): The state dict, with the model's key layout.

    Returns:
        StateDictDiff: Missing, unexpected and shape-mismatched keys.
    """
    from mmengine.model import is_model_wrapper
    if is_model_wrapper(model):
        model = model.module
    try:
        return _dry_run(model, state_dict)
    except Exception as e:  # noqa: B902 -- any hook may fail on meta
        print_log(
            f'Checking the checkpoint with the model\'s own loading code '
            f'failed ({type(e).__name__}: {e}); comparing keys and shapes '
            f'directly.',
            logger='current',
            level=logging.DEBUG)
        return _plain_diff(model, state_dict)


# yapf: disable
def fresh_keys(model: nn.Module,
               head: Sequence[str] = HEAD_NAMES) -> Set[str]:
    # yapf: enable
    """State-dict keys that a fresh start initialises on purpose.

    They are found by type and attribute, never by name: the tensors that
    a module declares with a ``fresh_tensors()`` method (the adapters,
    :class:`~mmadaptformer.models.AdaptMLP`, and the wrappers' own
    parameters such as the VPT prompts), those of the model's head (the
    first of ``head`` that is an attribute) and of normalisation layers
    (which start as the identity, e.g. the ``fc_norm`` a mean-pooling ViT
    adds to a self-supervised encoder).

    Args:
        model (nn.Module): The model the state dict is loaded into.
        head (Sequence[str]): Attribute names of the head, tried in order.
            Defaults to :data:`HEAD_NAMES`.

    Returns:
        set[str]: The keys, as in ``model.state_dict()``.
    """
    tensors: Set[int] = set()

    def add(module: nn.Module) -> None:
        tensors.update(id(t) for t in module.parameters())
        tensors.update(id(t) for t in module.buffers())

    for module in model.modules():
        if isinstance(module, _NORM_TYPES):
            add(module)
        if callable(getattr(type(module), 'fresh_tensors', None)):
            tensors.update(id(t) for t in module.fresh_tensors())
    for name in head:
        module = getattr(model, name, None)
        if isinstance(module, nn.Module):
            add(module)
            break
    return _keys_of(model, tensors)


def added_keys(model: nn.Module) -> Set[str]:
    """State-dict keys of the tensors this package adds to a host.

    These are the tensors that modules declare with a ``fresh_tensors()``
    method (the adapters, the VPT prompts): a checkpoint of the host alone
    never holds them, so their absence from it is expected.

    Args:
        model (nn.Module): The model.

    Returns:
        set[str]: The keys, as in ``model.state_dict()``; a subset of
        :func:`fresh_keys`.
    """
    return _keys_of(
        model, {
            id(t)
            for module in model.modules()
            if callable(getattr(type(module), 'fresh_tensors', None))
            for t in module.fresh_tensors()
        })


def _keys_of(model: nn.Module, tensors: Set[int]) -> Set[str]:
    return {
        key
        for key, value in model.state_dict(keep_vars=True).items()
        if id(value) in tensors
    }


def _listing(keys: Sequence[str], limit: int = MAX_LISTED) -> str:
    shown = ', '.join(keys[:limit])
    more = len(keys) - limit
    return shown + (f', ... and {more} more' if more > 0 else '')


def _matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    compiled = [re.compile(p) for p in patterns]
    return lambda key: any(p.search(key) for p in compiled)


def prefix_shift(missing: Sequence[str],
                 unexpected: Sequence[str]) -> Optional[Tuple[str, str]]:
    """Whether the keys differ only by a prefix such as ``'backbone.'``.

    Args:
        missing (Sequence[str]): Model keys not in the state dict.
        unexpected (Sequence[str]): State-dict keys not in the model.

    Returns:
        tuple, optional: ``('extra', prefix)`` when every missing key is an
        unexpected key without ``prefix`` (the state dict holds a larger
        model), ``('lacking', prefix)`` when every unexpected key is a
        missing key without it (the state dict holds a part of the model),
        else None.
    """
    for kind, short, long in (('extra', missing, unexpected),
                              ('lacking', unexpected, missing)):
        if not short:
            continue
        longer = set(long)
        first = short[0]
        for key in long:
            if key.endswith('.' + first):
                prefix = key[:-len(first)]
                if all(prefix + k in longer for k in short):
                    return kind, prefix
    return None


def _fits_with_prefix(model: nn.Module, state_dict: dict,
                      shift: Tuple[str, str], fresh: Set[str],
                      missing_ok: Callable[[str], bool]) -> bool:
    """Whether ``state_dict`` would load in full once the prefix of
    :func:`prefix_shift` is dealt with: stripped from its keys (``extra``),
    or loaded into the model's part under it (``lacking``)."""
    kind, prefix = shift
    if kind == 'extra':
        target, outer = model, ''
        state_dict = {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
    else:
        try:
            target, outer = model.get_submodule(prefix[:-1]), prefix
        except AttributeError:
            return False
    diff = diff_state_dict(target, state_dict)
    return not (diff.mismatched or diff.unexpected or diff.errors
                or any(outer + k not in fresh and not missing_ok(outer + k)
                       for k in diff.missing))


def check_state_dict(model: nn.Module,
                     state_dict: dict,
                     source: str,
                     allow_missing: Sequence[str] = (),
                     allow_unexpected: Sequence[str] = (),
                     allow_fresh: bool = True,
                     hint: str = '',
                     already_loaded: bool = False) -> StateDictDiff:
    """Raise unless ``state_dict`` loads into ``model`` in full.

    Shape mismatches are always errors. Missing keys are errors unless they
    are in :func:`fresh_keys` (with ``allow_fresh``) or match
    ``allow_missing``; the tolerated ones are logged. Unexpected keys are
    errors unless they match ``allow_unexpected``. A ``module.`` prefix (as
    DDP saves) is dropped first, as MMEngine does.

    Args:
        model (nn.Module): The model (a DDP wrapper is unwrapped).
        state_dict (dict): The state dict to load.
        source (str): Where it comes from, e.g. the file and the config
            key; the error starts with it.
        allow_missing (Sequence[str]): Regular expressions of model keys
            that may be missing. Defaults to ().
        allow_unexpected (Sequence[str]): Regular expressions of state-dict
            keys the model may lack. Defaults to ().
        allow_fresh (bool): Tolerate missing :func:`fresh_keys`.
            Defaults to True.
        hint (str): A sentence appended to the error. Defaults to ''.
        already_loaded (bool): MMEngine has already loaded what fits of it
            (non-strictly), e.g. during weight initialisation; the error
            says so instead of "Nothing of it was loaded".
            Defaults to False.

    Returns:
        StateDictDiff: The differences that were tolerated.

    Raises:
        StateDictMismatchError: If anything else does not fit.
    """
    from mmengine.model import is_model_wrapper
    if is_model_wrapper(model):
        model = model.module
    state_dict = _strip_prefix(state_dict)
    diff = diff_state_dict(model, state_dict)
    fresh = fresh_keys(model) if allow_fresh else set()
    missing_ok = _matcher(allow_missing)
    unexpected_ok = _matcher(allow_unexpected)
    missing = [k for k in diff.missing if k not in fresh and not missing_ok(k)]
    unexpected = [k for k in diff.unexpected if not unexpected_ok(k)]
    if diff.mismatched or missing or unexpected or diff.errors:
        shift = prefix_shift(missing, unexpected)
        if shift is not None and not _fits_with_prefix(
                model, state_dict, shift, fresh, missing_ok):
            shift = None
        if diff.mismatched and not (missing or unexpected) and all(
                key.endswith('pos_embed') for key, _, _ in diff.mismatched):
            cause = ('only the position embedding differs in shape: it '
                     'was made for another input size or number of frames '
                     '(convert_official.py takes --img-size and '
                     '--num-frames; the video recipes use 8 frames of '
                     '224x224)')
        elif shift is None or diff.mismatched:
            cause = ('it was probably saved from another architecture '
                     '(other depth, embed dims or number of classes)')
        elif shift[0] == 'extra':
            cause = (f'its keys carry a prefix {shift[1]!r} that the '
                     'model\'s keys lack (it holds a larger model, e.g. a '
                     f'whole recognizer): load it with prefix={shift[1]!r} '
                     '(init_cfg=dict(type=\'Pretrained\', checkpoint=..., '
                     f'prefix={shift[1]!r}), or --pretrained in our tools)')
        else:
            cause = (f'the model\'s keys carry a prefix {shift[1]!r} that '
                     'its keys lack (it holds a part of the model, e.g. the '
                     'backbone alone): load it into that part, e.g. with '
                     'the backbone\'s init_cfg or --pretrained')
        lines = [
            f'{source} does not fit the model: {cause}. ' +
            ('MMEngine has already loaded the parts that fit (it loads '
             'non-strictly); stopping before they are used.'
             if already_loaded else 'Nothing of it was loaded.')
        ]
        if diff.mismatched:
            lines.append(f'{len(diff.mismatched)} keys with other shapes '
                         f'(key: checkpoint shape vs model shape):')
            lines += [
                f'  {key}: {tuple(ckpt)} vs {tuple(own)}'
                for key, ckpt, own in diff.mismatched[:MAX_LISTED]
            ]
            if len(diff.mismatched) > MAX_LISTED:
                lines.append(
                    f'  ... and {len(diff.mismatched) - MAX_LISTED} more')
        if missing:
            lines.append(f'{len(missing)} missing keys (in the model, not in '
                         f'the checkpoint): {_listing(missing)}')
        if unexpected:
            lines.append(f'{len(unexpected)} unexpected keys (in the '
                         f'checkpoint, not in the model): '
                         f'{_listing(unexpected)}')
        for error in diff.errors[:MAX_LISTED]:
            lines.append(f'error: {error}')
        if hint:
            lines.append(hint)
        raise StateDictMismatchError('\n'.join(lines))
    tolerated = [k for k in diff.missing if k not in missing]
    added = added_keys(model) if tolerated else set()
    others = [k for k in tolerated if k not in added]
    if len(others) < len(tolerated):
        # Expected of every host checkpoint, and of a test or inference
        # run whose own checkpoint loads these tensors next: not a warning.
        print_log(
            f'{source} does not hold the {len(tolerated) - len(others)} '
            f'adapter or prompt tensors this package adds; they keep their '
            f'initialisation unless a checkpoint loaded after it holds '
            f'them.',
            logger='current',
            level=logging.INFO)
    notes = []
    if others:
        notes.append(f'loading {len(others)} tensors from their '
                     f'initialisation (head, norms or allowed): '
                     f'{_listing(others)}')
    if diff.unexpected:
        notes.append(f'ignoring {len(diff.unexpected)} allowed unexpected '
                     f'keys: {_listing(diff.unexpected)}')
    if notes:
        print_log(
            f'{source}: ' + '; '.join(notes),
            logger='current',
            level=logging.WARNING)
    return StateDictDiff(missing=tolerated, unexpected=list(diff.unexpected))


def pretrained_init_cfgs(module: nn.Module) -> List[dict]:
    """The ``Pretrained`` entries of a module's own ``init_cfg``.

    Args:
        module (nn.Module): Any module.

    Returns:
        list[dict]: The entries, possibly empty.
    """
    init_cfg = getattr(module, 'init_cfg', None)
    if not init_cfg:
        return []
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [dict(cfg) for cfg in cfgs if is_pretrained_cfg(cfg)]


def is_pretrained_cfg(cfg: Any) -> bool:
    """Whether an ``init_cfg`` entry is MMEngine's ``Pretrained``.

    Args:
        cfg (Any): One entry of an ``init_cfg``.

    Returns:
        bool: True for ``dict(type='Pretrained', ...)``.
    """
    from mmengine.model.weight_init import PretrainedInit
    return isinstance(
        cfg, dict) and cfg.get('type') in ('Pretrained', PretrainedInit)


def check_pretrained_init(module: nn.Module,
                          owner: str = 'init_cfg',
                          map_location: Optional[str] = 'cpu',
                          already_loaded: bool = False) -> int:
    """Check every ``Pretrained`` ``init_cfg`` of ``module`` before it loads.

    Reads each checkpoint as :class:`mmengine.model.PretrainedInit` does
    (the ``prefix`` sub-dict, or the whole ``state_dict``) and applies
    :func:`check_state_dict` to ``module``. Each module is checked once.

    Args:
        module (nn.Module): The module with the ``init_cfg``.
        owner (str): The config key of the module, for the error, e.g.
            ``'model.backbone.backbone'``. Defaults to ``'init_cfg'``.
        map_location (str, optional): Where to load the tensors.
            Defaults to 'cpu'.
        already_loaded (bool): The module's weights were initialised
            already (see :func:`check_state_dict`). Defaults to False.

    Returns:
        int: How many checkpoints were checked.

    Raises:
        StateDictMismatchError: If a checkpoint does not fit ``module``.
    """
    from mmengine.runner.checkpoint import (_load_checkpoint,
                                            _load_checkpoint_with_prefix)
    if module.__dict__.get('_pretrained_checked'):
        return 0
    checked = 0
    for cfg in pretrained_init_cfgs(module):
        path, prefix = cfg.get('checkpoint'), cfg.get('prefix')
        location = cfg.get('map_location', map_location)
        if prefix is None:
            state_dict = _load_checkpoint(path, map_location=location)
            if isinstance(state_dict, dict) and 'state_dict' in state_dict:
                state_dict = state_dict['state_dict']
        else:
            state_dict = _load_checkpoint_with_prefix(
                prefix, path, map_location=location)
        where = f'{owner}.init_cfg' + (f' (prefix={prefix!r})'
                                       if prefix is not None else '')
        check_state_dict(
            module,
            state_dict,
            source=f'Pretrained checkpoint {path} of {where}',
            hint='Point init_cfg.checkpoint at a checkpoint of this '
            'architecture, or convert it with '
            'tools/model_converters/convert_official.py.',
            already_loaded=already_loaded)
        checked += 1
    module.__dict__['_pretrained_checked'] = True
    return checked
