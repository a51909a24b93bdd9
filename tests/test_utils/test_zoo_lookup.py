# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The safe loaders of the model-zoo schemes look their names up with
:mod:`mmadaptformer.utils.zoo_names`, the lookup the output checks use.

Guards of kept behaviour: before the two lookups were made one, the loaders
had their own copy of it; these tests pin what the loaders did then (a name
in no table refused by name without any network access, a deprecated name
followed with a warning, a local ``open_mmlab.json`` entry read from
MMEngine's home) and that the loaders read what :func:`zoo_target` names.
"""
import json
import logging
import socket

import pytest
import torch
from file_server import serving
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as zoo

from mmadaptformer.utils.zoo_names import (mmengine_home, zoo_address,
                                           zoo_target)


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """A fresh hub cache and MMEngine home; returns the home."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    (tmp_path / 'mmengine_home').mkdir()
    return tmp_path / 'mmengine_home'


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails the test (a trip wire: nothing is
    served in place of the network)."""

    def refuse(sock, address):
        pytest.fail(f'a connection to {address} was attempted')

    monkeypatch.setattr(socket.socket, 'connect', refuse)


@pytest.fixture
def served(tmp_path):
    """A benign checkpoint served on 127.0.0.1; yields its address."""
    root = tmp_path / 'served'
    root.mkdir()
    torch.save({'state_dict': {'backbone.w': torch.ones(2)}}, root / 'w.pth')
    with serving(root) as httpd:
        yield f'{httpd.url}/w.pth'


def test_mmengine_home_follows_mmengine(homes, monkeypatch, tmp_path):
    """Guard: the one definition finds the folder MMEngine's loader
    reads ``open_mmlab.json`` from, with and without ``$MMENGINE_HOME``."""
    assert mmengine_home() == str(homes)
    monkeypatch.delenv('MMENGINE_HOME')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert mmengine_home() == str(tmp_path / 'xdg' / 'mmengine')
    assert mmengine_home() == zoo._get_mmengine_home()


@pytest.mark.parametrize('scheme, table', [
    ('torchvision://', zoo.get_torchvision_models),
    ('modelzoo://', zoo.get_torchvision_models),
    ('open-mmlab://', zoo.get_external_models),
    ('openmmlab://', zoo.get_external_models),
    ('mmcls://', zoo.get_mmcls_models),
])
def test_a_name_in_no_table_is_refused_by_name_offline(homes, no_network,
                                                       scheme, table):
    """Guard: the load names the scheme, the table's size and examples,
    and nothing is asked of the network or kept in the cache."""
    entries = table()
    expected = (f'{scheme}no_such_model names no known checkpoint; the '
                f'{scheme} table has {len(entries)} entries, e.g. '
                f'{sorted(entries)[:5]}.')
    with pytest.raises(KeyError) as info:
        CheckpointLoader.load_checkpoint(scheme + 'no_such_model')
    assert info.value.args == (expected, )
    with pytest.raises(KeyError) as info:
        zoo_address(scheme + 'no_such_model')
    assert info.value.args == (expected, )
    assert zoo_target(scheme + 'no_such_model') is None
    assert not (homes.parent / 'torch_home').exists()


def test_a_deprecated_name_is_followed_with_a_warning(homes, served,
                                                      log_records):
    """Guard: ``open-mmlab://resnet50_caffe`` loads what the table holds
    for ``detectron/resnet50_caffe`` (here, in the user's table, the
    local server's file) and says so; the output check's lookup does not
    warn."""
    (homes / 'open_mmlab.json').write_text(
        json.dumps({'detectron/resnet50_caffe': served}))
    assert zoo_target('open-mmlab://resnet50_caffe') == served
    assert not log_records
    checkpoint = CheckpointLoader.load_checkpoint(
        'open-mmlab://resnet50_caffe')
    assert torch.equal(checkpoint['state_dict']['backbone.w'], torch.ones(2))
    warnings = [
        r.getMessage() for r in log_records if r.levelno >= logging.WARNING
    ]
    assert warnings == [
        'open-mmlab://resnet50_caffe is deprecated in favor of '
        'open-mmlab://detectron/resnet50_caffe'
    ], warnings


def test_a_deprecated_name_missing_from_the_table_names_its_new_name(
        homes, monkeypatch, no_network):
    """Guard: the refusal names the name the deprecated one stands for."""
    monkeypatch.setattr(zoo, 'get_external_models', lambda: {'a': 'a.pth'})
    with pytest.raises(KeyError) as info:
        CheckpointLoader.load_checkpoint('openmmlab://resnet50_caffe')
    assert info.value.args == (
        'openmmlab://detectron/resnet50_caffe names no known checkpoint; '
        "the openmmlab:// table has 1 entries, e.g. ['a'].", )


def test_each_loader_reads_what_zoo_target_names(homes, served, monkeypatch):
    """Guard: an address for every scheme, and the file under MMEngine's
    home for an ``open_mmlab.json`` entry that is not an address; the
    ``mmcls://`` loader keeps the backbone's keys without the prefix."""
    local = homes / 'sub' / 'local.pth'
    local.parent.mkdir()
    torch.save({'state_dict': {'w': torch.full((2, ), 3.)}}, local)
    (homes / 'open_mmlab.json').write_text(
        json.dumps({
            'remote': served,
            'local': 'sub/local.pth'
        }))
    table = {'remote': served}
    monkeypatch.setattr(zoo, 'get_torchvision_models', lambda: table)
    monkeypatch.setattr(zoo, 'get_mmcls_models', lambda: table)
    for scheme in ('torchvision://', 'modelzoo://', 'open-mmlab://',
                   'openmmlab://', 'mmcls://'):
        assert zoo_target(scheme + 'remote') == served
        checkpoint = CheckpointLoader.load_checkpoint(scheme + 'remote')
        key = 'w' if scheme == 'mmcls://' else 'backbone.w'
        assert torch.equal(checkpoint['state_dict'][key], torch.ones(2))
    for scheme in ('open-mmlab://', 'openmmlab://'):
        assert zoo_target(scheme + 'local') == str(local)
        checkpoint = CheckpointLoader.load_checkpoint(scheme + 'local')
        assert torch.equal(checkpoint['state_dict']['w'], torch.full((2, ),
                                                                     3.))


def test_zoo_address_refuses_a_path_with_no_zoo_scheme():
    with pytest.raises(
            ValueError,
            match='^https://x/y.pth has none of the '
            'model-zoo schemes torchvision://, '):
        zoo_address('https://x/y.pth')


def test_the_modelzoo_scheme_warns_as_mmengines_loader_does(
        homes, no_network, log_records):
    """``modelzoo://`` is MMEngine's deprecated spelling of
    ``torchvision://``: its loader warns so, and ours did not (the load
    of ``modelzoo://resnet18`` went silently); the output check's lookup
    still does not warn."""
    message = ('The URL scheme of "modelzoo://" is deprecated, please use '
               '"torchvision://" instead')
    assert zoo_target('modelzoo://resnet18') == zoo_address(
        'torchvision://resnet18')
    assert not log_records
    assert zoo_address('modelzoo://resnet18') == zoo_address(
        'torchvision://resnet18')
    warnings = [
        r.getMessage() for r in log_records if r.levelno >= logging.WARNING
    ]
    assert warnings == [message], warnings
