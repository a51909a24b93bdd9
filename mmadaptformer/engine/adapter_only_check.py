# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint given to a model without its adapters.

``tools/test.py STOCK_CONFIG adapters.pth`` (the stock config instead of the
AdaptFormer one) loaded the checkpoint non-strictly: the adapters and the
record of the frozen backbone were unexpected keys, the backbone's tensors
missing ones, and the test ran on a random backbone with only MMEngine's
warning. The model has no frozen-host wrapper to refuse it in its own load
path, so :class:`AdapterOnlyCheckMixin` refuses it where the tools' runner
loads ``load_from``.
"""
from mmengine.model import is_model_wrapper
from torch import nn

from mmadaptformer.utils.state_dict_check import StateDictMismatchError
from .adapter_checkpoint import ADAPTER_META_KEY

__all__ = ['AdapterOnlyCheckMixin', 'check_adapter_only_fits']

#: How many keys an error lists by name.
_LISTED = 5


def check_adapter_only_fits(model: nn.Module, checkpoint: dict,
                            source: str) -> None:
    """Refuse an adapter-only checkpoint whose trained tensors the model
    does not have.

    Args:
        model (nn.Module): The (unwrapped) model it was loaded into.
        checkpoint (dict): The loaded checkpoint.
        source (str): Its file, for the error.

    Raises:
        StateDictMismatchError: Naming the file, the tensors the model
            lacks and the config to use.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    info = (meta or {}).get(ADAPTER_META_KEY)
    if not isinstance(info, dict):
        return
    saved = list(info.get('saved_keys') or [])
    keys = set(model.state_dict())
    absent = [key for key in saved if key not in keys]
    if not absent:
        return
    more = ', ...' if len(absent) > _LISTED else ''
    raise StateDictMismatchError(
        f'{source} is an adapter-only checkpoint (it holds what trained, '
        'not the frozen backbone), and this config\'s model lacks '
        f'{len(absent)} of its {len(saved)} trained tensors '
        f'({", ".join(absent[:_LISTED])}{more}): the backbone would run '
        'with weights the checkpoint does not hold. Use the config it was '
        'trained with (the training run\'s work dir keeps a copy of it).')


class AdapterOnlyCheckMixin:
    """Runner method that refuses, after ``load_from`` is loaded, an
    adapter-only checkpoint that does not fit the model (see
    :func:`check_adapter_only_fits`). Put it before the runner class in the
    bases."""

    def load_checkpoint(self, filename: str, *args, **kwargs) -> dict:
        """Load as MMEngine's runner does, then check the checkpoint."""
        checkpoint = super().load_checkpoint(filename, *args, **kwargs)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        check_adapter_only_fits(model, checkpoint, str(filename))
        return checkpoint
