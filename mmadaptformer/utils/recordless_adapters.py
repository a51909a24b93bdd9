# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only state dict that lost its record of the frozen backbone.

An adapter-only checkpoint (``AdapterHook(adapter_only_checkpoint=True)``,
``extract_adapters.py``) holds what trained (adapters or prompts, head,
neck, ``extra_trainable`` tensors) and records the frozen backbone they
were trained on twice: ``meta['adapter_checkpoint']`` and a
``<wrapper>.frozen_host_fingerprints`` entry in its state dict. A file
that keeps its tensors alone (``ckpt['state_dict']`` filtered to tensors
and saved again, or by a tool of another library) keeps neither: the
model's load took it for a full checkpoint with holes ("damaged, or saved
from a smaller architecture"), ``merge_adapters.py`` for one that "needs no
merging".

Such a file cannot show which backbone its adapters were trained on, and
on another one they give wrong results without an error. It is therefore
named for what it looks like and refused, with the file that loads
instead: the one its training run wrote, which keeps the record
(:func:`recordless_adapters_cause`). A frozen-host wrapper's own load path
refuses it too, on every loading path; it also refuses an adapter-only
file written before the state-dict record existed (its record in
``meta`` alone), unless the caller checks that meta record
(:func:`checking_meta_record`).
"""
import contextlib
import contextvars
from typing import Iterator, Mapping, Optional

from torch import nn

from .control_characters import escape_controls
from .model_keys import added_keys, held_keys, holds_under_half_the_blocks

__all__ = [
    'FROZEN_RECORD_SUFFIX', 'RECORD_AGAIN', 'recordless_adapters_cause',
    'checking_meta_record', 'meta_record_checked', 'RECORD_LOST',
    'RUN_FILE_INSTEAD'
]

#: The end of the state-dict key of a frozen-host wrapper's record of its
#: frozen backbone (``backbone.frozen_host_fingerprints``).
FROZEN_RECORD_SUFFIX = 'frozen_host_fingerprints'

#: How an adapter-only file whose record is in ``meta`` alone gets the
#: state-dict record as well: ``merge_adapters.py`` checks its meta record
#: against the backbone and writes a full checkpoint, from which
#: ``extract_adapters.py`` writes an adapter-only one that records it.
#: ``{config}`` (the config it was trained with), ``{file}`` and
#: ``{backbone}`` are filled in.
RECORD_AGAIN = ('python tools/model_converters/merge_adapters.py {config} '
                '{file} FULL.pth --pretrained {backbone} (it checks that '
                'record against the backbone and writes a full checkpoint, '
                'which loads everywhere), then python tools/'
                'model_converters/extract_adapters.py {config} FULL.pth '
                'ADAPTERS.pth for an adapter-only file that records its '
                'backbone in its state dict too')

#: What a state dict of adapters without the record of their backbone
#: looks like, in every refusal of one.
RECORD_LOST = ('it looks like an adapter-only checkpoint whose record was '
               'lost (e.g. its tensors alone saved again)')

#: What to give instead of such a state dict, in every refusal of one.
RUN_FILE_INSTEAD = ('Give instead the adapter-only checkpoint its training '
                    "run wrote (its work dir's epoch_N.pth or best_*.pth, "
                    'which keeps the record), with the backbone it was '
                    'trained on as --pretrained')

# True while a caller loads an adapter-only checkpoint whose meta record
# it checks against the model's frozen tensors.
_META_CHECKED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    'mmadaptformer_meta_record_checked', default=False)


@contextlib.contextmanager
def checking_meta_record() -> Iterator[None]:
    """Loads inside this scope are of an adapter-only checkpoint whose
    ``meta['adapter_checkpoint']`` record (its frozen digest) the caller
    checks against the model's frozen tensors, e.g. after the load
    (``init_model``): a frozen-host wrapper then takes a state dict
    without its own record of the frozen backbone, as files written
    before that record existed are, instead of refusing it
    (:func:`meta_record_checked`)."""
    token = _META_CHECKED.set(True)
    try:
        yield
    finally:
        _META_CHECKED.reset(token)


def meta_record_checked() -> bool:
    """Whether the load under way is inside :func:`checking_meta_record`.
    """
    return _META_CHECKED.get()


def recordless_adapters_cause(model: nn.Module,
                              state_dict: Mapping) -> Optional[str]:
    """Why ``state_dict`` does not load, if it is the trained part of
    ``model`` without its record of the frozen backbone.

    It is, when it holds some of the tensors this package adds to the host
    (:func:`~.model_keys.added_keys`: adapters, prompts), no record
    (:data:`FROZEN_RECORD_SUFFIX`), and less than half of the elements of
    the host's blocks (:func:`~.model_keys.block_keys` without the added
    ones): parameter-efficient training leaves their weight matrices
    frozen, so an adapter-only file holds at most a few of their biases or
    norms (``extra_trainable``), a full checkpoint nearly all of them.
    The caller has checked that it holds no key the model lacks and no
    tensor of another shape.

    Args:
        model (nn.Module): The (unwrapped) model it is loaded into.
        state_dict (Mapping): The state dict, DDP's ``module.`` prefix
            removed.

    Returns:
        str | None: The cause and what to give instead, for the error;
        None for any other state dict.
    """
    held = held_keys(state_dict)
    if any(
            isinstance(k, str) and k.endswith(FROZEN_RECORD_SUFFIX)
            for k in held):
        return None
    added = added_keys(model)
    adapters = [k for k in model.state_dict() if k in added and k in held]
    if not adapters:
        return None
    if not holds_under_half_the_blocks(model, lambda k: k not in added,
                                       lambda k: k in held):
        return None
    frozen = [k for k in model.state_dict() if k not in held]
    return (f'it holds {len(adapters)} of the tensors this package adds '
            f'(adapters or prompts, e.g. {escape_controls(adapters[0])}) '
            f'and {len(held) - len(adapters)} others, but none of the '
            'frozen backbone\'s block weights, and no record of the '
            'backbone they were trained on (an adapter-only checkpoint '
            "carries one in meta['adapter_checkpoint'] and, in its state "
            f'dict, as {FROZEN_RECORD_SUFFIX}): {RECORD_LOST}, not a '
            'damaged file. Without the '
            'record nothing can check that the backbone they would run on '
            f'({len(frozen)} tensors, e.g. {escape_controls(frozen[0])}) '
            'is the one they were trained on, and on another one they give '
            'wrong results without an error, so it is not loaded. ' +
            RUN_FILE_INSTEAD)
