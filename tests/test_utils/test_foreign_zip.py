# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A zip archive that torch.save did not write is named as such, not as a
damaged checkpoint (it read "is truncated or corrupted and cannot be
read")."""
import pickle
import zipfile

import numpy as np
import pytest
import torch
from file_server import CodePayload

from mmadaptformer.utils import CheckpointLoadError, safe_torch_load


def test_a_zip_of_other_files_is_named_and_nothing_is_unpickled(tmp_path):
    marker = tmp_path / 'ran'
    path = tmp_path / 'model.pth'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('readme.txt', 'weights inside')
        archive.writestr('model.pkl', pickle.dumps(CodePayload(marker)))
    with pytest.raises(CheckpointLoadError) as error:
        safe_torch_load(str(path))
    text = str(error.value)
    assert str(path) in text
    assert 'a zip archive that torch.save did not write (it holds ' \
        'readme.txt, model.pkl, no <folder>/data.pkl record)' in text
    assert 'truncated' not in text
    assert not marker.exists()


def test_an_npz_is_named(tmp_path):
    path = tmp_path / 'weights.npz'
    np.savez(path, w=np.zeros(2))
    with pytest.raises(CheckpointLoadError, match='NumPy writes such .npz'):
        safe_torch_load(str(path))


def test_torch_archives_keep_their_messages(tmp_path):
    """Guards kept behaviour: code in a torch.save archive is refused as
    code, a cut archive as damage, a whole one loads."""
    marker = tmp_path / 'ran'
    evil = tmp_path / 'evil.pth'
    torch.save({'meta': CodePayload(marker)}, evil)
    with pytest.raises(CheckpointLoadError, match='posix.system'):
        safe_torch_load(str(evil))
    good = tmp_path / 'good.pth'
    torch.save({'w': torch.ones(1)}, good)
    assert torch.equal(safe_torch_load(str(good))['w'], torch.ones(1))
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointLoadError, match='truncated or corrupted'):
        safe_torch_load(str(cut))
    assert not marker.exists()
