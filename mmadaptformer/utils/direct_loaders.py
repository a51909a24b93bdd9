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

Two more loaders of MMEngine's call :func:`torch.load` themselves:
``load_from_pavi`` and ``load_from_ceph`` (``pavi://``, ``s3://``,
``petrel://``). ``CheckpointLoader`` runs them with ``weights_only``
forced on, but called by name they left it to PyTorch's default, which
PyTorch's opposite switch (``_FORCE_NO`` in :mod:`.checkpoint_schemes`)
turns off: ``load_from_ceph(FILE, backend='local')``, or any ``s3://``
address with a ``petrel`` backend a user registered, ran a checkpoint's
payload. Their names now run them through
:func:`~.checkpoint_schemes.load_forced`.

PyTorch's own ``torch.hub.load_state_dict_from_url`` loads with
``weights_only`` off unless told otherwise, and loads a file it finds in
the hub cache without downloading it. torchvision's pretrained weights
(``weights.get_state_dict``, behind ``resnet18(weights=...)`` and
mmaction2's ``torchvision.`` backbones) go through it under names they
imported, so a file planted at ``$TORCH_HOME/hub/checkpoints/<name>`` ran
its payload when a config built such a backbone. Every reference to it in
the modules of :data:`HUB_USERS` is bound to :func:`safe_load_url`, and so
is ``torch.hub``'s, which modules imported later take.
"""
import functools
import sys
import types
from typing import Any, Callable, Optional

from .checkpoint_schemes import SAFE_SCHEMES, load_forced
from .download_cache import fetch_cached

__all__ = [
    'safe_load_url', 'guard_direct_loaders', 'guard_hub_loader', 'HUB_USERS'
]

#: The packages whose modules' references to
#: ``torch.hub.load_state_dict_from_url`` (under any name, e.g.
#: torchvision's ``load_state_dict_from_url``, ``torch.utils.model_zoo``'s
#: ``load_url``) :func:`guard_hub_loader` binds to :func:`safe_load_url`.
HUB_USERS = ('torch', 'torchvision', 'timm', 'mmengine', 'mmcv', 'mmaction',
             'mmpretrain')
#: MMEngine's loaders that call :func:`torch.load` themselves.
_SELF_LOADING = ('load_from_pavi', 'load_from_ceph')


def safe_load_url(url: str,
                  model_dir: Optional[str] = None,
                  map_location: Any = None,
                  progress: bool = True,
                  check_hash: bool = False,
                  file_name: Optional[str] = None,
                  weights_only: bool = True) -> Any:
    """``torch.hub.load_state_dict_from_url`` with ``weights_only=True``.

    Also ``mmengine.utils.dl_utils.load_url`` and
    ``torch.utils.model_zoo.load_url``, which are PyTorch's function.

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
            of the address's: PyTorch's own function caches and loads it
            then, with ``weights_only`` forced (:func:`load_forced`).
            Defaults to None.
        weights_only (bool): Accepted for PyTorch's signature; the file is
            loaded with ``weights_only=True`` whatever it says, as under
            PyTorch's ``TORCH_FORCE_WEIGHTS_ONLY_LOAD``. Defaults to True.

    Returns:
        Any: The loaded checkpoint.

    Raises:
        CheckpointLoadError: If the file carries code or is damaged.
    """
    if file_name is not None:
        # The cache keys a download by its address; a caller's own name
        # (a hubconf's, a library's) keeps PyTorch's cache, loaded with
        # weights_only forced as everywhere.
        return load_forced(_pytorch_load_url(), url, model_dir, map_location,
                           progress, check_hash, file_name)
    return fetch_cached(url, model_dir, map_location, progress)


#: PyTorch's own ``torch.hub.load_state_dict_from_url``, kept when
#: :func:`guard_hub_loader` binds the safe one in its place.
_PYTORCH_LOAD_URL: Optional[Callable] = None


def _pytorch_load_url() -> Callable:
    import torch.hub
    current = torch.hub.load_state_dict_from_url
    return _PYTORCH_LOAD_URL if current is safe_load_url else current


def _forced(loader: Callable) -> Callable:
    """``loader``, run through :func:`load_forced`."""

    @functools.wraps(loader)
    def forced_loader(filename, *args, **kwargs):
        return load_forced(loader, filename, *args, **kwargs)

    forced_loader.__mmadaptformer_guard__ = True
    return forced_loader


def guard_hub_loader() -> None:
    """Bind ``torch.hub.load_state_dict_from_url`` to :func:`safe_load_url`.

    In ``torch.hub`` and in every module of :data:`HUB_USERS` imported so
    far that holds PyTorch's function under any name; a module imported
    later takes the safe one from ``torch.hub``. Idempotent.
    """
    import torch.hub
    global _PYTORCH_LOAD_URL
    original = torch.hub.load_state_dict_from_url
    if original is safe_load_url:
        return
    _PYTORCH_LOAD_URL = original
    for name, module in list(sys.modules.items()):
        # Not every entry is a module (a lazy stand-in, None for a failed
        # import); only modules hold imported names.
        if not isinstance(module, types.ModuleType) or \
                name.partition('.')[0] not in HUB_USERS:
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                setattr(module, attr, safe_load_url)


def guard_direct_loaders() -> None:
    """Bind MMEngine's loader functions and ``load_url`` to safe ones.

    In ``mmengine.runner.checkpoint``, the loaders of
    :data:`~.checkpoint_schemes.SAFE_SCHEMES` (each under the name of the
    function it replaces), ``load_from_pavi`` and ``load_from_ceph`` run
    with ``weights_only`` forced on, and the module's ``load_url``; in
    ``mmengine.utils.dl_utils`` and its ``hub`` module, ``load_url``
    (:func:`safe_load_url`); and PyTorch's ``load_state_dict_from_url``
    wherever the stack holds it (:func:`guard_hub_loader`). Idempotent.
    """
    import mmengine.runner.checkpoint as checkpoint
    import mmengine.utils.dl_utils as dl_utils
    import mmengine.utils.dl_utils.hub as hub
    for _, loader in SAFE_SCHEMES:
        setattr(checkpoint, loader.__name__, loader)
    for name in _SELF_LOADING:
        loader = getattr(checkpoint, name)
        if not getattr(loader, '__mmadaptformer_guard__', False):
            setattr(checkpoint, name, _forced(loader))
    for module in (checkpoint, dl_utils, hub):
        module.load_url = safe_load_url
    guard_hub_loader()
