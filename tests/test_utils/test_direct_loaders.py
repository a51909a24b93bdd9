# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine's loader functions, called by their names, load safely too.

``from mmengine.runner.checkpoint import load_from_http`` and
``mmengine.utils.dl_utils.load_url`` are public; after ``import
mmadaptformer`` they loaded a download with ``weights_only=False`` (the
payload of a checkpoint served on 127.0.0.1 ran) although
``CheckpointLoader`` used the safe loaders. A real HTTP server serves the
files.
"""
import os
import pickle

import pytest
import torch
from file_server import CodePayload, serving

import mmadaptformer  # noqa: F401
from mmadaptformer.utils import CheckpointLoadError


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp('served_by_name')
    marker = root / 'PAYLOAD_RAN'
    evil = {'state_dict': {'w': torch.zeros(1)}, 'meta': CodePayload(marker)}
    torch.save(evil, root / 'evil.pth')
    torch.save(
        evil, root / 'evil_legacy.pth', _use_new_zipfile_serialization=False)
    with open(root / 'evil_raw.pkl', 'wb') as f:
        pickle.dump(evil, f)
    torch.save({'state_dict': {'w': torch.ones(2)}}, root / 'good.pth')
    with serving(root) as httpd:
        yield dict(url=httpd.url, root=root, marker=marker)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


def _by_name():
    import mmengine.runner.checkpoint as checkpoint
    import mmengine.utils.dl_utils as dl_utils
    return {
        'runner.checkpoint.load_from_http':
        lambda url: checkpoint.load_from_http(url, map_location='cpu'),
        'runner.checkpoint.load_url':
        lambda url: checkpoint.load_url(url, map_location='cpu'),
        'utils.dl_utils.load_url':
        lambda url: dl_utils.load_url(url, map_location='cpu'),
    }


@pytest.mark.parametrize('loader', sorted(_by_name()))
@pytest.mark.parametrize('name',
                         ['evil.pth', 'evil_legacy.pth', 'evil_raw.pkl'])
def test_an_address_with_code_is_refused_by_name(server, hub, loader, name):
    url = f'{server["url"]}/{name}'
    with pytest.raises(CheckpointLoadError) as error:
        _by_name()[loader](url)
    text = str(error.value)
    assert url in text and 'posix.system' in text, text
    assert 'weights_only=False' not in text
    assert not server['marker'].exists(), 'the payload ran'
    # Not kept for a later load to find.
    assert not (hub / name).exists()


@pytest.mark.parametrize('loader', sorted(_by_name()))
def test_a_benign_address_loads_by_name(server, hub, loader):
    """Guards kept behaviour: a checkpoint of tensors still loads, and from
    the cache the second time."""
    url = f'{server["url"]}/good.pth'
    for _ in range(2):
        loaded = _by_name()[loader](url)
        assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    assert (hub / 'good.pth').is_file()


@pytest.mark.parametrize('name', ['evil.pth', 'evil_legacy.pth'])
def test_a_cache_name_of_its_own_keeps_weights_only(server, hub, name):
    """``file_name=`` (PyTorch's own cache name, as hubconfs and libraries
    pass it) was refused with a ValueError in any code of the process once
    the package had bound ``torch.hub.load_state_dict_from_url``; it loads
    through PyTorch's function now, with weights_only forced."""
    import torch.hub
    good = torch.hub.load_state_dict_from_url(
        f'{server["url"]}/good.pth', file_name='other.pth')
    assert torch.equal(good['state_dict']['w'], torch.ones(2))
    assert (hub / 'other.pth').is_file()
    with pytest.raises(CheckpointLoadError, match='posix.system'):
        torch.hub.load_state_dict_from_url(
            f'{server["url"]}/{name}', file_name=f'mine_{name}')
    assert not server['marker'].exists(), 'the payload ran'


def test_load_from_local_by_name_keeps_weights_only(server, monkeypatch):
    """MMEngine's load_from_local left weights_only to PyTorch's default,
    which TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD turns off: the payload ran."""
    from mmengine.runner.checkpoint import load_from_local
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    evil = str(server['root'] / 'evil_legacy.pth')
    with pytest.raises(CheckpointLoadError, match='posix.system'):
        load_from_local(evil, map_location='cpu')
    assert not server['marker'].exists(), 'the payload ran'
    good = load_from_local(str(server['root'] / 'good.pth'), None)
    assert torch.equal(good['state_dict']['w'], torch.ones(2))


def test_the_registered_loaders_are_the_named_ones():
    """``CheckpointLoader`` and the names agree, so no path keeps
    MMEngine's unsafe one."""
    import mmengine.runner.checkpoint as checkpoint
    from mmengine.runner import CheckpointLoader
    schemes = CheckpointLoader._schemes
    assert schemes['http://'] is checkpoint.load_from_http
    assert schemes[''] is checkpoint.load_from_local
    assert schemes['torchvision://'] is checkpoint.load_from_torchvision
    assert schemes['open-mmlab://'] is checkpoint.load_from_openmmlab
    assert schemes['mmcls://'] is checkpoint.load_from_mmcls
    assert os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD') is None
