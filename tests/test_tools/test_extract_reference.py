# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which pretrained backbone ``extract_adapters.py`` compares with when a
merged checkpoint records several.

Guard of kept behaviour (mutation audit of 2026-12-05, helper E): the code
passes; taking one of several recorded backbones (``if sources:`` for
``if len(sources) == 1:``) would compare the frozen tensors with an
arbitrary one of them, and no other test fails on it.
"""
import argparse

from mmengine.config import Config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_modules import load_tool

from mmadaptformer.engine.adapter_checkpoint import HOST_SOURCES_META_KEY


def _reference(meta):
    tool = load_tool('model_converters/extract_adapters.py')
    args = argparse.Namespace(
        pretrained=None, config=TINY_ADAPTFORMER_VIDEO_CONFIG)
    return tool.reference_backbone(
        args, meta, Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG))


def test_one_recorded_backbone_is_compared_with(tmp_path):
    one = tmp_path / 'one.pth'
    one.write_bytes(b'')
    meta = {HOST_SOURCES_META_KEY: {'backbone': str(one)}}
    assert _reference(meta) == (str(one), None, False)


def test_several_recorded_backbones_are_none_to_compare_with(tmp_path):
    files = [tmp_path / 'a.pth', tmp_path / 'b.pth']
    for file in files:
        file.write_bytes(b'')
    meta = {
        HOST_SOURCES_META_KEY: {
            'backbone': str(files[0]),
            'backbone.other': str(files[1])
        }
    }
    path, why, configs_own = _reference(meta)
    assert path is None or configs_own, (path, why)
    assert path is not None or why.startswith(
        'it records no pretrained backbone, and ')
