# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The model zoo's metadata says what its configs do.

Guards of kept behaviour: the metafiles' fields (classes, epochs, batch size,
learning rate, split, paper-labelled metrics) against the config files,
``configs/README.md``'s table against the metafiles, and every config that a
metafile or a config README names builds (a ViT-B at one block, for speed).
The parameter and FLOP counts themselves come from
``tools/analysis_tools/get_flops.py``; tests/test_configs/test_model_zoo.py
checks that they add up.
"""
import copy
import os
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import CONFIGS, REPO_ROOT

# The classes of each dataset the metafiles name as training data.
CLASSES = {
    'Something-Something V2': 174,
    'HMDB51 (split 1)': 51,
    'CIFAR-100': 100,
    'SVHN': 10,
    'Food-101': 101,
}
CONFIG_READMES = [
    'configs/README.md', 'configs/baselines/README.md',
    'configs/tiny/README.md', 'configs/demo/README.md'
]
CONFIG_PATH = re.compile(r'(?<![\w./<*-])[\w./-]+\.py(?![\w])')
LINK = re.compile(r'\]\(([^)#\s]+)\)')


def _models():
    with open(osp.join(REPO_ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    models = []
    for path in index['Import']:
        with open(osp.join(REPO_ROOT, path)) as f:
            models += yaml.safe_load(f)['Models']
    return models


def _head(cfg):
    return cfg.model.get('cls_head') or cfg.model.head


@pytest.mark.parametrize('model', _models(), ids=lambda m: m['Name'])
def test_metafile_fields_are_the_configs(model):
    cfg = Config.fromfile(osp.join(REPO_ROOT, model['Config']))
    meta = model['Metadata']
    name = model['Name']
    assert _head(cfg).num_classes == CLASSES[meta['Training Data']], name
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        if 'num_classes' in dataset:
            assert dataset.num_classes == _head(cfg).num_classes, name
    assert meta['Epochs'] == cfg.train_cfg.max_epochs, name
    # The recipes' total batch: 8 GPUs, auto_scale_lr's base batch, and
    # the lr of the rule 0.1 x batch / 256 at that batch.
    assert meta['Batch Size'] == cfg.auto_scale_lr.base_batch_size, name
    assert meta['Batch Size'] == 8 * cfg.train_dataloader.batch_size, name
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(
        0.1 * meta['Batch Size'] / 256), name
    if meta['Training Data'].startswith('HMDB51'):
        for split in ('train', 'val', 'test'):
            ann = cfg[f'{split}_dataloader'].dataset.ann_file
            assert '_split_1_' in ann, (name, ann)
    # No result of ours yet: every metric is the paper's, and says so.
    for result in model.get('Results', []):
        assert result['Dataset'] == meta['Training Data'], name
        for metric in result['Metrics']:
            assert metric.endswith('(paper)'), (name, metric)


def _readme_table():
    """{config path: row} of configs/README.md's results table."""
    with open(osp.join(CONFIGS, 'README.md'), encoding='utf-8') as f:
        lines = [line for line in f if line.startswith('| ')]
    header = [c.strip() for c in lines[0].strip('|\n').split('|')]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip('|\n').split('|')]
        row = dict(zip(header, cells))
        link = re.fullmatch(r'\[`[^`]+`\]\(([^)]+)\)', row['config'])
        assert link, f'configs/README.md: config cell {row["config"]!r}'
        rows[f'configs/{link.group(1)}'] = row
    return rows


def test_readme_table_is_the_metafiles():
    rows = _readme_table()
    models = _models()
    assert sorted(rows) == sorted(m['Config'] for m in models)
    for model in models:
        row, meta = rows[model['Config']], model['Metadata']
        where = f'configs/README.md, row of {model["Config"]}'
        assert row['task'] == meta['Training Data'], where
        assert row['method'] == meta['Method'], where
        trainable = meta['Trainable Parameters']
        assert row['trainable params'] == f'{trainable:,}', where
        assert row['total params'] == f'{meta["Parameters"]:,}', where
        # The metafiles count multiply-adds; the table get_flops' FLOPs.
        assert row['GFLOPs / view'] == f'{2 * meta["FLOPs"] / 1e9:.1f}', where
        share = 100 * trainable / meta['Parameters']
        assert row['trainable share'] == f'{share:.2f}%', where
        paper = [
            value for result in model.get('Results', [])
            for value in result['Metrics'].values()
        ]
        top1 = f'{paper[0]:.2f}' if paper else '-'
        assert row['top-1 (paper)'] == top1, where


def _named_configs():
    """Every config file a metafile or a config README names: in a link or
    a code span, from the repository root (``configs/...``) or from the
    README's folder; outputs (``work_dirs/``) and tools aside."""
    names = {m['Config'] for m in _models()}
    tools = {
        f
        for _, _, files in os.walk(osp.join(REPO_ROOT, 'tools')) for f in files
    }
    for readme in CONFIG_READMES:
        folder = osp.dirname(readme)
        with open(osp.join(REPO_ROOT, readme), encoding='utf-8') as f:
            text = f.read()
        spans = re.findall(r'`([^`]+)`', text) + LINK.findall(text)
        for path in (p for span in spans for p in CONFIG_PATH.findall(span)):
            if path.startswith('configs/'):
                names.add(path)
            elif not path.startswith(('work_dirs/', 'tools/')) and \
                    osp.basename(path) not in tools:
                names.add(osp.normpath(osp.join(folder, path)))
    return sorted(names)


def test_the_readmes_name_configs_that_exist():
    named = _named_configs()
    assert 'configs/tiny/tiny_adaptformer_rawframes.py' in named
    assert 'configs/baselines/vpt-deep_vitb_food101.py' in named
    missing = [n for n in named if not osp.isfile(osp.join(REPO_ROOT, n))]
    assert not missing


@pytest.mark.parametrize('name',
                         [n for n in _named_configs() if '/_base_/' not in n])
def test_smoke_every_named_config_builds(name):
    """A smoke test: the config loads and its model builds."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, name))
    init_default_scope(cfg.default_scope)
    model_cfg = copy.deepcopy(cfg.model)
    backbone = model_cfg.backbone
    stock = backbone.backbone if 'backbone' in backbone else backbone
    stock.init_cfg = None  # no pretrained file here
    if stock.get('embed_dims', stock.get('arch')) in (768, 'b', 'base'):
        # ViT-B as written, but one block at 32 px: same types, same
        # arguments, a fraction of the time.
        stock.update(img_size=32)
        if 'depth' in stock:  # mmaction2's VisionTransformer
            stock.update(depth=1)
        else:  # mmpretrain's, by arch name
            stock.update(
                arch=dict(
                    embed_dims=768,
                    num_layers=1,
                    num_heads=12,
                    feedforward_channels=3072))
    MODELS.build(model_cfg)
