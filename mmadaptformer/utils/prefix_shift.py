# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A state dict whose keys differ from the model's by a prefix alone.

A whole recognizer's checkpoint given where its backbone is loaded carries
a ``backbone.`` prefix the backbone's keys lack; a backbone's checkpoint
given as a whole model's lacks the one the model's keys carry. The error
of :func:`~.state_dict_check.check_state_dict` names the prefix and how
to load such a file (:func:`prefix_shift_cause`), when the file would load
in full once that prefix is dealt with (:func:`fitting_prefix_shift`).
"""
from typing import Callable, Mapping, Optional, Sequence, Set, Tuple

from torch import nn

from .load_refusal import LoadRefusal
from .state_dict_diff import diff_state_dict

__all__ = ['prefix_shift', 'fitting_prefix_shift', 'prefix_shift_cause']


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
    try:
        diff = diff_state_dict(target, state_dict)
    except LoadRefusal:
        # The load of the state dict as it would be with that prefix
        # refuses it: it does not fit so either. (The load of the state
        # dict as given was dry-run before, and its refusal raised.)
        return False
    return not (diff.mismatched or diff.unexpected or diff.errors
                or any(outer + k not in fresh and not missing_ok(outer + k)
                       for k in diff.missing))


def fitting_prefix_shift(
        model: nn.Module, state_dict: Mapping, missing: Sequence[str],
        unexpected: Sequence[str], fresh: Set[str],
        missing_ok: Callable[[str], bool]) -> Optional[Tuple[str, str]]:
    """The :func:`prefix_shift` of ``missing`` and ``unexpected``, if
    ``state_dict`` loads into ``model`` in full once it is dealt with (the
    keys in ``fresh`` or that ``missing_ok`` accepts may still be missing);
    None otherwise."""
    shift = prefix_shift(missing, unexpected)
    if shift is None or not _fits_with_prefix(model, state_dict, shift, fresh,
                                              missing_ok):
        return None
    return shift


def prefix_shift_cause(shift: Tuple[str, str]) -> str:
    """The cause, for an error, of a state dict whose keys differ from the
    model's by the prefix of ``shift`` (see :func:`prefix_shift`), and how
    to load it."""
    kind, prefix = shift
    if kind == 'extra':
        return (f'its keys carry a prefix {prefix!r} that the model\'s keys '
                'lack (it holds a larger model, e.g. a whole recognizer): '
                f'load it with prefix={prefix!r} (init_cfg=dict(type='
                f'\'Pretrained\', checkpoint=..., prefix={prefix!r}), or '
                '--pretrained in our tools)')
    return (f'the model\'s keys carry a prefix {prefix!r} that its keys lack '
            '(it holds a part of the model, e.g. the backbone alone): load '
            'it into that part, e.g. with the backbone\'s init_cfg or '
            '--pretrained')
