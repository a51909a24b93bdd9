# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What :class:`~mmadaptformer.utils.atomic_file.AtomicFile` makes durable,
and when: the data before the rename, the rename itself after it. The real
``os.fsync`` runs; a spy notes what each call synced."""
import os
import stat

import torch

from mmadaptformer.utils.atomic_file import atomic_write
from mmadaptformer.utils.atomic_save import atomic_torch_save


def test_the_data_then_the_rename_are_synced(tmp_path, monkeypatch):
    """Guards against dropping the folder's fsync after the rename (a crash
    could then bring back the old file, or no file, under the name), and
    against syncing the file before its buffer is flushed."""
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old')
    real_fsync = os.fsync
    synced = []

    def spy(fd):
        info = os.fstat(fd)
        synced.append(
            dict(
                folder=stat.S_ISDIR(info.st_mode),
                size=info.st_size,
                target_replaced=target.read_bytes() != b'old'))
        return real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', spy)
    size = atomic_torch_save({'w': torch.ones(3)}, target)
    files = [call for call in synced if not call['folder']]
    folders = [call for call in synced if call['folder']]
    # The whole temporary file, before it takes the name.
    assert [c['size'] for c in files] == [size], synced
    assert not files[0]['target_replaced']
    # Then the rename, in the target's folder.
    assert folders and all(c['target_replaced'] for c in folders), synced
    assert synced.index(folders[0]) > synced.index(files[0])

    # A write smaller than the file's buffer: flushed before it is synced.
    synced.clear()
    target.write_bytes(b'old')
    atomic_write(b'x' * 100, target)
    assert [c['size'] for c in synced if not c['folder']] == [100], synced
