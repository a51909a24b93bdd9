# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Name the globals a pickle refers to, without unpickling it.

PyTorch's ``weights_only`` unpickler decides what loads. When it refuses a
file, it does not always say why in terms a user can act on: for a raw
pickle (not a ``torch.save`` archive) it stops at the first opcode it does
not support, before it reaches any global, and its message then reads like
a damaged file. Reading the opcodes with :mod:`pickletools` executes
nothing and tells a file that refers to code (``posix.system``,
``builtins.eval``, ...) from a truncated one.
"""
import io
import pickletools
import zipfile
from typing import Iterator, List, Optional

__all__ = ['scan_pickle_globals', 'scan_file_globals', 'is_allowed_global']

_STRING_OPS = {
    'SHORT_BINUNICODE', 'BINUNICODE', 'BINUNICODE8', 'UNICODE',
    'SHORT_BINSTRING', 'BINSTRING', 'STRING'
}
_PUT_OPS = {'PUT', 'BINPUT', 'LONG_BINPUT'}
_GET_OPS = {'GET', 'BINGET', 'LONG_BINGET'}
#: How many pickles a file may hold in a row (a legacy ``torch.save`` file
#: holds five, then raw storage bytes).
_MAX_PICKLES = 8
#: Modules whose globals ``torch.save`` itself writes.
_TORCH_MODULES = ('torch', 'collections')


def _pickle_globals(stream: io.BufferedIOBase) -> Iterator[str]:
    """Yield ``module.name`` for each global one pickle refers to."""
    recent: List[Optional[str]] = []
    memo = {}
    for opcode, arg, _ in pickletools.genops(stream):
        name = opcode.name
        if name in _STRING_OPS:
            recent.append(arg if isinstance(arg, str) else None)
        elif name == 'GLOBAL' or name == 'INST':
            module, _, attr = str(arg).partition(' ')
            yield f'{module}.{attr}'
            recent.append(None)
        elif name == 'STACK_GLOBAL':
            module = recent[-2] if len(recent) >= 2 else None
            attr = recent[-1] if recent else None
            yield f'{module or "?"}.{attr or "?"}'
            recent.append(None)
        elif name == 'MEMOIZE':
            memo[len(memo)] = recent[-1] if recent else None
        elif name in _PUT_OPS:
            memo[arg] = recent[-1] if recent else None
        elif name in _GET_OPS:
            recent.append(memo.get(arg))
        else:
            recent.append(None)
        del recent[:-4]


def scan_pickle_globals(data: bytes) -> List[str]:
    """Globals referred to by the pickles at the start of ``data``.

    Reads one pickle after another (a legacy ``torch.save`` file holds
    several) until the data ends or stops being a pickle. Nothing is
    executed.

    Args:
        data (bytes): Pickled data.

    Returns:
        list[str]: ``module.name`` of every global, in order, without
        repeats.
    """
    stream = io.BytesIO(data)
    found: List[str] = []
    for _ in range(_MAX_PICKLES):
        start = stream.tell()
        if start >= len(data):
            break
        try:
            for name in _pickle_globals(stream):
                if name not in found:
                    found.append(name)
        except Exception:  # noqa: B902 -- the end of the pickled part
            # Not (or no longer) a pickle: raw storage bytes, or the place
            # where a truncated file ends. What was read so far counts.
            break
        if stream.tell() == start:
            break
    return found


def is_allowed_global(name: str) -> bool:
    """Whether ``weights_only`` loading may resolve the global ``name``.

    Args:
        name (str): ``module.name``.

    Returns:
        bool: True for the globals ``torch.save`` writes and those on
        PyTorch's allow-list (this package's included).
    """
    import torch
    module = name.rsplit('.', 1)[0]
    if module.split('.')[0] in _TORCH_MODULES:
        return True
    allowed = set()
    for entry in torch.serialization.get_safe_globals():
        if isinstance(entry, tuple):
            allowed.add(entry[1])
        else:
            allowed.add(f'{entry.__module__}.{entry.__qualname__}')
    return name in allowed


def scan_file_globals(filename: str,
                      only_disallowed: bool = False) -> List[str]:
    """Globals referred to by a checkpoint file, without loading it.

    Handles ``torch.save``'s zip archives (every ``*.pkl`` member), its
    legacy format and raw pickles.

    Args:
        filename (str): Path of the file.
        only_disallowed (bool): Keep only the globals that
            :func:`is_allowed_global` refuses. Defaults to False.

    Returns:
        list[str]: ``module.name`` of the globals found.
    """
    found: List[str] = []
    try:
        if zipfile.is_zipfile(filename):
            with zipfile.ZipFile(filename) as archive:
                for member in archive.namelist():
                    if member.endswith('.pkl'):
                        for name in scan_pickle_globals(archive.read(member)):
                            if name not in found:
                                found.append(name)
        else:
            with open(filename, 'rb') as f:
                found = scan_pickle_globals(f.read())
    except (OSError, zipfile.BadZipFile):
        return []
    if only_disallowed:
        found = [name for name in found if not is_allowed_global(name)]
    return found
