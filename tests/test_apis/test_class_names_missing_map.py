# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A config that names its classes in a label map that is not here (the
recipes' relative ``data/...`` paths, on a machine that serves the model
without the dataset) used to give unnamed labels without a word: the
lines showed ``ssv2: 125 (0.0128)`` where the user expected class names."""
import os.path as osp

from helpers import CONFIGS


def _said(log_records):
    return [r.getMessage() for r in log_records]


def test_a_missing_label_map_the_config_names_is_warned_about(
        tmp_path, monkeypatch, log_records):
    """The real SSv2 recipe run from a folder without ``data/sthv2``, with
    a checkpoint that records no classes (a converted or synthetic one):
    the labels stay unnamed, and a warning names the file the test set
    names and the option that names the classes."""
    from mmengine.config import Config

    from mmadaptformer.apis import class_names
    cfg = Config.fromfile(osp.join(CONFIGS, 'adaptformer_vitb_ssv2.py'))
    monkeypatch.chdir(tmp_path)
    assert class_names(cfg, meta={}, num_classes=174) is None
    said = [m for m in _said(log_records) if 'sthv2_label_map.txt' in m]
    assert len(said) == 1, _said(log_records)
    assert 'data/sthv2/sthv2_label_map.txt' in said[0]
    assert 'not there' in said[0] and '--label-map' in said[0], said[0]


def test_names_found_elsewhere_or_from_the_checkpoint_give_no_warning(
        tmp_path, monkeypatch, log_records):
    """Guards kept behaviour: where the checkpoint records the classes, or
    the config names none, nothing is said about a label map."""
    from mmengine.config import Config

    from mmadaptformer.apis import class_names
    cfg = Config.fromfile(osp.join(CONFIGS, 'adaptformer_vitb_ssv2.py'))
    monkeypatch.chdir(tmp_path)
    meta = dict(dataset_meta=dict(classes=[f'c{i}' for i in range(174)]))
    assert class_names(cfg, meta=meta, num_classes=174)[:2] == ['c0', 'c1']
    assert class_names(Config(dict()), meta={}, num_classes=2) is None
    assert not [m for m in _said(log_records) if 'label map' in m]
