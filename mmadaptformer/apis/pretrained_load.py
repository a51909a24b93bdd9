# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Load the frozen backbone's pretrained weights before the checkpoint that
leaves them out, so that an error in either names the right file.

An adapter-only checkpoint holds what trained; the frozen backbone comes
from the file the config names (``model.backbone.backbone.init_cfg.
checkpoint``, which ``--pretrained`` sets). The wrapper's own load path
reads that file lazily, inside the checkpoint's load
(:meth:`~mmadaptformer.models.FrozenHostWrapper.before_load`), where a
damaged file would read as a damaged checkpoint.
:func:`load_host_pretrained` reads it first and raises
:class:`PretrainedLoadError` for what fails there.
:func:`read_frozen_pretrained` reads that file earlier still, without a
lock, for the load to reuse.
"""
from typing import List, Mapping, Optional

from mmengine.config import Config
from mmengine.runner import CheckpointLoader
from torch import nn

from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.models import FROZEN_HOST_KEY, FrozenHostWrapper
from mmadaptformer.models.backbones.host_init import own_weights
from mmadaptformer.models.backbones.load_refusals import (
    completing_recorded, refuse_full_with_holes)
from mmadaptformer.utils.adapter_only_fit import loading
from mmadaptformer.utils.checkpoint_source import frozen_records
from mmadaptformer.utils.default_scope_lock import SCOPE_LOCK
from mmadaptformer.utils.pretrained_init import (is_pretrained_cfg,
                                                 pretrained_init_cfgs)

__all__ = [
    'PretrainedLoadError', 'load_host_pretrained', 'read_frozen_pretrained'
]


class PretrainedLoadError(RuntimeError):
    """The pretrained weights of a frozen backbone could not be loaded for a
    checkpoint that leaves them out; ``__cause__`` is what failed.

    Raised by :func:`~mmadaptformer.apis.init_model` (and so by
    :class:`~mmadaptformer.apis.ModelInferencer`, and as the cause of
    ``add_task``'s :class:`~mmadaptformer.apis.TaskLoadError`) so that
    a caller can tell a damaged or wrong pretrained file from a damaged or
    wrong checkpoint.

    Args:
        message (str): The message, naming the file and its config key.
        path (str, optional): The pretrained file or address; None for a
            backbone that names none. Defaults to None.
        key (str, optional): The config key that names it. Defaults to
            None.
    """

    def __init__(self,
                 message: str,
                 path: Optional[str] = None,
                 key: Optional[str] = None) -> None:
        super().__init__(message)
        self.path = path
        self.key = key


def _pretrained_file(wrapper: FrozenHostWrapper) -> Optional[str]:
    """The file :meth:`~FrozenHostWrapper.init_host` loads the host from."""
    cfgs = pretrained_init_cfgs(wrapper.backbone)
    if cfgs:
        checkpoint = cfgs[-1].get('checkpoint')
        return None if checkpoint is None else str(checkpoint)
    return own_weights(wrapper.backbone)


def load_host_pretrained(model: nn.Module, ckpt: dict, state: Mapping,
                         source: str) -> None:
    """Load the pretrained weights of every frozen host that a checkpoint
    leaves out, before the checkpoint itself loads.

    It decides as the load itself does
    (:meth:`~FrozenHostWrapper.before_load`): a host the checkpoint fills
    (a full or merged checkpoint) needs no file, and none is read; a
    checkpoint without the wrapper's record that is a full one with holes
    is refused before anything is read
    (:func:`~mmadaptformer.models.backbones.load_refusals.refuse_full_with_holes`;
    one whose ``meta`` or shape says adapter-only, such as one saved
    before the records, passes); and what the load would refuse of the
    checkpoint before reading the file
    (:meth:`~FrozenHostWrapper.diagnose_state_dict`) is refused first.

    Args:
        model (nn.Module): The model, built.
        ckpt (dict): The checkpoint, as read.
        state (Mapping): Its state dict, keys as in the model's.
        source (str): The checkpoint file, for errors.

    Raises:
        PretrainedLoadError: If a host's pretrained file cannot be loaded
            (damaged, of another architecture, a trained model, missing);
            the message names the file and its config key.
    """
    with loading(ckpt):
        for path, wrapper in model.named_modules():
            if not isinstance(wrapper,
                              FrozenHostWrapper) or wrapper.host_initialized:
                continue
            prefix = f'{path}.' if path else ''
            if all(prefix + key in state for key in wrapper.host_keys):
                continue
            if prefix + FROZEN_HOST_KEY not in state:
                refuse_full_with_holes(wrapper, state, prefix)
            wrapper.diagnose_state_dict(state, prefix, source)
            try:
                with completing_recorded(frozen_records(state).values()):
                    wrapper.init_host()
            except Exception as e:
                file = _pretrained_file(wrapper)
                key = wrapper.pretrained_key
                raise PretrainedLoadError(
                    f'{file or "No file"} ({key}), the pretrained weights '
                    f'of the frozen backbone, which {source} leaves out, '
                    f'could not be loaded: {type(e).__name__}: {e}',
                    path=file,
                    key=key) from e


def _pretrained_entries(cfg: Config) -> List[Mapping]:
    """The ``Pretrained`` entries of the frozen host's ``init_cfg`` as the
    config writes them (``model.backbone.backbone.init_cfg``, else the
    wrapper's own), which loading an adapter-only checkpoint reads."""
    wrapper = cfg.model.get('backbone')
    if not isinstance(wrapper, Mapping):
        return []
    host = wrapper.get('backbone')
    for owner in (host, wrapper):
        init_cfg = owner.get('init_cfg') if isinstance(owner,
                                                       Mapping) else None
        entries = init_cfg if isinstance(init_cfg,
                                         (list, tuple)) else [init_cfg]
        found = [
            entry for entry in entries
            if is_pretrained_cfg(entry) and entry.get('checkpoint')
        ]
        if found:
            return found
    return []


def read_frozen_pretrained(cfg: Config, loaded: Mapping) -> None:
    """Read the pretrained files of the frozen backbone that an adapter-only
    checkpoint leaves out, before the process-wide lock, into the caller's
    :func:`~mmadaptformer.utils.checkpoint_schemes.reading_once` scope: the
    load under the lock (:func:`load_host_pretrained`) then gets what was
    read here (a download of minutes) without reading it again.

    They are read as the load reads them (``CheckpointLoader``, so with
    ``weights_only``; the entry's ``map_location``, ``'cpu'`` by default).
    What fails here is not raised here but kept in that scope: the load
    raises it, without reading the file again, in the order and with the
    message it always did (a :class:`~mmadaptformer.apis.PretrainedLoadError`
    naming the file and its config key, after the checks of the checkpoint
    that come before it). Weights a host names otherwise (its own
    ``pretrained=`` argument) are read by the load alone, under the lock.

    Args:
        cfg (Config): The model's config.
        loaded (Mapping): Its checkpoint, as read.
    """
    meta = loaded.get('meta')
    if not isinstance(meta, Mapping) or meta.get(ADAPTER_META_KEY) is None:
        return  # a full or merged checkpoint fills the frozen backbone
    # Telling a Pretrained entry may switch MMEngine's default scope (an
    # entry's own ``_scope_``), which another thread's build may be using.
    with SCOPE_LOCK:
        entries = _pretrained_entries(cfg)
    for entry in entries:
        try:
            CheckpointLoader.load_checkpoint(
                entry['checkpoint'],
                map_location=entry.get('map_location', 'cpu'),
                logger='silent')
        except Exception:  # noqa: B902 -- kept by reading_once for the load
            continue
