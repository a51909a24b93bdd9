# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine's checkpoint loaders are safe when called by name too.

MMEngine defines its loaders as public functions of
``mmengine.runner.checkpoint`` (``load_from_local``, ``load_from_http``,
``load_from_torchvision``, ``load_from_openmmlab``, ``load_from_mmcls``),
each registered in ``CheckpointLoader``'s table, and exports PyTorch's
``torch.hub.load_state_dict_from_url`` as
``mmengine.utils.dl_utils.load_url``.
:func:`~.checkpoint_schemes.register_safe_checkpoint_loaders` replaces the
table's entries, but code that calls a function by its name (``from
mmengine.runner.checkpoint import load_from_http``) still got MMEngine's:
``load_from_http`` and ``load_url`` load a download with ``weights_only``
switched off, and a checkpoint at an ``http://`` address ran its payload
after ``import mmadaptformer``; ``load_from_local`` leaves
``weights_only`` to PyTorch's default, which an environment switch of
PyTorch's turns off.
:func:`guard_direct_loaders` binds those names to this package's safe
loaders, which download into the same cache and load with
``weights_only=True``.
"""
from typing import Any, Optional

from .checkpoint_schemes import SAFE_SCHEMES
from .download_cache import fetch_cached

__all__ = ['safe_load_url', 'guard_direct_loaders']


def safe_load_url(url: str,
                  model_dir: Optional[str] = None,
                  map_location: Any = None,
                  progress: bool = True,
                  check_hash: bool = False,
                  file_name: Optional[str] = None) -> Any:
    """``mmengine.utils.dl_utils.load_url`` with ``weights_only=True``.

    Downloads into PyTorch's hub cache (or ``model_dir``) and loads as
    ``http://`` checkpoints load (:func:`.download_cache.fetch_cached`: a
    refused download is not kept, a hash in a published file's name is
    checked).

    Args:
        url (str): The address.
        model_dir (str, optional): The cache folder. Defaults to None.
        map_location (Any): Same as :func:`torch.load`. Defaults to None.
        progress (bool): Show a download progress bar. Defaults to True.
        check_hash (bool): Accepted for PyTorch's signature; the cache
            checks the hash in the names of published files whatever it
            says. Defaults to False.
        file_name (str, optional): A name to cache the file under instead
            of the address's; not supported, since the cache keys each
            download by its address. Defaults to None.

    Returns:
        Any: The loaded checkpoint.

    Raises:
        ValueError: If ``file_name`` is given.
        CheckpointLoadError: If the file carries code or is damaged.
    """
    if file_name is not None:
        raise ValueError(
            f'load_url({url!r}, file_name={file_name!r}): with '
            f'mmadaptformer imported, downloads are cached under their '
            f"address's file name, with a record of the address; file_name "
            f'is not supported. Leave it out.')
    return fetch_cached(url, model_dir, map_location, progress)


def guard_direct_loaders() -> None:
    """Bind MMEngine's loader functions and ``load_url`` to safe ones.

    In ``mmengine.runner.checkpoint``, the loaders of
    :data:`~.checkpoint_schemes.SAFE_SCHEMES` (each under the name of the
    function it replaces) and the module's ``load_url``; in
    ``mmengine.utils.dl_utils`` and its ``hub`` module, ``load_url``
    (:func:`safe_load_url`). Idempotent.
    """
    import mmengine.runner.checkpoint as checkpoint
    import mmengine.utils.dl_utils as dl_utils
    import mmengine.utils.dl_utils.hub as hub
    for _, loader in SAFE_SCHEMES:
        setattr(checkpoint, loader.__name__, loader)
    for module in (checkpoint, dl_utils, hub):
        module.load_url = safe_load_url
