# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A frozen backbone that nothing loads is refused by ``tools/train.py``
before the Runner makes the work dir (the AdapterHook's rule,
:func:`~mmadaptformer.engine.refuse_unloaded_backbone`, on the model built
without weights); a config that loads or resumes a checkpoint is left to
the hook, which knows once it loaded whether the backbone was in it."""
import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     run_tool, video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from refusal_lines import refused_line

from mmadaptformer.engine import (UnloadedBackboneError,
                                  refuse_unloaded_backbone)
from mmadaptformer.models.backbones.config_host import build_without_weights

UNLOADED = 'UnloadedBackboneError: AdapterHook: The frozen backbone '


def test_train_refuses_a_random_wrapped_backbone_before_the_work_dir(
        tmp_path, tiny_video_data):
    """It was refused by the hook once the Runner had made
    ``w/<timestamp>/`` with a log and a config copy."""
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    line = refused_line(
        run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                 cwd=tmp_path,
                 check=False),
        absent=['AdapterHook (mode=adaptformer): trainable parameters'],
        no_dir=str(tmp_path / 'w'))
    assert line.startswith(UNLOADED + 'VisionTransformer of AdaptFormer '
                           '(model.backbone.backbone)'), line
    assert 'Give tools/train.py --pretrained PATH' in line, line
    assert 'model.backbone.backbone.init_cfg.checkpoint' in line, line


def test_train_refuses_linear_probing_a_random_plain_backbone_early(
        tmp_path, tiny_video_data):
    config = write_config(
        tmp_path / 'probe.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "custom_hooks = [dict(type='AdapterHook', mode='linear_probe')]\n")
    line = refused_line(
        run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                 cwd=tmp_path,
                 check=False),
        no_dir=str(tmp_path / 'w'))
    assert line.startswith(UNLOADED + 'VisionTransformer (model.backbone)'), \
        line
    assert 'model.backbone.init_cfg = ' in line, line


def test_resume_auto_with_nothing_to_resume_is_still_refused_by_the_hook(
        tmp_path, tiny_video_data):
    """Guards behaviour that already worked: ``--resume auto`` is known to
    resume nothing only once the work dir is searched, so the early check
    leaves it to the hook, which refuses the random backbone."""
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    proc = run_tool(
        ['train.py', config, '--work-dir', tmp_path / 'w', '--resume'],
        cwd=tmp_path,
        check=False)
    line = refused_line(proc)
    assert line.startswith(UNLOADED + 'VisionTransformer of AdaptFormer'), \
        line
    # The hook refused it, at before_train: after the freezing report.
    assert 'AdapterHook (mode=adaptformer): trainable parameters' in \
        proc.stdout


@pytest.fixture
def unbuilt():
    """The tiny AdaptFormer model's config and a function that builds it
    without weights, as tools/train.py's checks build it."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    return cfg, lambda: build_without_weights(cfg.model)


def test_the_rule_before_loading(unbuilt):
    cfg, build = unbuilt
    with pytest.raises(
            UnloadedBackboneError,
            match=r'model\.backbone\.backbone\.init_cfg'):
        refuse_unloaded_backbone(build(), cfg, initialized=False)
    # What the config loads: whether it holds the backbone is known once
    # loaded (an adapter-only checkpoint does not), so the hook decides.
    for key, value in (('load_from', 'full.pth'), ('resume', True)):
        other = cfg.copy()
        other[key] = value
        refuse_unloaded_backbone(build(), other, initialized=False)
    # The host's Pretrained init_cfg (--pretrained sets it), the wrapper's
    # own, or one of the whole model (a full checkpoint, loaded through the
    # wrapper's load path) count as loads.
    pretrained = dict(type='Pretrained', checkpoint='stock.pth')
    for key in ('backbone.backbone', 'backbone', None):
        model = build()
        owner = model
        for name in key.split('.') if key else ():
            owner = getattr(owner, name)
        owner.init_cfg = dict(pretrained)
        refuse_unloaded_backbone(model, cfg, initialized=False)


def test_the_hook_rule_is_unchanged_after_loading(unbuilt):
    """Guards behaviour that already worked: once loading is over, a
    wrapper counts as loaded by what it loaded (``host_source``) only, so
    an adapter-only ``load_from`` without the backbone's file is refused."""
    cfg, build = unbuilt
    other = cfg.copy()
    other.load_from = 'adapter_only.pth'
    model = build()
    with pytest.raises(UnloadedBackboneError):
        refuse_unloaded_backbone(model, other)
    model.backbone.host_source = 'stock.pth'
    refuse_unloaded_backbone(model, other)
