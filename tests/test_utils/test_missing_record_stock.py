# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint whose record (``meta['adapter_checkpoint']``)
is missing altogether, given with a stock config (a model without
adapters), is named as such: its state dict still holds the frozen
backbone's record that only adapter-only checkpoints carry.

Before, ``tools/test.py``, ``tools/infer.py``, ``init_model`` and
MMEngine's ``load_checkpoint`` took it for a checkpoint "probably saved
from another architecture (other depth, embed dims or number of classes)".
"""
import copy

import pytest
import torch
from adapter_only_files import built_with_adapter_only
from config_writers import image_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG, TINY_IMAGE_CONFIG
from tool_runners import run_tool

from mmadaptformer.engine import ADAPTER_META_KEY, CheckpointMetaError

RECORD = 'backbone.frozen_host_fingerprints'


def _said(path: str, lacks: str) -> str:
    return (f'{path} {lacks}, but its state dict holds {RECORD}, the '
            'record of the frozen backbone that adapter-only checkpoints '
            'carry: it is an adapter-only checkpoint whose record is '
            'missing')


@pytest.fixture(scope='module')
def stripped(tmp_path_factory):
    """The tiny AdaptFormer image config's adapter-only checkpoint, saved
    with a meta without the record (``meta``), and as its state dict alone
    (``bare``)."""
    root = tmp_path_factory.mktemp('missing_record')
    _, _, checkpoint = built_with_adapter_only(TINY_ADAPTFORMER_IMAGE_CONFIG)
    assert RECORD in checkpoint['state_dict']
    meta = copy.deepcopy(checkpoint)
    del meta['meta'][ADAPTER_META_KEY]
    paths = dict(meta=str(root / 'meta.pth'), bare=str(root / 'bare.pth'))
    torch.save(meta, paths['meta'])
    torch.save(checkpoint['state_dict'], paths['bare'])
    return paths


@pytest.mark.parametrize('name,lacks', [
    ('meta', f"has no meta['{ADAPTER_META_KEY}'] record"),
    ('bare', 'has no meta'),
])
def test_load_checkpoint_on_a_stock_model_names_the_missing_record(
        stripped, name, lacks, clean_loggers):
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint
    init_default_scope('mmpretrain')
    model = MODELS.build(Config.fromfile(TINY_IMAGE_CONFIG).model)
    path = stripped[name]
    with pytest.raises(CheckpointMetaError) as info:
        load_checkpoint(model, path, map_location='cpu')
    text = str(info.value)
    assert text.startswith(_said(path, lacks)), text
    assert 'the model ImageClassifier has no adapters or prompts' in text
    assert 'another architecture' not in text


def test_init_model_with_a_stock_config_names_the_missing_record(
        stripped, clean_loggers):
    from mmadaptformer.apis import init_model
    path = stripped['meta']
    with pytest.raises(CheckpointMetaError) as info:
        init_model(TINY_IMAGE_CONFIG, path, device='cpu')
    text = str(info.value)
    assert _said(f'{path} (config {TINY_IMAGE_CONFIG})',
                 f"has no meta['{ADAPTER_META_KEY}'] record") in text, text
    assert 'another architecture' not in text


def test_tools_test_with_a_stock_config_names_the_missing_record(
        stripped, tiny_image_data, tmp_path):
    config = write_config(tmp_path / 'stock.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    path = stripped['meta']
    proc = run_tool(['test.py', config, path, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc)
    assert line.startswith(
        'CheckpointMetaError: ' +
        _said(path, f"has no meta['{ADAPTER_META_KEY}'] record")), line
    assert line.endswith('Nothing of it was loaded.'), line
