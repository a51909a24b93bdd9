# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read a checkpoint's pickle opcodes without unpickling it.

PyTorch's ``weights_only`` unpickler decides what loads. When it refuses a
file, it does not always say why in terms a user can act on: for a raw
pickle (not a ``torch.save`` archive) it stops at the first opcode it does
not support, before it reaches any global, and its message then reads like
a damaged file. Reading the opcodes with :mod:`pickletools` executes
nothing and tells a file that refers to code (``posix.system``,
``builtins.eval``, ...) from a truncated one.

Only what :func:`torch.load` itself unpickles is read:

* in a zip archive (``torch.save``'s format since PyTorch 1.6), the
  ``<folder>/data.pkl`` record, the folder being the first entry's, as
  PyTorch's reader finds it. The other records are raw storage bytes and
  short text (``version``, ``byteorder``); a TorchScript archive's
  ``constants.pkl`` is never unpickled, because ``weights_only`` loading
  refuses TorchScript archives;
* in any other file, at most the five pickles at its start (the legacy
  format: magic number, protocol version, system information, the object,
  the storage keys; raw storage bytes follow).

The opcodes are streamed, never read whole into memory, and a scan reads
at most :data:`MAX_SCAN_BYTES` of pickled data and :data:`MAX_SCAN_OPCODES`
opcodes: a small file can inflate to gigabytes.
"""
import io
import os
import pickletools
import stat
import zipfile
import zlib
from typing import BinaryIO, Iterator, List, Optional, Set, Tuple, Union

from .allowed_globals import is_allowed_global

__all__ = [
    'scan_pickle_globals', 'scan_file_globals', 'numpy_byte_orders',
    'PickleScanLimitError', 'MAX_SCAN_BYTES', 'MAX_SCAN_OPCODES'
]

#: The most pickled data (decompressed) one scan reads.
MAX_SCAN_BYTES = 64 * 1024 * 1024
#: The most opcodes one scan reads: about 1.3 s each million here. A
#: checkpoint's pickle has some 30 per tensor, plus long strings as one.
MAX_SCAN_OPCODES = 2_000_000

_STRING_OPS = {
    'SHORT_BINUNICODE', 'BINUNICODE', 'BINUNICODE8', 'UNICODE',
    'SHORT_BINSTRING', 'BINSTRING', 'STRING'
}
_INT_OPS = {'BININT', 'BININT1', 'BININT2', 'INT', 'LONG1'}
_PUT_OPS = {'PUT', 'BINPUT', 'LONG_BINPUT'}
_GET_OPS = {'GET', 'BINGET', 'LONG_BINGET'}
#: How many pickles :func:`torch.load` unpickles from a file that is not a
#: zip archive.
_LEGACY_PICKLES = 5
_ZIP_MAGIC = b'PK\x03\x04'


class PickleScanLimitError(ValueError):
    """A checkpoint's pickled data is larger than a scan reads.

    Args:
        source (str): The file (and zip record) that was scanned.
        read (str): How much was read before the scan stopped, e.g.
            ``'67108864 bytes'``.
    """

    def __init__(self, source: str, read: str):
        self.source = source
        self.read = read
        super().__init__(
            f'Stopped reading {source} after {read} of pickled data, the '
            f'most a scan for code references reads (MAX_SCAN_BYTES and '
            f'MAX_SCAN_OPCODES in mmadaptformer.utils.pickle_scan); the '
            f'file was not scanned to its end.')


class _Budget:
    """What one scan may still read, over all of a file's pickles."""

    def __init__(self, max_bytes: Optional[int], max_opcodes: Optional[int]):
        self.max_bytes = max_bytes
        self.max_opcodes = max_opcodes
        self.bytes = 0
        self.opcodes = 0

    def count_opcode(self, source: str) -> None:
        self.opcodes += 1
        if self.max_opcodes is not None and self.opcodes > self.max_opcodes:
            raise PickleScanLimitError(source, f'{self.max_opcodes} opcodes')


class _Global(str):
    """A global's ``module.name`` as the pickle's stack holds it."""


class _LimitedReader:
    """Read ``raw`` through a shared budget; past it, raise."""

    def __init__(self, raw: BinaryIO, budget: _Budget, source: str):
        self._raw = raw
        self.budget = budget
        self.source = source
        self._pos = 0

    def _want(self, size: Optional[int]) -> int:
        limit = self.budget.max_bytes
        if limit is None:
            return -1 if size is None else size
        # One byte past the budget tells "more than allowed" from "ends
        # exactly there", without reading a huge claimed length.
        left = limit - self.budget.bytes + 1
        return left if size is None or size < 0 else min(size, left)

    def _count(self, data: bytes) -> bytes:
        self._pos += len(data)
        self.budget.bytes += len(data)
        limit = self.budget.max_bytes
        if limit is not None and self.budget.bytes > limit:
            raise PickleScanLimitError(self.source, f'{limit} bytes')
        return data

    def read(self, size: Optional[int] = -1) -> bytes:
        return self._count(self._raw.read(self._want(size)))

    def readline(self, size: Optional[int] = -1) -> bytes:
        return self._count(self._raw.readline(self._want(size)))

    def tell(self) -> int:
        return self._pos


def _mapped(module: str, name: str) -> str:
    """``module.name`` as PyTorch resolves a protocol-2 global."""
    try:
        from torch._utils import IMPORT_MAPPING, NAME_MAPPING
    except ImportError:  # a PyTorch without the table: names as written
        IMPORT_MAPPING, NAME_MAPPING = {}, {}
    if (module, name) in NAME_MAPPING:
        module, name = NAME_MAPPING[(module, name)]
    elif module in IMPORT_MAPPING:
        module = IMPORT_MAPPING[module]
    return f'{module}.{name}'


def _pickle_events(stream: _LimitedReader) -> Iterator[Tuple[str, str]]:
    """Yield ``('global', 'module.name')`` for each global one pickle
    refers to, and ``('byte_order', char)`` for each numpy dtype it
    rebuilds with a state (numpy writes ``(version, byte order, ...)``)."""
    recent: List[Optional[str]] = []
    memo = {}
    # Where a numpy dtype's state is, after ``numpy.dtype`` was pushed:
    # its REDUCE, the state tuple's MARK, the version, then the byte order.
    dtype_step = None
    for opcode, arg, _ in pickletools.genops(stream):
        stream.budget.count_opcode(stream.source)
        name = opcode.name
        if name == 'MEMOIZE':
            memo[len(memo)] = recent[-1] if recent else None
            continue
        if name in _PUT_OPS:
            memo[arg] = recent[-1] if recent else None
            continue
        if name == 'FRAME':  # protocol 4 framing, anywhere between items
            continue
        value: Optional[str] = None
        if name in _STRING_OPS:
            value = arg if isinstance(arg, str) else None
        elif name == 'GLOBAL' or name == 'INST':
            module, _, attr = str(arg).partition(' ')
            value = _Global(_mapped(module, attr))
        elif name == 'STACK_GLOBAL':
            module = recent[-2] if len(recent) >= 2 else None
            attr = recent[-1] if recent else None
            value = _Global(_mapped(module or '?', attr or '?'))
        elif name in _GET_OPS:
            value = memo.get(arg)
        if isinstance(value, _Global) and name not in _GET_OPS:
            yield 'global', str(value)

        if isinstance(value, _Global) and value == 'numpy.dtype':
            dtype_step = 'REDUCE'
        elif dtype_step == 'REDUCE':
            if name == 'REDUCE':
                dtype_step = 'MARK'
        elif dtype_step == 'MARK' and name == 'MARK':
            dtype_step = 'version'
        elif dtype_step == 'version' and name in _INT_OPS:
            dtype_step = 'byte_order'
        elif dtype_step == 'byte_order' and isinstance(value, str):
            yield 'byte_order', value
            dtype_step = None
        else:
            dtype_step = None
        recent.append(value)
        del recent[:-4]


def _scan_stream(stream: _LimitedReader, pickles: int, found: List[str],
                 orders: Set[str]) -> None:
    """Read up to ``pickles`` pickles one after another from ``stream``."""
    for _ in range(pickles):
        start = stream.tell()
        try:
            for kind, value in _pickle_events(stream):
                if kind == 'byte_order':
                    orders.add(value)
                elif value not in found:
                    found.append(value)
        except PickleScanLimitError:
            raise
        except Exception:  # noqa: B902 -- the end of the pickled part
            # Not (or no longer) a pickle: raw storage bytes, or the place
            # where a truncated file ends. What was read so far counts.
            break
        if stream.tell() == start:
            break


def scan_pickle_globals(
        data: Union[bytes, BinaryIO],
        max_bytes: Optional[int] = MAX_SCAN_BYTES,
        pickles: int = _LEGACY_PICKLES,
        max_opcodes: Optional[int] = MAX_SCAN_OPCODES) -> List[str]:
    """Globals referred to by the pickles at the start of ``data``.

    Reads one pickle after another (a legacy ``torch.save`` file holds
    five) until the data ends or stops being a pickle. Nothing is
    executed.

    Args:
        data (bytes | file): Pickled data, or a binary file object.
        max_bytes (int, optional): Read at most this many bytes; None for
            no limit. Defaults to :data:`MAX_SCAN_BYTES`.
        pickles (int): Read at most this many pickles. Defaults to 5.
        max_opcodes (int, optional): Read at most this many opcodes; None
            for no limit. Defaults to :data:`MAX_SCAN_OPCODES`.

    Returns:
        list[str]: ``module.name`` of every global, in order, without
        repeats.

    Raises:
        PickleScanLimitError: If the pickles go on past ``max_bytes`` or
            ``max_opcodes``.
    """
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    found: List[str] = []
    _scan_stream(
        _LimitedReader(stream, _Budget(max_bytes, max_opcodes),
                       'the pickled data'), pickles, found, set())
    return found


def _is_regular_file(filename: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(filename).st_mode)
    except OSError:
        return False


def _torch_pickle_records(archive: zipfile.ZipFile) -> List[zipfile.ZipInfo]:
    """The records :func:`torch.load` unpickles from a zip archive."""
    infos = archive.infolist()
    if not infos or '/' not in infos[0].filename:
        return []  # PyTorch's reader refuses such an archive outright
    wanted = infos[0].filename.split('/', 1)[0] + '/data.pkl'
    # A record name written twice: scan each, whichever PyTorch picks.
    return [info for info in infos if info.filename == wanted]


def _scan_file(filename: str, max_bytes: Optional[int],
               max_opcodes: Optional[int]) -> Tuple[List[str], Set[str]]:
    found: List[str] = []
    orders: Set[str] = set()
    # A FIFO or device would block or never end; torch.load is not given
    # one (safe_torch_load refuses it first).
    if not _is_regular_file(filename):
        return found, orders
    budget = _Budget(max_bytes, max_opcodes)
    try:
        with open(filename, 'rb') as f:
            is_zip = f.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC
            if not is_zip:
                # Like torch.load: a file that does not start as a zip
                # archive is read as pickles from its first byte.
                f.seek(0)
                _scan_stream(
                    _LimitedReader(f, budget, filename), _LEGACY_PICKLES,
                    found, orders)
                return found, orders
        with zipfile.ZipFile(filename) as archive:
            for info in _torch_pickle_records(archive):
                with archive.open(info) as record:
                    _scan_stream(
                        _LimitedReader(record, budget,
                                       f'{filename} (record {info.filename})'),
                        1, found, orders)
    except PickleScanLimitError:
        raise
    except (OSError, EOFError, ValueError, RuntimeError, NotImplementedError,
            zipfile.BadZipFile, zlib.error):
        # An archive PyTorch could not open either (it unpickled nothing
        # from it), or a damaged record: what was read so far counts.
        pass
    return found, orders


def scan_file_globals(
        filename: str,
        only_disallowed: bool = False,
        max_bytes: Optional[int] = MAX_SCAN_BYTES,
        max_opcodes: Optional[int] = MAX_SCAN_OPCODES) -> List[str]:
    """Globals referred to by a checkpoint file, without loading it.

    Reads only the pickles :func:`torch.load` would unpickle (see the
    module's documentation), streaming them.

    Args:
        filename (str): Path of the file.
        only_disallowed (bool): Keep only the globals that
            :func:`is_allowed_global` refuses. Defaults to False.
        max_bytes (int, optional): Read at most this many bytes of pickled
            data; None for no limit. Defaults to :data:`MAX_SCAN_BYTES`.
        max_opcodes (int, optional): Read at most this many opcodes; None
            for no limit. Defaults to :data:`MAX_SCAN_OPCODES`.

    Returns:
        list[str]: ``module.name`` of the globals found; empty for a path
        that is not a regular file.

    Raises:
        PickleScanLimitError: If the pickled data goes on past
            ``max_bytes`` or ``max_opcodes``.
    """
    found, _ = _scan_file(filename, max_bytes, max_opcodes)
    if only_disallowed:
        found = [name for name in found if not is_allowed_global(name)]
    return found


def numpy_byte_orders(filename: str,
                      max_bytes: Optional[int] = None) -> Set[str]:
    """The byte orders of the numpy dtypes a checkpoint file rebuilds.

    numpy pickles a dtype as ``numpy.dtype(code, False, True)`` followed by
    a state whose second item is the byte order (``'<'``, ``'>'``,
    ``'|'``). This reads them from the opcodes, as numpy writes them,
    without loading anything.

    Args:
        filename (str): Path of the file.
        max_bytes (int, optional): Read at most this many bytes of pickled
            data. Defaults to None (no limit: meant for a file that
            :func:`torch.load` has just read whole).

    Returns:
        set[str]: The byte-order characters found.
    """
    return _scan_file(filename, max_bytes, None)[1]
