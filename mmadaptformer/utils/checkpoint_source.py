# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Tell a loaded checkpoint's frozen-backbone record where it came from.

An adapter-only checkpoint carries, inside its ``state_dict``, a record of
the frozen backbone it was trained on (format :data:`FROZEN_HOST_FORMAT`,
written and checked by :class:`~mmadaptformer.models.FrozenHostWrapper`).
MMEngine hands the model only the state dict, not the file name, so the
checkpoint loader tags the record with its path
(:func:`tag_checkpoint_source`) and the wrapper's error can name the file.
"""
from typing import Any

__all__ = ['FROZEN_HOST_FORMAT', 'tag_checkpoint_source']

#: ``format`` of a frozen-backbone record in a state dict.
FROZEN_HOST_FORMAT = 'mmadaptformer.frozen_host'


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
    if not isinstance(checkpoint, dict):
        return 0
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        return 0
    tagged = 0
    for value in state.values():
        if isinstance(value, dict) and \
                value.get('format') == FROZEN_HOST_FORMAT:
            value['source'] = str(source)
            tagged += 1
    return tagged
