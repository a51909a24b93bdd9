# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The numpy dtype guard and the opcode scan, against files a pickle can
write but numpy and torch.save never do."""
import io
import os
import pickle
import threading
import warnings
import zipfile

import numpy as np
import pytest
import torch
from numpy._core.multiarray import _reconstruct

import mmadaptformer  # noqa: F401  (registers the package's allow-list)
from mmadaptformer.utils import CheckpointLoadError, safe_torch_load
from mmadaptformer.utils.pickle_scan import scan_file_globals


class _Reduce:
    """Pickles as ``reduce`` (func, args[, state]) as given."""

    def __init__(self, *reduce):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


class _Payload:
    """Pickles as ``os.system('true')``; never run here."""

    def __reduce__(self):
        return (os.system, ('true', ))


def test_a_dtype_code_with_a_byte_order_cannot_take_a_layout(tmp_path):
    """Guards against accepting any numeric dtype code in numpy.dtype (the
    check that the dtype is numpy's shared one dropped): '>f8' is a fresh
    dtype, whose __setstate__ takes a sub-array larger than the buffer."""
    foreign = '>' if np.little_endian else '<'
    f8 = _Reduce(np.dtype, ('f8', False, True))
    # numpy's dtype state: a 2**20-item sub-array over an 8-byte item.
    state = (3, '|', (f8, (1 << 20, )), None, None, -1, -1, 0)
    dtype = _Reduce(np.dtype, (f'{foreign}f8', False, True), state)
    array = _Reduce(_reconstruct, (np.ndarray, (0, ), b'b'),
                    (1, (1, ), dtype, False, b'A' * 8))
    path = str(tmp_path / 'layout.pth')
    torch.save({'meta': {'x': array}}, path)
    # Refused before the array is built; a load would not touch its data.
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(path)
    detail = str(err.value)
    assert detail.startswith(f'Refused to load checkpoint {path}: Refused '
                             f"numpy dtype '{foreign}f8'"), detail
    assert '(in native byte order)' in detail


def _archive_with_two_data_records(path, first, second):
    """A torch.save archive whose ``data.pkl`` is written twice."""
    buffer = io.BytesIO()
    torch.save({'w': torch.zeros(1)}, buffer)
    with zipfile.ZipFile(buffer) as archive:
        records = [(i.filename, archive.read(i)) for i in archive.infolist()]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # zipfile: 'Duplicate name'
        with zipfile.ZipFile(path, 'w') as out:
            for name, data in records:
                if name.endswith('/data.pkl'):
                    out.writestr(name, first)
                    out.writestr(name, second)
                else:
                    out.writestr(name, data)


def test_a_data_record_written_twice_is_scanned_where_torch_reads_it(tmp_path):
    """Guards against scanning only the first of two records of one name:
    PyTorch unpickles the last one."""
    benign = pickle.dumps({'w': 1}, protocol=2)
    evil = pickle.dumps({'x': _Payload()}, protocol=2)
    path = str(tmp_path / 'twice.pth')
    _archive_with_two_data_records(path, benign, evil)
    assert scan_file_globals(path, only_disallowed=True) == ['posix.system']
    try:
        safe_torch_load(path)
    except CheckpointLoadError as e:
        assert 'posix.system' in str(e), str(e)
    else:
        raise AssertionError(f'{path} loaded')


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    """Guards against dropping the regular-file check before torch.load:
    opening a FIFO then blocks until something writes to it (the suite
    hung rather than failed)."""
    fifo = str(tmp_path / 'fifo.pth')
    os.mkfifo(fifo)
    outcome = []

    def load():
        try:
            safe_torch_load(fifo)
        except BaseException as e:  # noqa: B902 -- checked below
            outcome.append(e)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(20)
    if thread.is_alive():
        # Let the blocked reader go: a writer that closes at once.
        with open(fifo, 'wb'):
            pass
        thread.join(20)
        raise AssertionError(f'safe_torch_load opened the FIFO {fifo}')
    assert len(outcome) == 1 and isinstance(outcome[0], CheckpointLoadError)
    assert str(outcome[0]).startswith(
        f'Checkpoint {fifo} is not a regular file (it is a FIFO')


class _TensorMethod:
    """Pickles as ``getattr(torch.Tensor, 'max')``: a statistics method's
    name, on an allow-listed class other than HistoryBuffer."""

    def __reduce__(self):
        return (getattr, (torch.Tensor, 'max'))


def test_getattr_resolves_statistics_names_on_history_buffer_only(tmp_path):
    """Guards against the getattr guard checking only the attribute's name,
    not that the object is HistoryBuffer."""
    path = str(tmp_path / 'tensor_method.pth')
    torch.save({'meta': {'x': _TensorMethod()}}, path)
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(path)
    text = str(err.value)
    assert "Refused getattr('Tensor', 'max')" in text, text
    assert 'mmengine.logging.HistoryBuffer' in text, text
