# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The learning rates ``paramwise_cfg`` gives what trains under AdapterHook.

Stock MMAction2 and MMPretrain recipes often train the backbone at a
fraction of the base lr (``custom_keys=dict(backbone=dict(lr_mult=0.1))``,
Swin3D's ``SwinOptimWrapperConstructor`` with ``backbone=dict(lr_mult=0.1)``,
layer-wise lr decay). Under :class:`AdapterHook` the backbone is frozen, so
such a rule only reaches what trains inside it: the adapters (and the
``extra_trainable`` tensors), which AdaptFormer trains at the base lr.
:func:`check_trainable_lr` finds them in the built optimizer, names the
likely ``paramwise_cfg`` entry and a config line that restores the base lr,
and logs one warning; it never changes an lr. A multiplier of 0 is refused.
"""
import logging
import math
import re
from typing import (Any, Dict, Iterable, List, NamedTuple, Optional, Sequence,
                    Tuple)

from mmengine.logging import print_log
from torch import nn

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.config_place import (given_cfg_options, option_key,
                                              option_place)
from .lr_multipliers import (auto_scale_ratio, custom_key_for,
                             group_lr_multipliers)

__all__ = ['check_trainable_lr']

_DEFAULT = 'DefaultOptimWrapperConstructor'
_SWIN = 'SwinOptimWrapperConstructor'


def _lr_mult(entry) -> float:
    return float(entry.get('lr_mult', 1.)) if isinstance(entry, dict) else 1.


def _mults_text(mults: Sequence[float]) -> str:
    """``0.1x``; ``0.1x (4), 0.5x (4)``; or ``0.0563x to 0.75x``."""
    distinct = sorted({float(f'{m:.6g}') for m in mults})
    if len(distinct) == 1:
        return f'{distinct[0]:.3g}x'
    if len(distinct) <= 3:
        counts = [
            sum(math.isclose(m, d, rel_tol=1e-5) for m in mults)
            for d in distinct
        ]
        return ', '.join(f'{d:.3g}x ({n})' for d, n in zip(distinct, counts))
    return f'{distinct[0]:.3g}x to {distinct[-1]:.3g}x'


def _dict_line(entries: Dict[str, str]) -> str:
    """``dict(a=X, b=Y)``, or ``{'a.b': X}`` for keys that are not names."""
    if all(k.isidentifier() for k in entries):
        return 'dict(' + ', '.join(f'{k}={v}' for k, v in entries.items()) \
            + ')'
    return '{' + ', '.join(f'{k!r}: {v}' for k, v in entries.items()) + '}'


class _Cause(NamedTuple):
    """A ``paramwise_cfg`` value that likely slows what trains down."""
    #: How the config file names it.
    text: str
    #: Its key's parts below ``optim_wrapper``: ``('paramwise_cfg',
    #: 'custom_keys', 'backbone', 'lr_mult')``.
    path: Tuple[str, ...]
    #: Its value.
    value: Any
    #: The value that trains at the base lr, for the fix; None if none.
    fix: Optional[float] = 1.0
    #: What reads it, said after the option that set it.
    note: str = ''

    @property
    def key(self) -> Optional[str]:
        """Its config key as ``--cfg-options`` sets it; None where no
        option key can address it (a custom key with a dot)."""
        if any(not re.fullmatch(r'[^.\[\]=\s]+', p) for p in self.path):
            return None
        return '.'.join(('optim_wrapper', ) + self.path)


def _diagnose_default(paramwise: dict,
                      flagged: List[str]) -> Tuple[List[_Cause], bool]:
    custom_keys = paramwise.get('custom_keys') or {}
    culprits, biases = [], False
    for name in flagged:
        key = custom_key_for(name, custom_keys)
        if key is not None:
            if not math.isclose(_lr_mult(custom_keys[key]), 1.):
                culprits.append(key)
        elif name.endswith('bias') and \
                paramwise.get('bias_lr_mult') is not None:
            biases = True
    culprits = list(dict.fromkeys(culprits))
    causes = [
        _Cause(
            f'optim_wrapper.paramwise_cfg.custom_keys[{k!r}] '
            f'(lr_mult={_lr_mult(custom_keys[k]):g})',
            ('paramwise_cfg', 'custom_keys', k, 'lr_mult'),
            custom_keys[k]['lr_mult']) for k in culprits
    ]
    if biases:
        causes.append(
            _Cause(
                'optim_wrapper.paramwise_cfg.bias_lr_mult='
                f"{paramwise['bias_lr_mult']:g}",
                ('paramwise_cfg', 'bias_lr_mult'),
                paramwise['bias_lr_mult'],
                fix=None))
    # The same keys still win, so only their lr_mult changes; a key that
    # reached the head too gave it the same lr, so these flagged tensors
    # would not differ from the head's. A bias_lr_mult of 1 would change
    # every bias, the head's too: no fix is printed for it.
    return causes, bool(culprits) and not biases


def _diagnose(optim_cfg, flagged: List[str]) -> Tuple[List[_Cause], bool]:
    """The likely ``paramwise_cfg`` causes, and whether setting each to
    its ``fix`` value fixes it."""
    if not isinstance(optim_cfg, dict) or 'optimizer' not in optim_cfg:
        return [], False  # several optimizers: no single config to name
    constructor = optim_cfg.get('constructor') or _DEFAULT
    paramwise = optim_cfg.get('paramwise_cfg') or {}
    if constructor == _DEFAULT:
        return _diagnose_default(paramwise, flagged)
    if constructor == _SWIN:
        # Every matching key multiplies, on names prefixed with 'base.'.
        culprits = [
            k for k, v in paramwise.items()
            if not math.isclose(_lr_mult(v), 1.) and any(k in f'base.{n}'
                                                         for n in flagged)
        ]
        if culprits:
            return [
                _Cause(
                    f'optim_wrapper.paramwise_cfg[{k!r}] '
                    f'(lr_mult={_lr_mult(paramwise[k]):g}, {_SWIN})',
                    ('paramwise_cfg', k, 'lr_mult'),
                    paramwise[k]['lr_mult'],
                    note=_SWIN) for k in culprits
            ], True
    if 'LearningRateDecay' in constructor:
        for key in ('layer_decay_rate', 'decay_rate'):
            if key in paramwise:
                return [
                    _Cause(
                        'layer-wise lr decay (optim_wrapper.paramwise_cfg.'
                        f'{key}={paramwise[key]:g}, {constructor})',
                        ('paramwise_cfg', key),
                        paramwise[key],
                        note=f'layer-wise lr decay, {constructor}')
                ], True
    return [
        _Cause(f'optim_wrapper.constructor={constructor!r}', ('constructor', ),
               constructor, None)
    ], False


def _config_fix_line(causes: List[_Cause]) -> str:
    """``optim_wrapper = dict(...)``, the config line that gives each
    cause its ``fix`` value."""
    tree: dict = {}
    for cause in causes:
        *path, last = cause.path
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node[last] = cause.fix

    def text(value) -> str:
        if not isinstance(value, dict):
            return repr(float(value))
        return _dict_line({k: text(v) for k, v in value.items()})

    return f'optim_wrapper = {text(tree)}'


def _causes_text(causes: List[_Cause], options: Optional[dict]) -> str:
    """The causes, each as the config file names it, or as the
    ``--cfg-options`` entry that set it (:func:`option_place`)."""
    texts = []
    for cause in causes:
        place = cause.key and option_place(cause.key, options, cause.value)
        if not place:
            texts.append(cause.text)
        else:
            texts.append(f'{place} ({cause.note})' if cause.note else place)
    return ' and '.join(texts)


def _fix_lines(causes: List[_Cause], fixable: bool,
               options: Optional[dict]) -> List[str]:
    """The advice that restores the base lr: a config line, or where an
    option set a cause (an option overrides the file, so a config line
    would not do), the options to add after it."""
    by_option = [
        c for c in causes if c.key and option_key(c.key, options) is not None
    ]
    if fixable and not by_option:
        return [
            'To train them at the base lr as the paper does, add to your '
            'config:', f'    {_config_fix_line(causes)}'
        ]
    if fixable and all(c.key for c in causes):
        return [
            'To train them at the base lr as the paper does, add at the '
            'end of your --cfg-options:',
            '    ' + ' '.join(f'{c.key}={float(c.fix)!r}' for c in causes)
        ]
    where = ('your --cfg-options' if by_option else 'optim_wrapper.'
             'paramwise_cfg')
    return [
        'To train them at the base lr as the paper does, give them '
        f'lr_mult=1.0 in {where}.'
    ]


def _names_of(model: nn.Module, keys: Iterable[str],
              name_of: Dict[int, str]) -> List[Tuple[int, str]]:
    state = model.state_dict(keep_vars=True)
    return [(id(state[k]), name_of[id(state[k])]) for k in keys
            if id(state[k]) in name_of]


def check_trainable_lr(runner, model: nn.Module, plan,
                       wrappers: Sequence) -> Optional[str]:
    """Warn once if the adapters (or the extra trainable tensors) train at
    another lr than the base lr and the head.

    A tensor is reported when its lr multiplier (see
    :func:`~.lr_multipliers.group_lr_multipliers`) is neither 1 nor one of
    the head's, so a rule that scales everything alike (a scheduler,
    auto-scaling) is not.

    Args:
        runner (Runner): The runner; its ``cfg.optim_wrapper`` is read to
            name the cause.
        model (nn.Module): The unwrapped model.
        plan (TrainablePlan): What trains.
        wrappers (Sequence[BaseOptimWrapper]): The built optimizer wrappers.

    Returns:
        str or None: The warning logged, if any.

    Raises:
        ConfigError: If one of them is at 0x the base lr (never trained).
    """
    name_of = {id(p): n for n, p in model.named_parameters()}
    parts = {
        part: _names_of(model, plan.groups[part], name_of)
        for part in ('adapters', 'other', 'head')
    }
    try:
        ratio = auto_scale_ratio(runner)
    except ValueError as e:
        # The Runner scaled the lr by a ratio this check cannot read: its
        # multipliers would be wrong, so it says so and checks nothing.
        message = f"AdapterHook: the adapters' lr was not checked: {e}."
        print_log(message, logger='current', level=logging.WARNING)
        return message
    found = {'adapters': [], 'other': []}  # (name, multiplier)
    head_mults, base_lrs = [], []
    for wrapper in wrappers:
        base_lrs.append(f"{wrapper.optimizer.defaults.get('lr')}")
        mults = group_lr_multipliers(wrapper.optimizer, ratio)
        head = [mults[i] for i, _ in parts['head'] if i in mults]
        head_mults += head
        for part in found:
            for i, name in parts[part]:
                mult = mults.get(i)
                if mult is None or math.isclose(mult, 1., rel_tol=1e-5) or \
                        any(math.isclose(mult, h, rel_tol=1e-5)
                            for h in head):
                    continue
                found[part].append((name, mult))
    if not found['adapters'] and not found['other']:
        return None

    flagged = [n for part in found.values() for n, _ in part]
    causes, fixable = _diagnose(runner.cfg.get('optim_wrapper'), flagged)
    # A tool's --cfg-options override the file: name the entry that set a
    # cause, and fix it there (None outside a tool's run: unknown).
    options = given_cfg_options()
    what = [
        f'{len(found[part])} {label} tensors train at '
        f'{_mults_text([m for _, m in found[part]])}'
        for part, label in (('adapters', 'adapter'),
                            ('other', 'extra_trainable')) if found[part]
    ]
    ratio_text = f' x {ratio:g} by auto_scale_lr' if ratio != 1 else ''
    head_text = (f'the head at {_mults_text(head_mults)}'
                 if head_mults else 'the head is not in the optimizer')
    cause = _causes_text(causes, options)
    lines = [
        'AdapterHook: ' + ' and '.join(what) + ' the base lr '
        f"(optim_wrapper.optimizer.lr={'/'.join(base_lrs)}"
        f'{ratio_text}; {head_text}), but AdaptFormer trains '
        'its adapters at the base lr. The backbone is frozen, so a '
        'paramwise_cfg rule for it reaches only what trains inside it.',
        f'Likely cause: {cause or "an unknown paramwise_cfg rule"}.',
    ]
    lines += _fix_lines(causes, fixable, options)
    never = [n for part in found.values() for n, m in part if m == 0]
    if never:
        # At lr 0 they keep their initialisation: only the head trains.
        raise ConfigError(
            f'AdapterHook: {len(never)} tensors that should train '
            f'({", ".join(never[:3])}{", ..." if len(never) > 3 else ""}) '
            'are at 0x the base lr: they would never change. ' +
            ' '.join(line.strip() for line in lines[1:]))
    lines.append('AdapterHook leaves the lr as configured; ignore this if '
                 'it is what you want.')
    message = '\n'.join(lines)
    print_log(message, logger='current', level=logging.WARNING)
    return message
