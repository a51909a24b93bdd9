# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine's checkpoint schemes, as this package registers them: what the
``weights_only`` switch does with a user's environment, and what
``mmcls://`` hands back. Files are served by a real HTTP server on
127.0.0.1."""
import os

import pytest
import torch
from checkpoint_makers import save_stock_image_checkpoint
from file_server import CodePayload, serving
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import CheckpointLoadError

_FORCE_NO = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh torch hub cache for each test."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


def test_a_users_force_no_weights_only_switch_neither_breaks_nor_weakens(
        tmp_path, hub, monkeypatch):
    """Guards against leaving TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD set inside
    forced_weights_only: PyTorch then fails every load ('Only one of ...
    should be set')."""
    # The PyTorch 2.6 workaround users put in their shell for older code.
    monkeypatch.setenv(_FORCE_NO, '1')
    marker = tmp_path / 'PAYLOAD_RAN'
    benign = tmp_path / 'benign.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, benign)
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': CodePayload(marker)}, evil)

    def careless_loader(filename, map_location=None):
        # A loader that leaves weights_only to the environment.
        return torch.load(
            tmp_path / filename[len('careless://'):],
            map_location=map_location)

    CheckpointLoader.register_scheme('careless://', careless_loader)
    try:
        for path in (str(benign), 'careless://benign.pth'):
            ckpt = CheckpointLoader.load_checkpoint(path)
            assert torch.equal(ckpt['state_dict']['w'], torch.ones(2)), path
        for path in (str(evil), 'careless://evil.pth'):
            with pytest.raises(CheckpointLoadError) as err:
                CheckpointLoader.load_checkpoint(path)
            assert 'system' in str(err.value), str(err.value)
            assert not marker.exists(), 'the payload ran'
    finally:
        CheckpointLoader._schemes.pop('careless://')
    # The user's setting is theirs again afterwards.
    assert os.environ[_FORCE_NO] == '1'
    assert 'TORCH_FORCE_WEIGHTS_ONLY_LOAD' not in os.environ


def test_mmcls_scheme_keeps_only_the_backbone_without_its_prefix(
        tmp_path, hub, monkeypatch):
    """Guards against load_from_mmcls keeping every key (cut by nine
    characters) instead of only the ``backbone.`` ones, as MMEngine's
    loader does."""
    import mmengine.runner.checkpoint as mmengine_checkpoint
    root = tmp_path / 'served'
    root.mkdir()
    state = save_stock_image_checkpoint(str(root / 'vit.pth'))
    assert any(not key.startswith('backbone.') for key in state)
    with serving(root) as httpd:
        monkeypatch.setattr(mmengine_checkpoint, 'get_mmcls_models',
                            lambda: {'vit': f'{httpd.url}/vit.pth'})
        ckpt = CheckpointLoader.load_checkpoint('mmcls://vit')
    expected = {
        key[len('backbone.'):]: value
        for key, value in state.items() if key.startswith('backbone.')
    }
    assert set(ckpt) == {'state_dict'}
    assert list(ckpt['state_dict']) == list(expected)
    for key, value in expected.items():
        assert torch.equal(ckpt['state_dict'][key], value), key
