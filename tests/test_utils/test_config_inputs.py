# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The files and addresses a config reads, found as its loaders find them,
so that an output over one of them is refused: the bases MMEngine follows
(:mod:`~mmadaptformer.utils.config_inheritance`), the ``classes`` file
where mmpretrain reads it, the label maps next to an ``ann_file`` and the
checkpoint addresses and model-zoo names."""
import json

import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope

from mmadaptformer.utils.config_inputs import (config_addresses,
                                               config_file_problem,
                                               config_named_files)


@pytest.mark.parametrize('kind, read',
                         [('CustomDataset', 'names.txt'),
                          ('CheckedImageDataset', 'data/names.txt')])
def test_classes_are_named_where_the_dataset_reads_them(
        tmp_path, monkeypatch, kind, read):
    """The premise: mmpretrain's datasets read a ``classes`` file as
    given, ours (``CheckedImageDataset``) under ``data_root``; both join
    ``ann_file`` to it. ``classes`` was joined for every dataset, so
    ``--out names.txt`` over the file mmpretrain's ``CustomDataset`` reads
    was let through."""
    import mmadaptformer.datasets  # noqa: F401 (registers ours)
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'val.txt').write_text('a.png 0\n')
    (tmp_path / 'names.txt').write_text('left\nright\n')
    (tmp_path / 'data' / 'names.txt').write_text('up\ndown\n')
    dataset = dict(
        type=kind,
        data_root='data',
        ann_file='val.txt',
        classes='names.txt',
        pipeline=[])
    init_default_scope('mmpretrain')
    built = DATASETS.build(dict(dataset, lazy_init=True))
    assert built.CLASSES == (('left', 'right') if read == 'names.txt' else
                             ('up', 'down'))
    assert built.ann_file == 'data/val.txt'
    cfg = Config(dict(test_dataloader=dict(dataset=dataset)))
    key = 'test_dataloader.dataset.classes' + ('' if read == 'names.txt' else
                                               ' (under data_root)')
    assert config_named_files(cfg) == [
        ('test_dataloader.dataset.ann_file (under data_root)', 'data/val.txt'),
        (key, read),
    ]
    assert config_file_problem(read, '--out', 'c.py', cfg) == (
        f'--out {read} is {key} of the config c.py; it would be overwritten. '
        'Give another file.')
    # The file of that name that the dataset does not read may be written.
    other = 'names.txt' if read != 'names.txt' else 'data/names.txt'
    assert config_file_problem(other, '--out', 'c.py', cfg) is None


def test_an_absolute_ann_file_is_not_named_under_data_root(tmp_path):
    """A guard of kept behaviour: MMEngine joins only a relative
    ``ann_file`` to ``data_root``."""
    ann_file = tmp_path / 'val.txt'
    ann_file.write_text('')
    cfg = Config(
        dict(
            val_dataloader=dict(
                dataset=dict(data_root='data', ann_file=str(ann_file)))))
    assert config_named_files(cfg) == [('val_dataloader.dataset.ann_file',
                                        str(ann_file))]
    assert config_file_problem(str(ann_file), '--out', 'c.py', cfg) == (
        f'--out {ann_file} is val_dataloader.dataset.ann_file of the config '
        'c.py; it would be overwritten. Give another file.')


def test_the_label_maps_next_to_an_ann_file_are_named(tmp_path):
    """A guard of kept behaviour: ``tools/data/*`` write
    ``<dataset>_label_map.txt`` next to the lists; ``tools/infer.py`` reads
    it."""
    data = tmp_path / 'data'
    data.mkdir()
    for name in ('val.txt', 'sthv2_label_map.txt', 'label_map.json'):
        (data / name).write_text('')
    cfg = Config(
        dict(
            test_dataloader=dict(
                dataset=dict(data_root=str(data), ann_file='val.txt'))))
    label_map = str(data / 'sthv2_label_map.txt')
    assert config_named_files(cfg) == [
        ('test_dataloader.dataset.ann_file (under data_root)',
         str(data / 'val.txt')),
        ('the label map next to test_dataloader.dataset.ann_file', label_map),
    ]
    assert config_file_problem(label_map, '--out', 'c.py', cfg) == (
        f'--out {label_map} is the label map next to '
        'test_dataloader.dataset.ann_file of the config c.py; it would be '
        'overwritten. Give another file.')


def test_checkpoint_addresses_and_zoo_names_are_found():
    """A guard of kept behaviour: ``http://`` as well as ``https://``; an
    address under another key is no checkpoint the load downloads."""
    cfg = Config(
        dict(
            load_from='http://127.0.0.1:9/start.pth',
            model=dict(
                backbone=dict(
                    init_cfg=dict(checkpoint='torchvision://resnet18'))),
            test_dataloader=dict(
                dataset=dict(ann_file='https://127.0.0.1:9/val.txt'))))
    assert config_addresses(cfg) == [
        ('load_from', 'http://127.0.0.1:9/start.pth'),
        ('model.backbone.init_cfg.checkpoint', 'torchvision://resnet18'),
    ]


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """A fresh hub cache and MMEngine home."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    (tmp_path / 'mmengine_home').mkdir()
    return tmp_path


def test_an_http_checkpoints_download_place_is_refused(homes):
    """A guard of kept behaviour: not downloaded yet: the output would be
    taken for the download."""
    cached = homes / 'torch_home' / 'hub' / 'checkpoints' / 'start.pth'
    cfg = Config(dict(load_from='http://127.0.0.1:9/start.pth'))
    problem = config_file_problem(str(cached), '--out', 'c.py', cfg)
    assert problem.startswith(
        f'--out {cached} is where the download cache puts its copy of '
        'http://127.0.0.1:9/start.pth'), problem


def test_the_file_a_zoo_name_stands_for_is_refused(homes):
    """A guard of kept behaviour: an ``open-mmlab://`` entry of the user's
    table that is a file."""
    home = homes / 'mmengine_home'
    (home / 'open_mmlab.json').write_text(json.dumps(dict(mine='w.pth')))
    (home / 'w.pth').write_bytes(b'weights')
    cfg = Config(dict(load_from='open-mmlab://mine'))
    problem = config_file_problem(str(home / 'w.pth'), '--out', 'c.py', cfg)
    assert problem == (
        f'--out {home / "w.pth"} is the file open-mmlab://mine stands for '
        f'({home / "w.pth"}, in {home / "open_mmlab.json"}); it would be '
        'overwritten. Give another file.')
