# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Load MMEngine checkpoints with ``torch.load(weights_only=True)``.

Since PyTorch 2.6 :func:`torch.load` defaults to ``weights_only=True``. An
MMEngine checkpoint holds the message hub, whose
:class:`~mmengine.logging.HistoryBuffer` objects and numpy scalars are not on
PyTorch's default allow-list, so ``--resume`` fails with
``UnpicklingError: Unsupported global``. Turning ``weights_only`` off (as
mmengine's unreleased main branch does) would let any checkpoint file run
code. This module instead allow-lists exactly the types MMEngine writes
(:func:`safe_globals` says which, what is left out and why):

* :class:`mmengine.logging.HistoryBuffer`;
* numpy arrays and scalars of bool, integer, float and complex dtypes,
  through guarded stand-ins for ``numpy.dtype`` and numpy's
  ``_reconstruct``, since the real ones let a pickle build arrays that
  corrupt memory (:mod:`~mmadaptformer.utils.numpy_globals`);
* ``getattr`` -- but only a guarded replacement registered under the names
  ``builtins.getattr`` / ``__builtin__.getattr``. A HistoryBuffer pickles its
  statistics methods as ``getattr(HistoryBuffer, 'min')``; the replacement
  resolves the statistics methods of HistoryBuffer and refuses everything
  else, so a checkpoint cannot walk to arbitrary attributes.

It also replaces MMEngine's local-file checkpoint loader with one that loads
with ``weights_only=True`` explicitly and turns failures into errors that name
the file and what was refused or what is wrong with it.
"""
import os
import os.path as osp
import pickle
import stat
import tarfile
from typing import Any, Callable, List, Optional, Tuple, Union

import torch

from .checkpoint_formats import binary_format, text_format
from .checkpoint_source import tag_checkpoint_source
from .checkpoint_text import text_in_checkpoint_place
from .load_refusal import LoadRefusal
from .numpy_globals import (foreign_byte_order, multibyte_dtypes_made,
                            numpy_safe_globals, unsafe_numpy_entries)
from .old_pickles import unreadable_pickle
from .pickle_scan import PickleScanLimitError, scan_file_globals
from .refusal_text import (REFUSAL_KEYS, error_detail, refusal_message,
                           refusal_reason)

__all__ = [
    'CheckpointLoadError', 'CheckpointNotFoundError', 'safe_globals',
    'register_safe_globals', 'safe_torch_load', 'load_from_local',
    'text_refusal'
]


class CheckpointNotFoundError(FileNotFoundError, LoadRefusal):
    """A checkpoint file is not there (a ``FileNotFoundError``).

    A refusal of the package's own: where the model's loading code reads
    it (the frozen host's pretrained file, read when an adapter-only
    checkpoint loads), a check's dry run raises it as the load would,
    instead of naming the tensors it would have given as missing.
    """


class CheckpointLoadError(RuntimeError, LoadRefusal):
    """A checkpoint file could not be loaded safely or is damaged.

    Args:
        message (str): The error.
        refused (bool): It was refused for safety, as carrying a reference
            to code (:func:`~.refusal_text.refusal_message` words it), not
            found damaged. Defaults to False.

    Attributes:
        refused (bool): See above.
    """

    def __init__(self, message: str = '', refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


# HistoryBuffer fills ``_statistics_methods`` lazily, in its first
# ``__init__``, so the built-in names are listed here as well.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _allowed_statistics() -> List[str]:
    from mmengine.logging import HistoryBuffer
    return sorted(
        set(_HISTORY_BUFFER_STATISTICS)
        | set(HistoryBuffer._statistics_methods))


def _guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    """A ``getattr`` that only resolves HistoryBuffer statistics methods."""
    from mmengine.logging import HistoryBuffer
    allowed = _allowed_statistics()
    if obj is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'Refused getattr({getattr(obj, "__qualname__", type(obj))!r}, '
        f'{name!r}) while loading a checkpoint: only the statistics methods '
        f'of mmengine.logging.HistoryBuffer ({allowed}) may be looked up.')


def _empty_bytes(*args: Any) -> bytes:
    """``bytes`` for checkpoints: only ``bytes()``, which is how pickle
    protocol 2 (``torch.save``'s default) writes ``b''`` -- the data of an
    empty numpy array, e.g. a HistoryBuffer without values. Non-empty bytes
    come through ``_codecs.encode``, which PyTorch allows; ``bytes(n)``
    would allocate what the file asks for."""
    if args:
        raise pickle.UnpicklingError(
            f'Refused bytes({", ".join(map(repr, args))[:40]}) while '
            f'loading a checkpoint: only bytes() (an empty value) is built '
            f'this way.')
    return b''


def safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The globals an MMEngine checkpoint needs beyond PyTorch's defaults.

    ``HistoryBuffer``, the guarded ``getattr``, ``bytes()`` (empty only:
    :func:`_empty_bytes`), and the guarded numpy
    entries of :func:`~mmadaptformer.utils.numpy_globals.numpy_safe_globals`
    (numeric numpy arrays, scalars and dtypes; its docstring says what is
    left out and why).

    Returns:
        list: Entries for :func:`torch.serialization.add_safe_globals`.
    """
    from mmengine.logging import HistoryBuffer
    return [
        HistoryBuffer,
        (_guarded_getattr, 'builtins.getattr'),
        # pickle protocol 2 (torch.save's default) names the module
        # ``__builtin__``.
        (_guarded_getattr, '__builtin__.getattr'),
        (_empty_bytes, 'builtins.bytes'),
        (_empty_bytes, '__builtin__.bytes'),
    ] + numpy_safe_globals()


_REGISTERED = False


def register_safe_globals() -> None:
    """Add :func:`safe_globals` to PyTorch's ``weights_only`` allow-list.

    Idempotent. ``weights_only`` stays on; nothing else is allowed.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    torch.serialization.add_safe_globals(safe_globals())
    _REGISTERED = True


def _check_regular_file(filename: str, where: str) -> None:
    """Raise unless ``filename`` is a regular file (links followed)."""
    try:
        mode = os.stat(filename).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise CheckpointNotFoundError(
            f'Checkpoint file not found: {where}') from None
    except OSError as e:
        raise CheckpointLoadError(
            f'Checkpoint file {where} cannot be read: {e.strerror}.') from None
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        kind = 'a directory'
    elif stat.S_ISFIFO(mode):
        kind = 'a FIFO (named pipe)'
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = 'a device'
    else:
        kind = 'a socket or other special file'
    raise CheckpointLoadError(
        f'Checkpoint {where} is not a regular file (it is {kind}); expected '
        f'a file written by torch.save. It was not read.')


#: How a zip archive, torch.save's format since PyTorch 1.6, starts; the
#: test :func:`torch.load` makes.
_ZIP_MAGIC = b'PK\x03\x04'


def _is_zip(filename: str) -> bool:
    """Whether :func:`torch.load` reads ``filename`` as a zip archive (False
    also for a file it cannot open: its own error then says why)."""
    try:
        with open(filename, 'rb') as f:
            return f.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC
    except OSError:
        return False


def _is_legacy_tar(filename: str) -> bool:
    """Whether :func:`torch.load` reads ``filename`` as torch < 0.4's tar
    format (it tries that before the pickles, for a file that does not
    start as a zip archive)."""
    try:
        with open(filename, 'rb') as f:
            if f.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC:
                return False
            f.seek(0)
            with tarfile.open(fileobj=f, mode='r:'):
                return True
    except (OSError, EOFError, ValueError, tarfile.TarError):
        return False


def _load_error(filename: str, where: str,
                error: BaseException) -> CheckpointLoadError:
    """The error to raise for a file :func:`torch.load` failed on."""
    message = str(error)
    if _is_legacy_tar(filename):
        return CheckpointLoadError(
            f'Checkpoint file {where} is in the legacy tar format of '
            f'torch < 0.4 (torch.save before 2018), which loading with '
            f'weights_only=True cannot read: PyTorch reads that format only '
            f'by unpickling it without an allow-list, which could run code. '
            f'It was not loaded, and nothing in it was executed.')
    size = osp.getsize(filename)
    what = binary_format(filename)
    if what is not None:
        return CheckpointLoadError(
            f'Checkpoint file {where} ({size} bytes) is {what}. It was not '
            f'loaded ({error_detail(error)}).')
    # Read the opcodes without executing them, to name everything that
    # refers to code; the weights-only unpickler stops at the first refusal
    # or at the first opcode it does not know (a raw pickle's FRAME, say),
    # where its message reads like damage.
    try:
        refused = scan_file_globals(filename, only_disallowed=True)
        unscanned = None
    except PickleScanLimitError as limit:
        refused, unscanned = [], limit
    if isinstance(error, pickle.UnpicklingError) and any(
            key in message for key in REFUSAL_KEYS):
        reason = refusal_reason(message)
        # PyTorch names a builtin without its module ('eval').
        named = any(name == reason or name.endswith('.' + reason)
                    for name in refused)
        return CheckpointLoadError(
            refusal_message(where, refused if named else refused + [reason]),
            refused=True)
    if refused:
        return CheckpointLoadError(
            refusal_message(where, refused), refused=True)
    old_pickle = unreadable_pickle(filename)
    if old_pickle is not None:
        what, advice = old_pickle
        return CheckpointLoadError(
            f'Checkpoint file {where} ({size} bytes) is {what}. It was not '
            f'loaded ({error_detail(error)}), and nothing in it was '
            f'executed. {advice}.')
    what = text_format(filename)
    if what is not None:
        return CheckpointLoadError(
            f'Checkpoint file {where} ({size} bytes) is {what}. It was not '
            f'loaded ({error_detail(error)}).')
    if unscanned is not None:
        return CheckpointLoadError(
            f'Checkpoint file {where} ({size} bytes) cannot be read '
            f'({error_detail(error)}). Its pickled data is larger than '
            f'this loader reads to tell a damaged file from one that '
            f'carries code (it stopped after {unscanned.read}), so which it '
            f'is was not checked; nothing in it was executed.')
    return CheckpointLoadError(
        f'Checkpoint file {where} ({size} bytes) is truncated or corrupted '
        f'and cannot be read ({error_detail(error)}).')


def _check_guards(where: str) -> None:
    """Refuse to load while other code has allow-listed something in place
    of :func:`safe_globals`' guards (PyTorch keeps one callable per name),
    or numpy's own ``dtype``, ``ndarray``, ``_reconstruct`` or non-numeric
    dtype classes under any name."""
    guards = {
        name: entry
        for entry, name in (e for e in safe_globals() if isinstance(e, tuple))
    }
    found = set(unsafe_numpy_entries())
    for entry in torch.serialization.get_safe_globals():
        if isinstance(entry, tuple):
            entry, name = entry
            if name in guards and entry is not guards[name]:
                found.add(name)
    if found:
        raise CheckpointLoadError(
            f'Not loading checkpoint {where}: PyTorch\'s weights_only '
            f'allow-list also holds {", ".join(sorted(found))}, added by '
            f'other code in this process, which would undo this package\'s '
            f'guards: numpy objects that corrupt memory, or getattr on any '
            f'object. Remove those entries '
            f'(torch.serialization.get_safe_globals() lists them); this '
            f'package loads MMEngine checkpoints without them.')


def _check_byte_order(filename: str, where: str) -> None:
    """Refuse numpy values in non-native byte order, which the numpy guards
    would read swapped."""
    foreign = foreign_byte_order(filename)
    if foreign is not None:
        raise CheckpointLoadError(
            f'Checkpoint file {where} holds numpy values in non-native byte '
            f'order ({foreign!r}), which this loader cannot rebuild: it '
            f'gives numpy arrays and scalars numpy\'s shared native dtypes, '
            f'which a file cannot alter, and would read those values '
            f'byte-swapped. Save them in native order (e.g. '
            f'arr.astype(arr.dtype.newbyteorder("="))) or as tensors.')


def safe_torch_load(filename: str,
                    map_location: Optional[Union[str, torch.device]] = None,
                    source: Optional[str] = None,
                    mmap: bool = False) -> Any:
    """Load a checkpoint file with ``weights_only=True``.

    Args:
        filename (str): Path to a local checkpoint file.
        map_location (str | torch.device, optional): Same as
            :func:`torch.load`. Defaults to None.
        source (str, optional): Where the file came from (e.g. the address
            it was downloaded from), named in errors instead of
            ``filename``.
            Defaults to None.
        mmap (bool): Map the tensors' data from the file (``torch.load``'s
            ``mmap=True``; private, copy-on-write by PyTorch's default)
            instead of reading it: only the pickle is read, and a tensor's
            bytes are read when it is touched. For callers that look at
            keys, shapes or the meta of a large checkpoint and then drop
            it: while the tensors live, the file must not be truncated or
            rewritten in place (touching a page past its new end kills the
            process with SIGBUS). The unpickler and its allow-list are the
            same, so a file that carries code is refused as without it. A
            file in the legacy (non-zip) format, which cannot be mapped,
            is read in full. With a ``map_location`` other than the CPU the
            tensors are copied, hence read. Defaults to False.

    Returns:
        Any: The loaded object, usually a dict.

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        CheckpointLoadError: If the file carries references to code or
            other content outside the allow-list (the message names them;
            nothing was executed), is not a regular file, is text that is
            no pickle (a last_checkpoint record, a web page: see
            :func:`.text_in_checkpoint_place`; never unpickled), is in a
            format that cannot be loaded safely (a legacy file of pickle
            protocol 0 or 1, a pickle torch.save did not write: see
            :func:`.unreadable_pickle`), or is truncated or
            corrupted; or if other code allow-listed numpy globals that
            would undo this module's guards. The message names the file.
    """
    register_safe_globals()
    filename = osp.expanduser(filename)
    where = filename if source is None else source
    _check_guards(where)
    _check_regular_file(filename, where)
    text = text_in_checkpoint_place(filename)
    if text is not None:
        raise text_refusal(where, filename, text)
    dtypes_made = multibyte_dtypes_made()
    # Asked only for a zip archive: torch.load refuses mmap for the legacy
    # format. Left unset otherwise, as before, so PyTorch's own default
    # (torch.utils.serialization.config.load.mmap) still applies.
    lazy = dict(mmap=True) if mmap and _is_zip(filename) else {}
    try:
        checkpoint = torch.load(
            filename, map_location=map_location, weights_only=True, **lazy)
    except Exception as e:  # noqa: B902 -- re-raised with the file named
        # Not chained: PyTorch's text advises turning weights_only off.
        raise _load_error(filename, where, e) from None
    if multibyte_dtypes_made() != dtypes_made:
        _check_byte_order(filename, where)
    # An adapter-only checkpoint's frozen-backbone record learns its file,
    # so the model's own load path can name it in a refusal.
    tag_checkpoint_source(checkpoint, where)
    return checkpoint


def text_refusal(where: str, filename: str, text: str) -> CheckpointLoadError:
    """The refusal of a text file given as a checkpoint, in the loader's
    words, for the callers that find it before loading.

    Args:
        where (str): The file as the caller named it.
        filename (str): Its local path, to give its size.
        text (str): What it is, as :func:`.text_in_checkpoint_place` or
            :func:`.record_in_checkpoint_place` says it.

    Returns:
        CheckpointLoadError: The error to raise.
    """
    return CheckpointLoadError(
        f'Checkpoint file {where} ({osp.getsize(filename)} bytes) is '
        f'{text}. It was not loaded: nothing in it was unpickled.')


def load_from_local(filename: str, map_location=None) -> Any:
    """MMEngine ``CheckpointLoader`` scheme for local paths."""
    return safe_torch_load(filename, map_location=map_location)
