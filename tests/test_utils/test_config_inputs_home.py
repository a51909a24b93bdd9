# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``~`` in the files a config names, read as their readers read them:
mmpretrain's datasets (and ours) expand it in ``ann_file`` and ``classes``,
the checkpoint loaders in ``load_from`` and ``init_cfg.checkpoint``;
mmaction2's datasets do not (``ann_file='~/val.txt'`` is a file in a
folder named ``~``). An output over the file read is refused; one over the
file of that name that is not read is not."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG

from mmadaptformer.apis.label_maps import config_class_names
from mmadaptformer.utils.checkpoint_loading import safe_torch_load
from mmadaptformer.utils.config_inputs import (config_file_problem,
                                               config_named_files)
from mmadaptformer.utils.pretrained_backbone import config_backbone_file


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder (``HOME``) with ``names.txt`` and ``val.txt``, and a
    working folder with ``data/`` and a folder named ``~`` holding files
    of the same names; returns the home folder."""
    folder = tmp_path / 'home'
    folder.mkdir()
    monkeypatch.setenv('HOME', str(folder))
    work = tmp_path / 'work'
    (work / 'data' / '~').mkdir(parents=True)
    (work / '~').mkdir()
    monkeypatch.chdir(work)
    (folder / 'names.txt').write_text('left\nright\n')
    (folder / 'val.txt').write_text('a.png 0\n')
    for place in (work / '~', work / 'data' / '~'):
        (place / 'names.txt').write_text('up\ndown\n')
        (place / 'val.txt').write_text('b.png 1\n')
    return folder


@pytest.mark.parametrize('kind', ['CustomDataset', 'CheckedImageDataset'])
def test_mmpretrain_datasets_read_home_files_and_they_are_named(home, kind):
    """``~/names.txt`` and ``~/val.txt`` were named as given (and
    ``ann_file`` under ``data_root``), so ``--out ~/names.txt`` replaced
    the class names the dataset reads; ``CheckedImageDataset`` opened
    ``data_root/~/names.txt`` where its parent ``CustomDataset`` expands
    ``~``."""
    import mmadaptformer.datasets  # noqa: F401 (registers ours)
    dataset = dict(
        type=kind,
        data_root='data',
        ann_file='~/val.txt',
        classes='~/names.txt',
        pipeline=[])
    init_default_scope('mmpretrain')
    built = DATASETS.build(dict(dataset, lazy_init=True))
    assert built.ann_file == str(home / 'val.txt')
    assert built.CLASSES == ('left', 'right')
    cfg = Config(
        dict(
            default_scope='mmpretrain', test_dataloader=dict(dataset=dataset)))
    assert config_named_files(cfg) == [
        ('test_dataloader.dataset.ann_file', str(home / 'val.txt')),
        ('test_dataloader.dataset.classes', str(home / 'names.txt')),
    ]
    names = str(home / 'names.txt')
    assert config_file_problem(names, '--out', 'c.py', cfg) == (
        f'--out {names} is test_dataloader.dataset.classes of the config '
        'c.py; it would be overwritten. Give another file.')
    # The files in folders named ``~`` are read by no one.
    for other in ('~/names.txt', 'data/~/names.txt', 'data/~/val.txt'):
        assert config_file_problem(other, '--out', 'c.py', cfg) is None
    assert config_class_names(cfg) == ['left', 'right']


def test_mmaction_datasets_read_a_folder_named_tilde(home):
    """A guard of kept behaviour: MMEngine's ``BaseDataset``, hence
    mmaction2's ``VideoDataset``, does not expand ``~``: the ``ann_file``
    read is ``data_root/~/val.txt``, and ``--out ~/val.txt`` (the home
    file) is not refused."""
    dataset = dict(
        type='VideoDataset',
        data_root='data',
        ann_file='~/val.txt',
        pipeline=[])
    init_default_scope('mmaction')
    built = DATASETS.build(dict(dataset, lazy_init=True))
    assert built.ann_file == osp.join('data', '~', 'val.txt')
    cfg = Config(
        dict(default_scope='mmaction', test_dataloader=dict(dataset=dataset)))
    assert config_named_files(cfg) == [
        ('test_dataloader.dataset.ann_file (under data_root)',
         osp.join('data', '~', 'val.txt')),
    ]
    assert config_file_problem(str(home / 'val.txt'), '--out', 'c.py',
                               cfg) is None
    assert config_file_problem('data/~/val.txt', '--out', 'c.py',
                               cfg).startswith(
                                   '--out data/~/val.txt is test_dataloader.'
                                   'dataset.ann_file (under data_root) of')


def test_a_home_checkpoint_is_named_as_the_loaders_read_it(home):
    """``load_from='~/w.pth'`` was named as given, so ``--out ~/w.pth``
    replaced the checkpoint that the loaders (which expand ``~``) read."""
    torch.save(dict(state_dict=dict(w=torch.ones(1))), home / 'w.pth')
    assert safe_torch_load('~/w.pth')['state_dict']['w'].item() == 1
    cfg = Config(dict(load_from='~/w.pth'))
    assert config_named_files(cfg) == [('load_from', str(home / 'w.pth'))]
    out = str(home / 'w.pth')
    assert config_file_problem(
        out, '--out', 'c.py',
        cfg) == (f'--out {out} is load_from of the config c.py; it would be '
                 'overwritten. Give another file.')


def test_extract_compares_with_a_home_backbone(home):
    """``extract_adapters.py`` said that a config's ``~/stock.pth`` "is not
    there" and compared nothing, though training loads it."""
    (home / 'stock.pth').write_bytes(b'')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.model.backbone.backbone.init_cfg = dict(
        type='Pretrained', checkpoint='~/stock.pth', prefix='backbone.')
    assert config_backbone_file(cfg, 'c.py') == (str(home / 'stock.pth'), '')
