# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``extra_trainable`` that trains the whole backbone is named in a
warning: ``extra_trainable=['backbone']`` was full fine-tuning, and only
the parameter table's 100% said so."""
import glob
import os.path as osp

import pytest
from block_builders import TINY_IMAGE_VIT
from mmengine.config import Config
from mmengine.runner import Runner
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG
from torch import nn

from mmadaptformer.models import AdaptFormer
from mmadaptformer.models.adapters import plan_trainable, whole_backbone_extras
from mmadaptformer.testing import make_stripes_dataset

VIT = TINY_IMAGE_VIT


class _Classifier(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = AdaptFormer(backbone=VIT)
        self.head = nn.Linear(32, 2)


@pytest.mark.parametrize('extras, warned', [
    (['backbone'], True),
    (['.'], True),
    ([r'^backbone\.ln1\.'], False),
    ([r'^backbone\.layers\.'], False),
    ([], False),
])
def test_whole_backbone_extras(extras, warned):
    model = _Classifier()
    plan = plan_trainable(model, extra_trainable=extras)
    warning = whole_backbone_extras(model, plan, extras, 'AdapterHook')
    if not warned:
        assert warning is None
        return
    own = sum(p.numel() for n, p in model.backbone.named_parameters()
              if 'adaptmlp' not in n)
    assert warning.startswith(
        f'AdapterHook extra_trainable={extras!r} makes every backbone '
        f'parameter trainable ({own:,} parameters): this run is full '
        'fine-tuning')


def test_runner_logs_the_warning(clean_loggers, tmp_path):
    root = str(tmp_path / 'data')
    make_stripes_dataset(root)
    config = tmp_path / 'cfg.py'
    config.write_text(
        f'_base_ = [{TINY_ADAPTFORMER_IMAGE_CONFIG!r}]\n'
        "custom_hooks = [dict(type='AdapterHook', "
        "extra_trainable=['backbone'], allow_random_backbone=True)]\n" +
        ''.join(f'{loader} = dict(dataset=dict(data_root={root!r}))\n'
                for loader in ('train_dataloader', 'val_dataloader',
                               'test_dataloader')) +
        'train_cfg = dict(max_epochs=1)\n'
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n')
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(tmp_path / 'work')
    Runner.from_cfg(cfg).train()
    log, = glob.glob(osp.join(cfg.work_dir, '*', '*.log'))
    with open(log) as f:
        lines = [line for line in f if 'makes every backbone' in line]
    assert len(lines) == 1
    assert 'WARNING' in lines[0]
    assert f"{config}: custom_hooks[0].extra_trainable = ['backbone']: " \
        "AdapterHook extra_trainable=['backbone'] makes every" in lines[0]


def test_the_models_layer_names_no_hook_of_its_own():
    """The warning names what applies the plan only as its caller says
    (the engine's AdapterHook passes its own name): kept wording, with the
    models layer free of the engine's."""
    model = _Classifier()
    plan = plan_trainable(model, extra_trainable=['backbone'])
    warning = whole_backbone_extras(model, plan, ['backbone'])
    assert warning.startswith("extra_trainable=['backbone'] makes every")
    assert 'AdapterHook' not in warning
    assert 'to fine-tune the whole model, set default_hooks.config_check=' \
        in warning
