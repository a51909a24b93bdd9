# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint whose record (``meta['adapter_checkpoint']``)
is damaged, given with a stock config (a model without adapters), is named
as such.

Before, the check of MMEngine's loads into a model without adapters read
the file as adapter-only only by an intact record, so ``tools/test.py`` and
mmpretrain's ``get_model`` took it for a checkpoint "probably saved from
another architecture (other depth, embed dims or number of classes)", with
its adapter keys listed as unexpected; a ``saved_keys`` that is a string
was read letter by letter.
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

#: Damaged records, as a file edited or cut after it was written holds them.
DAMAGED = dict(
    string='garbled',
    empty={},
    saved_keys_string=dict(saved_keys='x', frozen_digest='0' * 64),
    digest_int=dict(saved_keys=['head.fc.weight'], frozen_digest=12))


def _said(path: str) -> str:
    return (f"{path}: its meta['{ADAPTER_META_KEY}'] is not the record an "
            'adapter-only checkpoint carries (a dict with saved_keys and '
            'frozen_digest), but ')


def _advice(model: str) -> str:
    return ('It is an adapter-only checkpoint whose record is damaged (the '
            'file was changed after it was written). Give the adapter-only '
            "checkpoint its training run wrote (its work dir's epoch_N.pth "
            'or best_*.pth), or extract one again from the full checkpoint '
            'with tools/model_converters/extract_adapters.py, and load it '
            "with the config it was trained with (the training run's work "
            f'dir keeps a copy of it): the model {model} has no adapters or '
            'prompts. Nothing of it was loaded.')


@pytest.fixture(scope='module')
def damaged(tmp_path_factory):
    """An adapter-only checkpoint of the tiny AdaptFormer image config,
    saved once per damaged record."""
    root = tmp_path_factory.mktemp('damaged_record')
    _, _, checkpoint = built_with_adapter_only(TINY_ADAPTFORMER_IMAGE_CONFIG)
    paths = {}
    for name, record in DAMAGED.items():
        bad = copy.deepcopy(checkpoint)
        bad['meta'][ADAPTER_META_KEY] = record
        paths[name] = str(root / f'{name}.pth')
        torch.save(bad, paths[name])
    return dict(root=root, paths=paths)


@pytest.mark.parametrize('name', list(DAMAGED))
def test_get_model_with_a_stock_config_names_the_damaged_record(
        damaged, name, clean_loggers):
    from mmpretrain.apis import get_model
    path = damaged['paths'][name]
    with pytest.raises(CheckpointMetaError) as info:
        get_model(TINY_IMAGE_CONFIG, pretrained=path, device='cpu')
    text = str(info.value)
    assert text.startswith(_said(path)), text
    assert text.endswith(_advice('ImageClassifier')), text
    assert 'another architecture' not in text


def test_tools_test_with_a_stock_config_names_the_damaged_record(
        damaged, tiny_image_data, tmp_path):
    config = write_config(tmp_path / 'stock.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    path = damaged['paths']['string']
    proc = run_tool(['test.py', config, path, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc)
    assert line == (f"CheckpointMetaError: {_said(path)}'garbled'. "
                    f'{_advice("ImageClassifier")}'), line
