# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/data/cifar100/check_cifar100.py and
mmadaptformer.datasets.cifar100.

The fixture is a tiny ``cifar-100-python`` folder with pickles in the
owners' layout. Its md5s cannot be the owners', so the tool's success path
runs with mmpretrain's expected md5s patched to the fixture's.
"""
import hashlib
import pickle

import numpy as np
import pytest
from helpers import run_tool
from mmpretrain.datasets import CIFAR100

from mmadaptformer.datasets import AnnotationError
from mmadaptformer.datasets.cifar100 import verify_cifar100

TOOL = 'data/cifar100/check_cifar100.py'
FINE = {'train': [3, 99, 0, 42, 7, 3], 'test': [1, 0, 98, 5]}


def _data(split):
    rng = np.random.default_rng(len(FINE[split]))
    return rng.integers(0, 256, (len(FINE[split]), 3072), dtype=np.uint8)


def _write_pickle(path, split, fine):
    entry = {
        'filenames': [f'img_{i}.png' for i in range(len(fine))],
        'batch_label': f'{split}ing batch 1 of 1',
        'fine_labels': list(fine),
        'coarse_labels': [label // 5 for label in fine],
        'data': _data(split),
    }
    path.write_bytes(pickle.dumps(entry, protocol=2))
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def data_root(tmp_path):
    folder = tmp_path / 'cifar100' / 'cifar-100-python'
    folder.mkdir(parents=True)
    for split, fine in FINE.items():
        _write_pickle(folder / split, split, fine)
    return tmp_path / 'cifar100'


def _trust_fixture(monkeypatch, data_root):
    """Make mmpretrain expect the fixture's md5s."""
    for split in ('train', 'test'):
        md5 = hashlib.md5(
            (data_root / 'cifar-100-python' / split).read_bytes()).hexdigest()
        monkeypatch.setattr(CIFAR100, f'{split}_list', [[split, md5]])


def test_cli_names_the_file_whose_md5_mmpretrain_rejects(data_root, tmp_path):
    proc = run_tool([TOOL, data_root], cwd=tmp_path, check=False)
    assert proc.returncode == 1, proc.stdout
    train = data_root / 'cifar-100-python' / 'train'
    actual = hashlib.md5(train.read_bytes()).hexdigest()
    assert (f'error: {train}: md5 is {actual}, mmpretrain CIFAR100 expects '
            '16019d7e3df5f24257cddd939b257f8d; extract it again from '
            'cifar-100-python.tar.gz') in proc.stdout


def test_loads_offline_with_mmpretrain(data_root, monkeypatch):
    _trust_fixture(monkeypatch, data_root)
    assert verify_cifar100(str(data_root)) == {'train': 6, 'test': 4}
    assert verify_cifar100(str(data_root), ['test']) == {'test': 4}
    dataset = CIFAR100(data_root=str(data_root), split='test', download=False)
    assert dataset.get_gt_labels().tolist() == FINE['test']
    np.testing.assert_array_equal(
        dataset[2]['img'],
        _data('test')[2].reshape(3, 32, 32).transpose(1, 2, 0))


def test_missing_and_out_of_range(data_root, tmp_path, monkeypatch):
    with pytest.raises(
            FileNotFoundError,
            match=rf'^CIFAR-100 folder not found: {tmp_path}/cifar-100-python'
            rf' \(extract cifar-100-python.tar.gz into {tmp_path}\)$'):
        verify_cifar100(str(tmp_path))
    # mmpretrain itself says only this, whichever file is at fault.
    with pytest.raises(RuntimeError, match='Cannot find CIFAR100 dataset'):
        CIFAR100(data_root=str(tmp_path), split='train', download=False)

    test = data_root / 'cifar-100-python' / 'test'
    _write_pickle(test, 'test', [1, 100, 2, 3])
    _trust_fixture(monkeypatch, data_root)
    with pytest.raises(
            AnnotationError,
            match=rf'^{test}: labels span 1..100, expected 0..99$'):
        verify_cifar100(str(data_root))
    test.unlink()
    with pytest.raises(
            FileNotFoundError, match=rf'^CIFAR-100 file not found: {test}$'):
        verify_cifar100(str(data_root), ['train'])


@pytest.mark.parametrize('config', [
    'adaptformer_vitb_cifar100.py', 'baselines/full-finetune_vitb_cifar100.py',
    'baselines/linear-probe_vitb_cifar100.py',
    'baselines/vpt-deep_vitb_cifar100.py'
])
def test_recipes_feed_the_backbone_rgb(config, data_root, monkeypatch):
    """mmpretrain's CIFAR100 gives RGB arrays; the recipes inherited the
    MAE model's ``to_rgb=True`` (for images read as BGR by
    LoadImageFromFile), so a red image reached the backbone as blue."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS

    import mmadaptformer  # noqa: F401
    red = np.zeros((len(FINE['test']), 3072), dtype=np.uint8)
    red[:, :1024] = 255  # the owners' layout: 1024 R, then G, then B
    entry = pickle.loads(
        (data_root / 'cifar-100-python' / 'test').read_bytes())
    entry['data'] = red
    (data_root / 'cifar-100-python' / 'test').write_bytes(
        pickle.dumps(entry, protocol=2))
    _trust_fixture(monkeypatch, data_root)
    cfg = Config.fromfile(
        osp.join(osp.dirname(__file__), '..', '..', 'configs', config))
    init_default_scope('mmpretrain')
    dataset_cfg = dict(cfg.test_dataloader.dataset, data_root=str(data_root))
    dataset = DATASETS.build(dataset_cfg)
    preprocessor = MODELS.build(
        dict(type='ClsDataPreprocessor', **cfg.model.data_preprocessor))
    batch = preprocessor(
        dict(
            inputs=[dataset[0]['inputs']],
            data_samples=[dataset[0]['data_samples']]))
    means = batch['inputs'][0].mean(dim=(1, 2))
    # (255 - 123.675) / 58.395, (0 - 116.28) / 57.12, (0 - 103.53) / 57.375
    np.testing.assert_allclose(
        means.numpy(), [2.2489, -2.0357, -1.8044], atol=1e-3)
