# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The model check the tools make before the Runner
(:func:`~mmadaptformer.models.backbones.config_check.check_model_config`):
a backbone that is not a dict with a ``type``, the value of HiViT's
``out_indices`` the user wrote, and one build of a plain host.

``--cfg-options model.backbone=x`` ended, after the work dir was made, in
mmaction2's ``BaseRecognizer.__init__`` with ``TypeError: string indices
must be integers``; ``model.backbone.type=None`` with ``Unsupported type of
module``; ``model.backbone.backbone=x`` inside an AdaptFormer with the
wrapper's ``TypeError`` traceback.
"""
import pytest
from config_writers import video_data_cfg, write_config
from mmengine.config import Config
from mmengine.registry import MODELS
from refusal_lines import refused_line
from refused_runs import unread_checkpoint
from repo_paths import (CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG,
                        TINY_IMAGE_CONFIG)
from tool_runners import run_tool

from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils.config_error import ConfigError

#: What the refusal says a backbone must be.
EXPECTED = ('must be a dict (a backbone config) with a type, e.g. '
            "dict(type='VisionTransformer', ...), but got ")


@pytest.fixture(scope='module')
def video_config(tmp_path_factory, tiny_video_data):
    """The tiny AdaptFormer on the tiny videos, and a checkpoint file
    (empty: the runs are refused before it is read)."""
    tmp = tmp_path_factory.mktemp('backbone_types')
    config = write_config(tmp / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    return config, unread_checkpoint(tmp)


@pytest.mark.parametrize('tool, option, line', [
    ('test.py', 'model.backbone=x', "--cfg-options model.backbone='x': "
     f"model.backbone {EXPECTED}'x'."),
    ('train.py', 'model.backbone=x', "--cfg-options model.backbone='x': "
     f"model.backbone {EXPECTED}'x'."),
    ('train.py', 'model.backbone.backbone=x',
     "--cfg-options model.backbone.backbone='x': model.backbone.backbone "
     f"{EXPECTED}'x'."),
    ('test.py', 'model.backbone.type=None',
     '--cfg-options model.backbone.type=None: model.backbone '
     f'{EXPECTED}type=None.'),
])
def test_a_backbone_without_a_type_is_one_line_before_the_work_dir(
        tmp_path, video_config, tool, option, line):
    config, checkpoint = video_config
    args = [tool, config] + ([checkpoint] if tool == 'test.py' else [])
    proc = run_tool(
        args + ['--work-dir', tmp_path / 'w', '--cfg-options', option],
        cwd=tmp_path,
        check=False)
    assert refused_line(
        proc, absent=['TypeError'],
        no_dir=tmp_path / 'w') == f'ConfigError: {line}'


@pytest.mark.parametrize('inner', [False, True])
def test_a_backbone_dict_without_type_in_the_file_names_the_file(inner):
    cfg = Config.fromfile(
        TINY_ADAPTFORMER_VIDEO_CONFIG if inner else TINY_IMAGE_CONFIG)
    node = cfg.model.backbone.backbone if inner else cfg.model.backbone
    node.pop('type')
    key = 'model.backbone.backbone' if inner else 'model.backbone'
    with pytest.raises(ConfigError) as e:
        check_model_config(cfg, 'c.py', pretrained=False)
    assert str(e.value).startswith(
        f'c.py: {key} {EXPECTED}a dict without one (keys: '), e.value


def _plain_hivit(out_indices) -> Config:
    """The tiny image classifier on a plain HiViT, a 32-wide head."""
    cfg = Config.fromfile(f'{CONFIGS}/tiny/tiny_vit_image.py')
    cfg.model.backbone = dict(
        type='HiViT',
        arch=dict(embed_dims=32, depths=[1, 1, 10], num_heads=2),
        img_size=32,
        out_indices=out_indices)
    cfg.model.neck = dict(type='GlobalAveragePooling')
    cfg.model.head.in_channels = 32
    return cfg


def test_hivit_refusal_shows_the_out_indices_written():
    """It showed ``out_indices=[7, 9]``, the list after HiViT changed it in
    place, for a config that says ``[7, 23]``."""
    with pytest.raises(ConfigError) as e:
        check_model_config(_plain_hivit([7, 23]), 'c.py', pretrained=False)
    assert str(e.value).startswith(
        'c.py: model.backbone.arch.depths=[1, 1, 10] / '
        'model.backbone.out_indices=[7, 23] (HiViT makes it [7, 9]): '), e


@pytest.fixture
def counted_builds(monkeypatch):
    """The class names of the backbones MODELS builds (the real builds,
    counted when they succeed)."""
    built = []
    build = MODELS.build

    def counting(cfg, *args, **kwargs):
        module = build(cfg, *args, **kwargs)
        if type(module).__name__ in ('HiViT', 'VisionTransformer'):
            built.append(type(module).__name__)
        return module

    monkeypatch.setattr(MODELS, 'build', counting)
    return built


def test_a_plain_host_is_built_once(counted_builds):
    """Guard of kept cost: a plain host is built once (on the meta device)
    for the check that reads it: HiViT's output check, the head width of
    mmpretrain's ViT."""
    with pytest.raises(ConfigError, match='out_indices'):
        check_model_config(_plain_hivit([7, 23]), 'c.py', pretrained=False)
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.head.in_channels = 65
    with pytest.raises(ConfigError, match='in_channels=65'):
        check_model_config(cfg, 'c.py', pretrained=False)
    assert counted_builds == ['HiViT', 'VisionTransformer'], counted_builds


def test_a_plain_host_no_check_reads_is_not_built(counted_builds):
    """Guard of kept cost: a plain host with no output check, before a
    head that is not compared (no in_channels), is not built."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.model.head.pop('in_channels')
    check_model_config(cfg, 'c.py', pretrained=False)
    assert counted_builds == [], counted_builds
