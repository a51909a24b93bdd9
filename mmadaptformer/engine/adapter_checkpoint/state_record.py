# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Complete an adapter-only state dict from the record of the frozen
backbone it carries, when its ``meta`` record is gone.

An adapter-only checkpoint records its frozen backbone twice:
``meta['adapter_checkpoint']`` (a digest of every frozen tensor) and, for
each frozen-host wrapper, ``<wrapper>.frozen_host_fingerprints`` in its
state dict (each host tensor's fingerprint). A file that lost its meta
alone (its state dict saved again, ``torch.save(ckpt['state_dict'])``)
keeps the second. ``tools/test.py`` and ``tools/infer.py`` load it as it
is: the wrapper's load path checks the model's frozen host against that
record (:func:`~mmadaptformer.models.backbones.frozen_host_record.
verify_frozen_host`). :func:`complete_from_state_record` makes the same
check, per tensor, and fills the state dict with the verified tensors, so
that ``merge_adapters.py`` writes the full checkpoint those tools would
evaluate.
"""
from typing import Dict, Optional

from torch import nn

from mmadaptformer.models.adapters.trainable import TrainablePlan
from mmadaptformer.models.backbones.adapter_only_misfit import (
    check_adapter_only_host, check_adapter_only_keys)
from mmadaptformer.models.backbones.base_wrapper import FrozenHostWrapper
from mmadaptformer.models.backbones.frozen_host_record import (
    FROZEN_HOST_KEY, verify_frozen_host)
from .adapter_only import check_holds_adapter_head

__all__ = ['complete_from_state_record']


def complete_from_state_record(model: nn.Module,
                               state: Dict,
                               plan: TrainablePlan,
                               source: Optional[str] = None,
                               purpose: str = 'write') -> Dict:
    """Fill an adapter-only state dict without its ``meta`` record with the
    model's frozen host tensors, each checked against the fingerprints the
    state dict records for its wrapper.

    Only the tensors a record covers are filled: a wrapper without its
    record in ``state``, or a frozen tensor outside every wrapper's host
    (which only the lost ``meta`` digest covered), is left out, for the
    load of the full state dict to refuse.

    Args:
        model (nn.Module): The unwrapped model, its frozen hosts loaded
            from the pretrained weights the adapters must run on.
        state (dict): The checkpoint's state dict (changed in place).
        plan (TrainablePlan): The model's trainable plan.
        source (str, optional): The checkpoint's path, for the errors.
            Defaults to None.
        purpose (str): What the caller does with it, a key of
            :data:`~.layout.RECORD_OUTCOMES`, for the error about a file
            without its head. Defaults to ``'write'``.

    Returns:
        dict: ``state``, holding the verified host tensors too.

    Raises:
        StateDictMismatchError: If a record names another host backbone,
            or its trained keys are not the model's (with the words of
            :func:`~.adapter_only.complete_adapter_checkpoint`).
        FrozenBackboneMismatchError: If a wrapper's frozen host is not the
            one its record fingerprints, naming how many tensors differ
            and the config key of the pretrained path.
    """
    entries = {k for k in state if k.endswith(FROZEN_HOST_KEY)}
    check_adapter_only_host(model, state, source)
    expected = set(plan.saved_keys)
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected - entries)
    if missing and not unexpected:
        check_holds_adapter_head(model, state, missing, source, purpose)
    check_adapter_only_keys(model, state, missing, unexpected, None, plan.mode,
                            source)
    model_state = model.state_dict()
    for name, module in model.named_modules():
        prefix = f'{name}.' if name else ''
        entry = state.get(prefix + FROZEN_HOST_KEY)
        if not isinstance(module, FrozenHostWrapper) or entry is None:
            continue
        if source is not None and isinstance(entry, dict):
            entry.setdefault('source', source)
        # The model's own host tensors, as the wrapper's load checks them.
        verify_frozen_host(module, entry, prefix=prefix, source=source)
        for key in entry.get('fingerprints', ()):
            state.setdefault(prefix + key, model_state[prefix + key])
    return state
