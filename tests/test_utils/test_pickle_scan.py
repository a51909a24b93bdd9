# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The opcode scan reads what torch.load reads, boundedly, and knows
PyTorch's own allow-list."""
import collections
import io
import os
import pickle
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch

import mmadaptformer  # noqa: F401  (registers the package's allow-list)
from mmadaptformer.utils.allowed_globals import is_allowed_global
from mmadaptformer.utils.checkpoint_loading import register_safe_globals
from mmadaptformer.utils.pickle_scan import (PickleScanLimitError,
                                             numpy_byte_orders,
                                             scan_file_globals,
                                             scan_pickle_globals)


class _Payload:
    """Pickles as ``os.system('true')``; never run here."""

    def __reduce__(self):
        return (os.system, ('true', ))


def _archive(path, records, first=None):
    """Write a zip archive of ``records`` {name: bytes}, in order, after
    ``first`` (name, bytes) if given."""
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as out:
        if first is not None:
            out.writestr(*first)
        for name, data in records.items():
            out.writestr(name, data)


def _torch_records(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {
            info.filename: archive.read(info)
            for info in archive.infolist()
        }


def test_zip_scan_reads_only_the_pickle_torch_reads(tmp_path):
    """PyTorch unpickles ``<folder>/data.pkl`` alone; code in other records
    (never run by torch.load) is no reason to call the file code."""
    records = _torch_records({'w': torch.zeros(1)})
    folder = next(iter(records)).split('/')[0]
    payload = pickle.dumps(_Payload(), protocol=2)
    records[f'{folder}/zz.pkl'] = payload
    records[f'{folder}/constants.pkl'] = payload
    benign = str(tmp_path / 'benign.pth')
    _archive(benign, records)
    assert scan_file_globals(benign, only_disallowed=True) == []
    assert 'torch._utils._rebuild_tensor_v2' in scan_file_globals(benign)

    records[f'{folder}/data.pkl'] = payload
    evil = str(tmp_path / 'evil.pth')
    _archive(evil, records)
    assert scan_file_globals(evil, only_disallowed=True) == ['posix.system']

    # PyTorch finds its folder from the first entry, as here 'other/'.
    elsewhere = str(tmp_path / 'elsewhere.pth')
    _archive(elsewhere, records, first=('other/readme', b'x'))
    assert scan_file_globals(elsewhere) == []
    _archive(elsewhere, {'other/data.pkl': payload}, first=('other/x', b''))
    assert scan_file_globals(elsewhere) == ['posix.system']


def test_inflating_record_is_never_read(tmp_path):
    records = _torch_records({'w': torch.zeros(1)})
    folder = next(iter(records)).split('/')[0]
    records[f'{folder}/data.pkl'] = b'\x80\x02'  # truncated
    path = str(tmp_path / 'bomb.pth')
    _archive(path, records)
    with zipfile.ZipFile(path, 'a', zipfile.ZIP_DEFLATED) as out:
        with out.open(f'{folder}/zz.pkl', 'w') as record:
            chunk = bytes(1 << 20)
            for _ in range(64):
                record.write(chunk)
    assert os.path.getsize(path) < 1 << 20
    tracemalloc.start()
    try:
        assert scan_file_globals(path) == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak


def test_scan_stops_at_the_byte_limit_and_says_where(tmp_path):
    """data.pkl is streamed: a 32 MiB string is neither inflated whole nor
    read past the limit."""
    length = 32 << 20
    records = _torch_records({'w': torch.zeros(1)})
    folder = next(iter(records)).split('/')[0]
    del records[f'{folder}/data.pkl']
    path = str(tmp_path / 'long.pth')
    _archive(path, records)
    with zipfile.ZipFile(path, 'a', zipfile.ZIP_DEFLATED) as out:
        with out.open(f'{folder}/data.pkl', 'w') as record:
            record.write(b'\x80\x02X' + length.to_bytes(4, 'little'))
            for _ in range(length >> 20):
                record.write(b'a' * (1 << 20))
            record.write(b'.')
    tracemalloc.start()
    try:
        with pytest.raises(PickleScanLimitError) as err:
            scan_file_globals(path, max_bytes=1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak
    assert str(err.value).startswith(
        f'Stopped reading {path} (record {folder}/data.pkl) after 1048576 '
        f'bytes of pickled data')
    # Within the limit, the same file scans to its end.
    assert scan_file_globals(path, max_bytes=None) == []


def test_scan_stops_at_the_opcode_limit():
    data = b'\x80\x02' + b'N' * 1000 + b'.'
    with pytest.raises(PickleScanLimitError, match='after 100 opcodes'):
        scan_pickle_globals(data, max_opcodes=100)
    assert scan_pickle_globals(data) == []


def test_legacy_file_is_scanned_as_far_as_torch_reads(tmp_path):
    """torch.load unpickles five pickles from a legacy file; bytes after
    them are storage data, whatever they look like."""
    payload = pickle.dumps(_Payload(), protocol=2)
    benign = [pickle.dumps(i, protocol=2) for i in range(5)]
    path = str(tmp_path / 'legacy.pth')
    with open(path, 'wb') as f:
        f.write(b''.join(benign) + payload)
    assert scan_file_globals(path) == []
    with open(path, 'wb') as f:
        f.write(b''.join(benign[:3]) + payload + benign[4])
    assert scan_file_globals(path) == ['posix.system']


@pytest.mark.parametrize('name', [
    '_codecs.encode', 'builtins.set', 'builtins.bytearray', 'builtins.complex',
    'collections.Counter', 'collections.OrderedDict',
    'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter',
    'torch.FloatStorage', 'torch.Size', 'numpy.dtype', 'numpy.ndarray',
    'numpy._core.multiarray.scalar', 'builtins.getattr',
    'mmengine.logging.history_buffer.HistoryBuffer'
])
def test_allowed_globals_are_pytorchs_and_ours(name):
    register_safe_globals()
    assert is_allowed_global(name)


@pytest.mark.parametrize('name', [
    'posix.system', 'os.system', 'builtins.eval', 'builtins.getattr.x',
    'torch.storage._load_from_bytes', 'torch.load', 'collections.abc.Callable',
    'numpy.dtypes.StrDType', 'numpy.dtypes.ObjectDType'
])
def test_other_globals_are_not_allowed(name):
    register_safe_globals()
    assert not is_allowed_global(name)


def test_protocol_2_names_are_read_as_pytorch_reads_them():
    """Protocol 2 (torch.save's) writes ``__builtin__.set``; PyTorch and
    the scan read ``builtins.set``."""
    data = pickle.dumps({'s': {1, 2}, 'b': bytearray(b'x')}, protocol=2)
    found = scan_pickle_globals(data)
    assert found == ['builtins.set', 'builtins.bytearray', '_codecs.encode']
    assert all(is_allowed_global(name) for name in found)


def test_numpy_byte_orders_are_read_from_the_opcodes(tmp_path):
    """The second dtype reuses the memoized ``numpy.dtype`` global."""
    native = '<' if np.little_endian else '>'
    foreign = '>' if np.little_endian else '<'
    path = str(tmp_path / 'orders.pth')
    torch.save(
        {
            'a': np.arange(3.),
            'b': np.arange(3).astype(f'{foreign}i4'),
            'c': np.arange(3, dtype='u1')
        }, path)
    assert numpy_byte_orders(path) == {native, foreign, '|'}
    torch.save({'a': np.arange(3.), 'b': np.float32(1)}, path)
    assert numpy_byte_orders(path) == {native}


def test_special_file_is_not_opened(tmp_path):
    fifo = str(tmp_path / 'fifo.pth')
    os.mkfifo(fifo)
    result = []
    thread = threading.Thread(
        target=lambda: result.append(scan_file_globals(fifo)), daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():
        # Let the blocked reader go before failing.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert result == [[]]
    assert scan_file_globals(str(tmp_path)) == []


@pytest.mark.parametrize('protocol', [4, 5])
def test_stack_global_names_are_read_module_first(protocol):
    """Protocols 4 and 5 name a global with STACK_GLOBAL, which takes the
    module and then the name from the stack (a scan that swapped them would
    read ``system.posix``, which is allowed nowhere but is not what loads);
    the memoized strings of a second use are followed too."""
    data = pickle.dumps(
        [_Payload(), _Payload(),
         collections.OrderedDict()], protocol=protocol)
    assert scan_pickle_globals(data) == [
        f'{os.name}.system', 'collections.OrderedDict'
    ]
    assert not is_allowed_global(f'{os.name}.system')
