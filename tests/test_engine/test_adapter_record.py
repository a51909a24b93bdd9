# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The record of an adapter-only checkpoint (``meta['adapter_checkpoint']``):
one check of its layout where every reader passes, and the error of a
checkpoint whose adapters do not fit."""
import copy

import pytest
import torch
from adapter_only_files import built_with_adapter_only
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool, video_data_cfg,
                     write_config)
from refusal_lines import model_load_error, refused_line

from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


@pytest.fixture(scope='module')
def adapters(tmp_path_factory, tiny_video_data):
    """A tiny AdaptFormer config, its model and plan, and an adapter-only
    checkpoint of it as AdapterHook writes it."""
    from mmengine.logging import MessageHub, MMLogger
    root = tmp_path_factory.mktemp('adapter_record')
    config = write_config(root / 'adapters.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    model, plan, checkpoint = built_with_adapter_only(config)
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    return dict(
        root=root,
        config=config,
        model=model,
        plan=plan,
        checkpoint=checkpoint,
        video=tiny_video_data['videos'])


def _without_an_adapter(adapters):
    """Without an adapter tensor in its state dict and its record: of
    another adapter configuration. (One that its record lists is a file
    edited after it was written, see test_record_outcomes_q.py.)"""
    checkpoint = copy.deepcopy(adapters['checkpoint'])
    key = 'backbone.blocks.0.adaptmlp.up_proj.bias'
    del checkpoint['state_dict'][key]
    info = checkpoint['meta'][ADAPTER_META_KEY]
    info['saved_keys'] = [k for k in info['saved_keys'] if k != key]
    return checkpoint


def test_the_error_says_the_mode_only_where_it_differs(adapters):
    from mmadaptformer.engine import complete_adapter_checkpoint
    checkpoint = _without_an_adapter(adapters)
    with pytest.raises(StateDictMismatchError) as info:
        complete_adapter_checkpoint(adapters['model'], checkpoint,
                                    adapters['plan'], 'a.pth')
    text = str(info.value)
    assert '1 missing trainable key ' \
        "['backbone.blocks.0.adaptmlp.up_proj.bias']" in text, text
    assert text.endswith('Was it trained with another adapter '
                         'configuration? Use the config it was trained '
                         'with.'), text
    checkpoint['meta'][ADAPTER_META_KEY]['mode'] = 'linear_probe'
    with pytest.raises(StateDictMismatchError) as info:
        complete_adapter_checkpoint(adapters['model'], checkpoint,
                                    adapters['plan'], 'a.pth')
    assert 'another adapter configuration or AdapterHook mode (checkpoint: ' \
        "'linear_probe', now: 'adaptformer')?" in str(info.value)


#: Records that are not one, as a damaged or foreign file may hold them.
BAD_RECORDS = dict(
    string='adapters',
    empty={},
    saved_keys_string=dict(saved_keys='backbone', frozen_digest='0' * 64),
    saved_keys_ints=dict(saved_keys=[1, 2], frozen_digest='0' * 64),
    no_digest=dict(saved_keys=['cls_head.fc_cls.weight']))


def _bad(adapters, record, name):
    checkpoint = copy.deepcopy(adapters['checkpoint'])
    checkpoint['meta'][ADAPTER_META_KEY] = record
    path = str(adapters['root'] / f'{name}.pth')
    torch.save(checkpoint, path)
    return checkpoint, path


def _assert_names_the_record(text, path):
    assert text.startswith(
        f"{path}: its meta['{ADAPTER_META_KEY}'] is not the record an "
        'adapter-only checkpoint carries (a dict with saved_keys and '
        'frozen_digest), but '), text
    assert '\n' not in text


@pytest.mark.parametrize('name', list(BAD_RECORDS))
def test_a_record_that_is_not_one_is_named_by_every_reader(
        adapters, name, clean_loggers):
    from mmadaptformer.apis import check_adapter_checkpoint, init_model
    from mmadaptformer.engine import complete_adapter_checkpoint
    checkpoint, path = _bad(adapters, BAD_RECORDS[name], name)
    with pytest.raises(StateDictMismatchError) as info:
        complete_adapter_checkpoint(adapters['model'], checkpoint,
                                    adapters['plan'], path)
    _assert_names_the_record(str(info.value), path)
    with pytest.raises(StateDictMismatchError) as info:
        check_adapter_checkpoint(adapters['model'], checkpoint, path)
    _assert_names_the_record(str(info.value), path)
    with pytest.raises(StateDictMismatchError) as info:
        init_model(adapters['config'], path)
    _assert_names_the_record(str(info.value), path)


def test_a_meta_that_is_not_a_dict_is_named_by_the_api(adapters,
                                                       clean_loggers):
    from mmadaptformer.apis import check_adapter_checkpoint
    checkpoint = dict(adapters['checkpoint'], meta=['adapter_checkpoint'])
    with pytest.raises(
            StateDictMismatchError,
            match=r"^a.pth: its 'meta' is a list, not a dict."):
        check_adapter_checkpoint(adapters['model'], checkpoint, 'a.pth')


def test_tools_name_a_record_that_is_not_one_on_one_line(adapters, tmp_path):
    _, path = _bad(adapters, 'adapters', 'tools')
    proc = run_tool(
        ['test.py', adapters['config'], path, '--work-dir', tmp_path / 'w'],
        cwd=tmp_path,
        check=False)
    line = refused_line(proc)
    # A problem of the file's meta, named as such.
    assert line.startswith('CheckpointMetaError: '), line
    _assert_names_the_record(line[len('CheckpointMetaError: '):], path)
    proc = run_tool(['infer.py', adapters['config'], path, adapters['video']],
                    cwd=tmp_path,
                    check=False)
    line = model_load_error(proc)
    assert line.startswith(
        f'model adapters: ERROR {path}: CheckpointMetaError: {path}: '
        f"its meta['{ADAPTER_META_KEY}'] is not the record"), line
    assert '\n' not in line, line
