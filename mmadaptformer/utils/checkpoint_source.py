# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tell a loaded checkpoint's frozen-backbone record where it came from.

An adapter-only checkpoint carries, inside its ``state_dict``, a record of
the frozen backbone it was trained on (format :data:`FROZEN_HOST_FORMAT`,
written and checked by :class:`~mmadaptformer.models.FrozenHostWrapper`).
MMEngine hands the model only the state dict, not the file name, so the
checkpoint loader tags the record with its path
(:func:`tag_checkpoint_source`) and the wrapper's error can name the file.

:func:`frozen_records` finds those records, for the tagging and for every
reader that tells an adapter-only file by them (a record-less adapter-only
checkpoint, one given as a pretrained backbone).
"""
from typing import Any, Dict

__all__ = ['FROZEN_HOST_FORMAT', 'frozen_records', 'tag_checkpoint_source']

#: ``format`` of a frozen-backbone record in a state dict.
FROZEN_HOST_FORMAT = 'mmadaptformer.frozen_host'


def frozen_records(checkpoint: Any) -> Dict[str, dict]:
    """The records of the frozen backbone (format :data:`FROZEN_HOST_FORMAT`,
    with its fingerprints) that an adapter-only checkpoint carries beside
    its ``meta`` record, by state-dict key (one per wrapper, e.g.
    ``'backbone.frozen_host_fingerprints'``), in the state dict's order.

    A merged checkpoint's record of the settings alone is of another
    format, and is not one of them.

    Args:
        checkpoint (Any): A loaded checkpoint: a dict with a
            ``'state_dict'``, or a bare state dict.

    Returns:
        dict[str, dict]: Empty if it holds none (or is no dict).
    """
    if not isinstance(checkpoint, dict):
        return {}
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        return {}
    return {
        key: value
        for key, value in state.items() if isinstance(value, dict)
        and value.get('format') == FROZEN_HOST_FORMAT
    }


def tag_checkpoint_source(checkpoint: Any, source: str) -> int:
    """Record ``source`` in every frozen-backbone record of a checkpoint.

    Anything that is not such a record is left alone, so this can be called
    on every loaded checkpoint.

    Args:
        checkpoint (Any): A loaded checkpoint: a dict with a ``state_dict``,
            or a state dict.
        source (str): Where it was loaded from, e.g. the file path or URL.

    Returns:
        int: How many records were tagged.
    """
    records = frozen_records(checkpoint)
    for record in records.values():
        record['source'] = str(source)
    return len(records)
