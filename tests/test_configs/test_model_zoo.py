# Copyright (c) mmadaptformer contributors. All rights reserved.
"""model-index.yml and the metafiles: every model names a config that
exists, and its recorded counts add up."""
import os.path as osp

import yaml
from helpers import CONFIGS

REPO = osp.dirname(CONFIGS)
# ViT-B/16: 12 blocks of width 768; AdaptMLP bottleneck 64 (down + up).
ADAPTER_MACS_PER_TOKEN = 12 * 2 * 768 * 64
TOKENS = {'video': 8 // 2 * 14 * 14, 'image': 14 * 14 + 1}


def _models():
    index = yaml.safe_load(open(osp.join(REPO, 'model-index.yml')))
    models = {}
    for path in index['Import']:
        for model in yaml.safe_load(open(osp.join(REPO, path)))['Models']:
            models[model['Name']] = model
    return models


def test_every_model_has_a_config_and_counts():
    models = _models()
    assert len(models) == 20
    for name, model in models.items():
        assert osp.isfile(osp.join(REPO, model['Config'])), name
        assert osp.basename(model['Config']) == f'{name}.py'
        meta = model['Metadata']
        assert 0 < meta['Trainable Parameters'] <= meta['Parameters'], name
        assert meta['FLOPs'] > 0, name


def test_adapters_add_their_multiply_adds():
    models = _models()
    tasks = {
        'ssv2': 'video',
        'hmdb51': 'video',
        'cifar100': 'image',
        'svhn': 'image',
        'food101': 'image'
    }
    for task, kind in tasks.items():
        adaptformer = models[f'adaptformer_vitb_{task}']['Metadata']
        full = models[f'full-finetune_vitb_{task}']['Metadata']
        probe = models[f'linear-probe_vitb_{task}']['Metadata']
        assert adaptformer['FLOPs'] - full['FLOPs'] == \
            ADAPTER_MACS_PER_TOKEN * TOKENS[kind], task
        assert probe['FLOPs'] == full['FLOPs']
        # ViT-B/16 at 224²: 17.6 G multiply-adds, as DeiT's table gives it.
        if kind == 'image':
            assert round(full['FLOPs'] / 1e9, 1) == 17.6
