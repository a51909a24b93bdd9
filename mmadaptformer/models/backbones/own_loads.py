# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the state dicts a host loads itself left out, and the refusal of
the tensors they left at their initialisation for another shape.

A host that reads the weights it names itself (mmaction2's TimeSformer
from its ``pretrained``, Swin3D with ``pretrained2d=False``) loads them
non-strictly, through MMEngine's ``load_state_dict`` or ``PretrainedInit``:
a tensor of another shape (a 2D ViT saved at another ``img_size``, whose
``pos_embed`` holds another number of patches; Swin3D's relative position
tables of another window) is skipped with a warning only, and keeps its
random initialisation. In a frozen backbone it stays random for good.
:func:`recording_loads` keeps, beside the missing keys, the size mismatches
torch reported during each load (the error messages of a non-strict load),
so that :func:`check_own_weights_fit` can refuse them, naming the file, its
config key and each tensor. A host that resizes a tensor itself before it
loads it (Swin3D's 2D inflation, which interpolates the tables) reports
no mismatch and loads as before.
"""
from contextlib import contextmanager
from typing import Iterator, List, NamedTuple, Optional, Set, Tuple

from torch import nn

from ...utils.pos_embed_sizes import pos_embed_cause
from ...utils.state_dict_check import MAX_LISTED, StateDictMismatchError
from ...utils.state_dict_diff import size_mismatch

__all__ = ['HostLoad', 'recording_loads', 'check_own_weights_fit']

Shape = Tuple[int, ...]


class HostLoad(NamedTuple):
    """What one state dict loaded into a host left out.

    Attributes:
        missing (set[str]): The host's keys it did not hold.
        mismatched (list[tuple]): ``(key, checkpoint shape, model shape)``
            of each tensor it held with another shape, which did not load.
    """
    missing: Set[str]
    mismatched: List[Tuple[str, Shape, Shape]]


def _mismatches(messages: List[str],
                prefix: str) -> List[Tuple[str, Shape, Shape]]:
    """The size mismatches among a load's error ``messages``, with the
    host's ``prefix`` taken off their keys."""
    found = []
    for message in messages:
        mismatch = size_mismatch(message)
        if mismatch is None or not mismatch[0].startswith(prefix):
            continue
        key, ckpt, own = mismatch
        found.append((key[len(prefix):], ckpt, own))
    return found


@contextmanager
def recording_loads(host: nn.Module) -> Iterator[List[HostLoad]]:
    """Record, for each state dict loaded into ``host`` inside the scope
    (``load_state_dict``, MMEngine's ``load_checkpoint``), the keys it left
    missing and the tensors of another shape it skipped.

    The shapes come from the load's own error messages: a load pre-hook on
    the host takes the list torch and MMEngine collect them in, and the
    post-hook, which runs once the host's submodules have loaded, reads
    what was added. What the load's own hooks resized first (e.g. a
    position embedding that a host interpolates on load) is not in it.
    """
    loads: List[HostLoad] = []
    pending: List[Tuple[str, List[str], int]] = []

    def before(module, state_dict, prefix, local_metadata, strict,
               missing_keys, unexpected_keys, error_msgs) -> None:
        pending.append((prefix, error_msgs, len(error_msgs)))

    def after(module, incompatible) -> None:
        prefix, messages, start = pending.pop() if pending else ('', [], 0)
        # The host's own names: a load of the whole model (the Runner's
        # load_from) gives its keys with the host's prefix.
        missing = {
            key[len(prefix):]
            for key in incompatible.missing_keys if key.startswith(prefix)
        }
        loads.append(HostLoad(missing, _mismatches(messages[start:], prefix)))

    handles = [
        host.register_load_state_dict_pre_hook(before),
        host.register_load_state_dict_post_hook(after)
    ]
    try:
        yield loads
    finally:
        for handle in handles:
            handle.remove()


def _loaded(load: HostLoad, name: str) -> bool:
    """Whether ``load`` gave the host's tensor ``name`` its values."""
    return name not in load.missing and all(name != key
                                            for key, _, _ in load.mismatched)


def check_own_weights_fit(host: nn.Module,
                          loads: List[HostLoad],
                          own: str,
                          key: str,
                          frozen_only: bool = False) -> None:
    """Refuse a host whose own weights left tensors of another shape at
    their initialisation: a tensor of another shape that no load recorded
    gave values (a load of the Runner's ``load_from`` after the host's own
    may give them, or itself be the one that skipped a tensor the host's
    own file gave).

    Args:
        host (nn.Module): The host, after its ``init_weights()``.
        loads (list[HostLoad]): What :func:`recording_loads` recorded then.
        own (str): The weights it names (:func:`~.host_init.own_weights`).
        key (str): Their config key, for the error.
        frozen_only (bool): Refuse only parameters that do not train
            (``requires_grad`` off): a plain backbone, whose trainable
            tensors learn from their initialisation as in MMEngine.
            Defaults to False: all of them (a wrapper's frozen host).

    Raises:
        StateDictMismatchError: Naming the file, its config key, each
            tensor with both shapes and what to do.
    """
    params = dict(host.named_parameters())
    mismatched = []
    for load in loads:
        for name, ckpt, model in load.mismatched:
            param = params.get(name)
            if frozen_only and (param is None or param.requires_grad):
                continue
            # Another load (its own, or the Runner's load_from after it)
            # gave it its values.
            if not any(_loaded(other, name) for other in loads):
                mismatched.append((name, ckpt, model))
    if not mismatched:
        return
    count = len(mismatched)
    lines = [
        f'{type(host).__name__} loaded {own} ({key}) itself, '
        f'non-strictly: {count} of its tensors ha'
        f'{"s" if count == 1 else "ve"} another shape in the file, did not '
        "load and kept the model's initialisation (random weights; MMEngine "
        'only warns), which the frozen backbone would keep for good. '
        'Tensors of other shapes (key: checkpoint shape vs model shape):'
    ]
    lines += [
        f'  {tensor}: {ckpt} vs {model}'
        for tensor, ckpt, model in mismatched[:MAX_LISTED]
    ]
    if len(mismatched) > MAX_LISTED:
        lines.append(f'  ... and {len(mismatched) - MAX_LISTED} more')
    advice = _advice(host, mismatched, own)
    lines.append(advice[:1].upper() + advice[1:] + '.')
    raise StateDictMismatchError('\n'.join(lines))


def _advice(host: nn.Module, mismatched: List[Tuple[str, Shape, Shape]],
            own: Optional[str]) -> str:
    """Why the tensors differ and what makes the file fit."""
    tensor, ckpt, model = mismatched[0]
    if len(mismatched) == 1 and tensor.endswith('pos_embed') and \
            len(ckpt) == len(model) >= 2:
        return pos_embed_cause(host, tensor, ckpt, model, source_file=own)
    return ('The file was saved for another input (img_size, window_size '
            'or num_frames) or another architecture: build the host with '
            'the sizes the file was saved for, or convert the file to this '
            "host's")
