# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Load a state dict that must fit the model in full.

``model.load_state_dict(state, strict=True)`` refuses every key a host's
own load pre-hook removes from the state dict before loading: mmpretrain's
``SwinTransformerV2`` deletes its ``relative_position_index`` and
``relative_coords_table`` buffers and keeps the ones it computed from its
``window_size``, so a full checkpoint of it, its own ``state_dict()``,
never loads strictly. :func:`load_full_state_dict` refuses the rest of
what ``strict=True`` refuses.
"""
from torch import nn

from .state_dict_check import StateDictMismatchError, listing

__all__ = ['load_full_state_dict']


def load_full_state_dict(model: nn.Module, state_dict: dict,
                         source: str) -> None:
    """Load ``state_dict`` into ``model``, every key of both.

    As ``strict=True``, except that a missing key that ``state_dict``
    holds is not refused: a load pre-hook of the model took it out and the
    model rebuilds that tensor itself. Shape mismatches raise, as torch's
    ``load_state_dict`` raises them.

    Args:
        model (nn.Module): The model.
        state_dict (dict): Its full state dict, with its keys.
        source (str): Where it comes from (file and config), for the error.

    Raises:
        StateDictMismatchError: Naming ``source`` and the keys the model
            lacks or the state dict lacks. What fits may have loaded.
    """
    result = model.load_state_dict(state_dict, strict=False)
    missing = [k for k in result.missing_keys if k not in state_dict]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        found = '; '.join(f'{what} ({len(keys)}): {listing(keys)}'
                          for what, keys in (('missing', missing),
                                             ('unexpected', unexpected))
                          if keys)
        raise StateDictMismatchError(
            f'{source} does not fit the model in full: {found}. Give a '
            'checkpoint of this config\'s model.')
