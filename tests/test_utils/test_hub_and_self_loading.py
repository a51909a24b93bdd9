# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The loaders that bypassed the safe ones: PyTorch's hub loader and
MMEngine's ``load_from_pavi`` / ``load_from_ceph`` called by name.

``torch.hub.load_state_dict_from_url`` loads with ``weights_only=False``
by default and takes a file already in the hub cache without downloading
it. torchvision's pretrained weights (behind mmaction2's ``torchvision.``
backbones) reach it under their own imported names: a file planted at
``$TORCH_HOME/hub/checkpoints/resnet18-f37072fd.pth`` ran its payload
when ``tools/train.py`` built such a config. ``load_from_pavi`` and
``load_from_ceph`` call :func:`torch.load` with PyTorch's default, which
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` turns off. Real files, a real
payload (a marker file), the real tools and Runner; nothing is
downloaded.
"""
import os
import os.path as osp
import shutil
import sys
import types

import pytest
import torch
from config_writers import config_runner, video_data_cfg, write_config
from file_server import CodePayload
from repo_paths import TINY_VIDEO_CONFIG
from tool_runners import run_tool

import mmadaptformer  # noqa: F401
from mmadaptformer.utils import CheckpointLoadError

#: torchvision's address for ResNet-18's weights; its cache name.
RESNET18 = 'https://download.pytorch.org/models/resnet18-f37072fd.pth'
#: An mmaction2 recognizer on a torchvision ResNet-18 with its pretrained
#: weights (``pretrained=True`` is torchvision's legacy spelling).
TORCHVISION_MODEL = (
    "model = dict(_delete_=True, type='Recognizer2D', "
    "backbone=dict(type='torchvision.resnet18', pretrained=True), "
    "cls_head=dict(type='TSNHead', num_classes=2, in_channels=512, "
    "average_clips='prob'), data_preprocessor=dict("
    "type='ActionDataPreprocessor', format_shape='NCHW'))\n")


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh torch hub cache; its ``checkpoints`` folder exists."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    folder = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    folder.mkdir(parents=True)
    return folder


def _plant(folder, name, marker):
    torch.save({'state_dict': {}, 'meta': CodePayload(marker)}, folder / name)


def _hub_references():
    import torch.utils.model_zoo as model_zoo
    import torchvision._internally_replaced_utils as tv_utils
    import torchvision.models._api as tv_api
    return {
        'torch.hub.load_state_dict_from_url':
        lambda: torch.hub.load_state_dict_from_url,
        'torch.utils.model_zoo.load_url':
        lambda: model_zoo.load_url,
        'torchvision._internally_replaced_utils.load_state_dict_from_url':
        lambda: tv_utils.load_state_dict_from_url,
        'torchvision.models._api.load_state_dict_from_url':
        lambda: tv_api.load_state_dict_from_url,
    }


@pytest.mark.parametrize('name', sorted(_hub_references()))
def test_a_payload_planted_in_the_hub_cache_is_refused(tmp_path, hub, name):
    """Before: PyTorch's function, under each of these names, loaded the
    planted file with weights_only=False and ran its payload."""
    marker = tmp_path / 'PAYLOAD_RAN'
    _plant(hub, 'weights.pth', marker)
    url = 'http://127.0.0.1:9/models/weights.pth'
    with pytest.raises(CheckpointLoadError) as error:
        _hub_references()[name]()(url, map_location='cpu')
    assert 'posix.system' in str(error.value), str(error.value)
    assert 'weights_only=False' not in str(error.value)
    assert not marker.exists(), 'the payload ran'
    # Renamed, so that a later plain torch.load cannot pick it up.
    assert not (hub / 'weights.pth').exists()


def test_no_module_of_the_stack_keeps_pytorchs_hub_loader():
    """Every reference the stack imported by name is the safe one."""
    from mmadaptformer.utils.direct_loaders import HUB_USERS, safe_load_url
    kept = [
        f'{name}.{attr}' for name, module in list(sys.modules.items())
        if module is not None and name.partition('.')[0] in HUB_USERS
        for attr, value in list(vars(module).items())
        if isinstance(value, types.FunctionType) and value.__module__ ==
        'torch.hub' and value.__name__ == 'load_state_dict_from_url'
    ]
    assert kept == []
    assert torch.hub.load_state_dict_from_url is safe_load_url


def test_torchvision_pretrained_weights_refuse_a_planted_file(tmp_path, hub):
    """torchvision's own call (``check_hash=True`` checks only downloads):
    the planted file ran its payload; now its name's hash refuses it."""
    from torchvision.models import ResNet18_Weights
    marker = tmp_path / 'PAYLOAD_RAN'
    _plant(hub, osp.basename(RESNET18), marker)
    with pytest.raises(CheckpointLoadError, match='f37072fd'):
        ResNet18_Weights.IMAGENET1K_V1.get_state_dict(
            progress=False, check_hash=True)
    assert not marker.exists(), 'the payload ran'


def test_a_runner_with_a_torchvision_backbone_refuses_a_planted_file(
        tmp_path, hub):
    marker = tmp_path / 'PAYLOAD_RAN'
    _plant(hub, osp.basename(RESNET18), marker)
    with pytest.raises(CheckpointLoadError, match='resnet18-f37072fd.pth'):
        config_runner(tmp_path, TINY_VIDEO_CONFIG, TORCHVISION_MODEL)
    assert not marker.exists(), 'the payload ran'


def test_train_with_a_torchvision_backbone_refuses_a_planted_file(
        tmp_path, hub, tiny_video_data):
    """``tools/train.py`` as a user runs it (before: the payload ran while
    the model was built, then the load failed on the missing keys)."""
    marker = tmp_path / 'PAYLOAD_RAN'
    _plant(hub, osp.basename(RESNET18), marker)
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data) + TORCHVISION_MODEL)
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'work'],
                    cwd=tmp_path,
                    env=dict(TORCH_HOME=os.environ['TORCH_HOME']),
                    check=False)
    assert proc.returncode != 0
    assert 'CheckpointLoadError' in proc.stdout, proc.stdout[-3000:]
    assert RESNET18 in proc.stdout, proc.stdout[-3000:]
    assert not marker.exists(), 'the payload ran'


def test_timms_call_and_a_benign_planted_file_still_load(tmp_path, hub):
    """Guards kept behaviour: a file of tensors found in the cache loads
    (with a warning, since nothing vouches for it), called as timm's
    ``load_pretrained`` calls the hub loader (``weights_only=True``,
    ``model_dir``) and as torchvision does."""
    torch.save({'w': torch.ones(2)}, hub / 'benign.pth')
    url = 'http://127.0.0.1:9/models/benign.pth'
    loaded = torch.hub.load_state_dict_from_url(
        url,
        map_location='cpu',
        progress=False,
        check_hash=False,
        weights_only=True,
        model_dir=str(hub))
    assert torch.equal(loaded['w'], torch.ones(2))
    assert torch.equal(
        torch.hub.load_state_dict_from_url(url, progress=True)['w'],
        torch.ones(2))


@pytest.fixture
def unforced(monkeypatch):
    """The PyTorch 2.6 workaround users keep in their shells."""
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    monkeypatch.delenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', raising=False)


def test_load_from_ceph_by_name_is_forced(tmp_path, unforced):
    """Before: ``load_from_ceph`` (here with MMEngine's local backend, as
    with any ``petrel`` backend a user registers) ran the payload under
    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1."""
    import mmengine.runner.checkpoint as checkpoint
    marker = tmp_path / 'PAYLOAD_RAN'
    _plant(tmp_path, 'evil.pth', marker)
    with pytest.raises(CheckpointLoadError, match='posix.system'):
        checkpoint.load_from_ceph(str(tmp_path / 'evil.pth'), 'cpu', 'local')
    assert not marker.exists(), 'the payload ran'
    torch.save({'w': torch.ones(2)}, tmp_path / 'good.pth')
    good = checkpoint.load_from_ceph(
        str(tmp_path / 'good.pth'), backend='local')
    assert torch.equal(good['w'], torch.ones(2))
    assert os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] == '1'


def test_load_from_pavi_by_name_is_forced(tmp_path, unforced, monkeypatch):
    """Before: ``load_from_pavi`` ran the payload of the file its client
    downloaded (a stand-in ``pavi`` client here; it is not installed)."""
    import mmengine.runner.checkpoint as checkpoint
    marker = tmp_path / 'PAYLOAD_RAN'
    _plant(tmp_path, 'evil.pth', marker)

    class Model:
        name = 'evil.pth'

        def download(self, destination):
            shutil.copy(tmp_path / 'evil.pth', destination)

    pavi = types.ModuleType('pavi')
    pavi.modelcloud = types.SimpleNamespace(get=lambda path: Model())
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    with pytest.raises(CheckpointLoadError) as error:
        checkpoint.load_from_pavi('pavi://run/evil.pth')
    assert 'pavi://run/evil.pth' in str(error.value)
    assert 'posix.system' in str(error.value)
    assert not marker.exists(), 'the payload ran'


def test_guarding_again_wraps_nothing_twice():
    """Guards idempotency: a second call leaves every binding as it is."""
    import mmengine.runner.checkpoint as checkpoint

    from mmadaptformer.utils.direct_loaders import guard_direct_loaders
    before = (checkpoint.load_from_pavi, checkpoint.load_from_ceph,
              torch.hub.load_state_dict_from_url)
    guard_direct_loaders()
    assert (checkpoint.load_from_pavi, checkpoint.load_from_ceph,
            torch.hub.load_state_dict_from_url) == before
    assert checkpoint.load_from_ceph.__wrapped__.__module__ == \
        'mmengine.runner.checkpoint'
