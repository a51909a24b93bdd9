# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A stock backbone-only file (no adapters, no head) given to evaluate an
AdaptFormer config.

``tools/test.py`` refused it with AdapterHook's "holds none of the model's
8 adapter tensors ... a checkpoint of a model without these adapters:
evaluate it with its own config", which said nothing of the missing head
and sent the user to a stock config that has no head to evaluate either.
The one refusal now names both parts and their keys, calls the file a
backbone and says to give it to tools/train.py as --pretrained;
``init_model`` says the same."""
import re

import pytest
from config_writers import video_data_cfg, write_config
from headless_checkpoints import converted_stock_backbone
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _refusal(source: str) -> str:
    return (f"{source} holds neither the model's 8 adapter tensors (e.g. "
            'backbone.blocks.0.adaptmlp.down_proj.weight) nor its head '
            '(cls_head.*) tensors (4 missing: cls_head.fc_cls.weight, '
            'cls_head.fc_cls.bias, cls_head.bn.running_mean, '
            'cls_head.bn.running_var): the adapters and the head are '
            'missing. It is a backbone checkpoint')


def test_test_py_names_the_adapters_and_the_head(tmp_path, tiny_video_data):
    converted = converted_stock_backbone(tmp_path)
    config = write_config(tmp_path / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool(
        ['test.py', config, converted, '--work-dir', tmp_path / 'work'],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Epoch(test)'])
    assert line.startswith('StateDictMismatchError: ' +
                           _refusal(converted)), line
    assert ('To train the adapters and the head on this backbone, give the '
            'file to tools/train.py as --pretrained') in line, line
    assert 'evaluate it with its own config' not in line, line


def test_init_model_names_the_adapters_and_the_head(tmp_path, tiny_video_data,
                                                    clean_loggers):
    from mmadaptformer.apis import init_model
    converted = converted_stock_backbone(tmp_path)
    config = write_config(tmp_path / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    with pytest.raises(
            StateDictMismatchError,
            match=re.escape(_refusal(f'{converted} (config {config})')) +
            '.*give the file to tools/train.py as --pretrained'):
        init_model(config, converted)
