# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every MMEngine checkpoint source loads with ``weights_only=True``.

MMEngine picks a loader by the path's scheme
(:class:`mmengine.runner.CheckpointLoader`). Its ``http://``/``https://``
loader calls :func:`torch.hub.load_state_dict_from_url`, whose
``weights_only`` defaults to False, and the schemes that resolve to an
address (``torchvision://``, ``modelzoo://``, ``open-mmlab://``,
``openmmlab://``, ``mmcls://``) go the same way: a checkpoint given as an
address could run code. This module:

* registers safe loaders for those schemes, through the public
  ``CheckpointLoader.register_scheme``. They download into PyTorch's hub
  cache (:mod:`.download_cache`: a refused download is not kept, each
  download records its address, a hash in the file name is checked) and
  load with :func:`safe_torch_load`;
* wraps ``CheckpointLoader.load_checkpoint`` (:func:`guard_checkpoint_loader`)
  so that any other loader (``pavi://``, ``s3://``, or one a user registers
  later) runs with ``weights_only`` forced on, through PyTorch's documented
  ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` switch, whatever it passes to
  :func:`torch.load`;
* lets a caller read each checkpoint once (:func:`reading_once`): building a
  wrapped backbone checks its pretrained file, then MMEngine's
  ``PretrainedInit`` loads the same file; inside the scope the second
  request gets the object the first one read, or the error it raised.
"""
import contextlib
import contextvars
import functools
import os
import os.path as osp
import pickle
import threading
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterator, NamedTuple, Optional, Tuple

from .adapter_only_fit import remember_source
from .checkpoint_loading import (CheckpointLoadError, load_from_local,
                                 register_safe_globals, safe_torch_load)
from .download_cache import cache_path, fetch_cached
from .model_keys import BACKBONE_PREFIX
from .refusal_text import refusal_message, refusal_reason
from .zoo_names import zoo_address

__all__ = [
    'forced_weights_only', 'load_from_http', 'load_from_torchvision',
    'load_from_openmmlab', 'load_from_mmcls', 'guard_checkpoint_loader',
    'register_safe_checkpoint_loaders', 'reading_once', 'load_forced',
    'SAFE_SCHEMES'
]

_FORCE = 'TORCH_FORCE_WEIGHTS_ONLY_LOAD'
_FORCE_NO = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
# What :func:`reading_once` has read (or a :class:`_Failed` read), keyed by
# (filename, map_location); None outside its scope.
_READ: contextvars.ContextVar[Optional[Dict[Tuple[str, str], Any]]] = \
    contextvars.ContextVar('mmadaptformer_checkpoints_read', default=None)


class _Failed(NamedTuple):
    """A read inside :func:`reading_once` that raised ``error``."""
    error: Exception


# Who is inside :func:`forced_weights_only` now, and the environment as it
# was before the first of them entered; guarded by the lock.
_SWITCH_LOCK = threading.Lock()
_SWITCH_USERS = 0
_SWITCH_SAVED: Dict[str, Optional[str]] = {}


@contextlib.contextmanager
def forced_weights_only() -> Iterator[None]:
    """Force ``weights_only=True`` on every :func:`torch.load` inside.

    Uses PyTorch's ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` switch, which overrides
    an explicit request for the unsafe mode; its opposite (``_FORCE_NO``)
    is unset meanwhile. The switch is an environment variable, so it holds
    for the whole process: it stays on while any thread is inside (one
    thread leaving does not turn it off under another one's load), and the
    last one out restores both variables as they were before the first one
    entered.
    """
    global _SWITCH_USERS, _SWITCH_SAVED
    with _SWITCH_LOCK:
        if _SWITCH_USERS == 0:
            _SWITCH_SAVED = {
                key: os.environ.get(key)
                for key in (_FORCE, _FORCE_NO)
            }
        _SWITCH_USERS += 1
        os.environ[_FORCE] = '1'
        os.environ.pop(_FORCE_NO, None)
    try:
        yield
    finally:
        with _SWITCH_LOCK:
            _SWITCH_USERS -= 1
            if _SWITCH_USERS == 0:
                for key, value in _SWITCH_SAVED.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value


@contextlib.contextmanager
def reading_once() -> Iterator[None]:
    """Read each checkpoint at most once inside the scope.

    ``CheckpointLoader.load_checkpoint`` of a filename (and map location)
    it already loaded inside the scope returns the object it loaded then,
    without reading the file again; one whose read failed there raises the
    same error again (a failed download of minutes is not tried twice, the
    second time perhaps under a lock). Callers must not change that object
    in place; MMEngine's loaders (``load_checkpoint``,
    ``_load_checkpoint_with_prefix``) copy the state dict before they rename
    keys, and the state-dict checks only read it. Nested scopes share the
    outer one. Everything read is released when the outermost scope ends.
    """
    if _READ.get() is not None:
        yield
        return
    token = _READ.set({})
    try:
        yield
    finally:
        _READ.reset(token)


def load_from_http(filename: str,
                   map_location: Any = None,
                   model_dir: Optional[str] = None,
                   progress: bool = False) -> Any:
    """Safe MMEngine loader for ``http://`` and ``https://`` addresses.

    Downloads into PyTorch's hub cache (``<hub dir>/checkpoints``, or
    ``model_dir``) as MMEngine's loader does, local rank 0 first, and loads
    with :func:`safe_torch_load`.

    Args:
        filename (str): The address.
        map_location (Any): Same as :func:`torch.load`. Defaults to None.
        model_dir (str, optional): The cache folder. Defaults to None.
        progress (bool): Show a download progress bar. Defaults to False.

    Returns:
        Any: The loaded checkpoint.

    Raises:
        CheckpointLoadError: If the file carries code (it is then not kept
            in the cache) or is damaged.
    """
    from mmengine.dist import barrier, get_dist_info
    rank, world_size = get_dist_info()
    if world_size <= 1:
        return fetch_cached(filename, model_dir, map_location, progress)
    error: Optional[BaseException] = None
    checkpoint = None
    if rank == 0:
        try:
            checkpoint = fetch_cached(filename, model_dir, map_location,
                                      progress)
        except BaseException as e:  # noqa: B902 -- raised after the barrier
            error = e
    # Every rank reaches the barrier, so a refusal on rank 0 cannot leave
    # the other ranks waiting for a download that will never come.
    barrier()
    if error is not None:
        raise error
    if rank > 0:
        # Found after rank 0's download, as rank 0 found it before.
        cached = cache_path(filename, model_dir)
        if not osp.isfile(cached):
            raise CheckpointLoadError(
                f'Checkpoint {filename} was not downloaded by rank 0 to '
                f'{cached}; see rank 0\'s error.')
        checkpoint = safe_torch_load(
            cached, map_location=map_location, source=filename)
    return checkpoint


def load_from_torchvision(filename: str, map_location: Any = None) -> Any:
    """Safe MMEngine loader for ``torchvision://`` and ``modelzoo://``.

    The name is looked up as MMEngine's loader looks it up
    (:func:`.zoo_names.zoo_address`; a name the table lacks is refused
    by name) and its address is loaded with :func:`load_from_http`.
    """
    return load_from_http(zoo_address(filename), map_location=map_location)


def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    """Safe MMEngine loader for ``open-mmlab://`` and ``openmmlab://``.

    The name is looked up in MMEngine's tables (including
    ``$MMENGINE_HOME/open_mmlab.json``), deprecated names are followed with
    a warning (:func:`.zoo_names.zoo_address`), and the address or file it
    names is loaded safely.
    """
    target = zoo_address(filename)
    if target.startswith(('http://', 'https://')):
        return load_from_http(target, map_location=map_location)
    return load_from_local(target, map_location=map_location)


def load_from_mmcls(filename: str, map_location: Any = None) -> Any:
    """Safe MMEngine loader for ``mmcls://``: a backbone's weights.

    As MMEngine's loader, keeps the ``backbone.*`` keys without the prefix.
    """
    checkpoint = load_from_http(
        zoo_address(filename), map_location=map_location)
    state_dict = checkpoint.get('state_dict', checkpoint)
    return dict(
        state_dict=OrderedDict((key[len(BACKBONE_PREFIX):], value)
                               for key, value in state_dict.items()
                               if key.startswith(BACKBONE_PREFIX)))


def load_forced(loader: Callable, filename: Any, *args: Any,
                **kwargs: Any) -> Any:
    """Call ``loader(filename, *args, **kwargs)`` with ``weights_only``
    forced on.

    For loaders that call :func:`torch.load` themselves, whatever they pass
    it (:func:`forced_weights_only`). A refusal from PyTorch becomes a
    :class:`CheckpointLoadError` that names ``filename`` and the global.

    Args:
        loader (callable): A loader taking the file name first.
        filename (str): The checkpoint's path or address, named in a
            refusal.

    Returns:
        Any: What ``loader`` returns.

    Raises:
        CheckpointLoadError: If the checkpoint carries code.
    """
    register_safe_globals()
    with forced_weights_only():
        try:
            return loader(filename, *args, **kwargs)
        except pickle.UnpicklingError as e:
            # Not chained: PyTorch's text advises turning weights_only off.
            raise CheckpointLoadError(
                refusal_message(str(filename), [refusal_reason(str(e))]),
                refused=True) from None


def guard_checkpoint_loader(load_checkpoint):
    """Wrap ``CheckpointLoader.load_checkpoint`` so every loader is safe.

    The loader picked for the path, whichever it is (a user's too), runs
    through :func:`load_forced`; a refusal from PyTorch becomes a
    :class:`CheckpointLoadError` that names the path and the global.
    Inside :func:`reading_once`, a checkpoint loaded there before is
    returned without reading it again (or its error raised again). The
    file of an adapter-only checkpoint is noted, for
    :mod:`.adapter_only_fit`'s error.

    Args:
        load_checkpoint (callable): The original bound classmethod.

    Returns:
        callable: The wrapped function, to be set as a classmethod.
    """

    @functools.wraps(load_checkpoint)
    def safe_load_checkpoint(cls,
                             filename,
                             map_location=None,
                             logger='current'):
        read = _READ.get()
        key = (str(filename), str(map_location))
        if read is not None and key in read:
            if isinstance(read[key], _Failed):
                raise read[key].error
            return read[key]
        try:
            checkpoint = load_forced(load_checkpoint, filename, map_location,
                                     logger)
        except Exception as e:
            if read is not None:
                read[key] = _Failed(e)
            raise
        if read is not None:
            read[key] = checkpoint
        remember_source(checkpoint, str(filename))
        return checkpoint

    safe_load_checkpoint.__mmadaptformer_guard__ = True
    return safe_load_checkpoint


#: The prefixes each safe loader is registered for in MMEngine's
#: ``CheckpointLoader``; each loader has the name of the MMEngine function
#: it replaces.
SAFE_SCHEMES = (
    ('', load_from_local),
    (('http://', 'https://'), load_from_http),
    (('modelzoo://', 'torchvision://'), load_from_torchvision),
    (('open-mmlab://', 'openmmlab://'), load_from_openmmlab),
    ('mmcls://', load_from_mmcls),
)


def register_safe_checkpoint_loaders() -> None:
    """Make every MMEngine checkpoint source load with ``weights_only``.

    Registers :func:`load_from_local` for paths, :func:`load_from_http`,
    :func:`load_from_torchvision`, :func:`load_from_openmmlab` and
    :func:`load_from_mmcls` for the address schemes, and guards
    ``CheckpointLoader.load_checkpoint`` (:func:`guard_checkpoint_loader`).
    Idempotent.
    """
    from mmengine.runner import CheckpointLoader
    register_safe_globals()
    for prefixes, loader in SAFE_SCHEMES:
        CheckpointLoader.register_scheme(
            prefixes=prefixes, loader=loader, force=True)
    current = CheckpointLoader.__dict__['load_checkpoint'].__func__
    if not getattr(current, '__mmadaptformer_guard__', False):
        original = CheckpointLoader.load_checkpoint
        CheckpointLoader.load_checkpoint = classmethod(
            guard_checkpoint_loader(original))
