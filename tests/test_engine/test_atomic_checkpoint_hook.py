# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How ``tools/train.py`` gives every config an
:class:`~mmadaptformer.engine.AtomicCheckpointHook`
(:func:`~mmadaptformer.engine.use_atomic_checkpoint_hook`), on the shipped
configs and on the ways users write their own. The hook's behaviour under a
real kill is tested in ``tests/test_utils/test_atomic_save.py``."""
import os.path as osp

import pytest
from helpers import CONFIGS, TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from mmadaptformer.engine import (AtomicCheckpointHook,
                                  use_atomic_checkpoint_hook)
from mmadaptformer.utils import ConfigError


def _cfg(**kwargs):
    return Config(dict(default_scope='mmpretrain', **kwargs))


@pytest.mark.parametrize('path', [
    TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG,
    osp.join(CONFIGS, 'adaptformer_vitb_ssv2.py'),
    osp.join(CONFIGS, 'adaptformer_vitb_cifar100.py'),
    osp.join(CONFIGS, 'baselines', 'linear-probe_vitb_hmdb51.py')
])
def test_shipped_configs_name_the_atomic_hook(path):
    cfg = Config.fromfile(path)
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert use_atomic_checkpoint_hook(cfg) is None


def test_recipe_hooks_are_written_once_and_shared():
    video = Config.fromfile(osp.join(CONFIGS, 'adaptformer_vitb_ssv2.py'))
    image = Config.fromfile(osp.join(CONFIGS, 'adaptformer_vitb_svhn.py'))
    # One block (configs/_base_/default_hooks.py), merged into each host's
    # default_hooks.
    assert video.recipe_hooks == image.recipe_hooks
    assert set(video.recipe_hooks) == {
        'checkpoint', 'logger', 'sync_buffers', 'non_finite_loss',
        'checkpoint_check', 'config_check', 'resume_check', 'data_health'
    }
    for cfg in (video, image):
        for name, hook in cfg.recipe_hooks.items():
            assert all(cfg.default_hooks[name][key] == value
                       for key, value in hook.items())
    # Both: an image run's evaluation sets are checked as a video run's.
    assert video.default_hooks.data_health.type == 'DataHealthHook'
    assert image.default_hooks.data_health.type == 'DataHealthHook'
    # The hosts' own default hooks are still there.
    assert video.default_hooks.runtime_info.type == 'RuntimeInfoHook'
    assert image.default_hooks.visualization.type == 'ImageVisualizationHook'


def test_plain_checkpoint_hook_is_upgraded_with_its_arguments():
    cfg = _cfg(
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook', interval=3, max_keep_ckpts=2)))
    assert 'AtomicCheckpointHook in place of CheckpointHook' in \
        use_atomic_checkpoint_hook(cfg)
    assert cfg.default_hooks.checkpoint == dict(
        type='AtomicCheckpointHook', interval=3, max_keep_ckpts=2)
    cfg = _cfg(
        default_hooks=dict(checkpoint=dict(type='mmengine.CheckpointHook')))
    use_atomic_checkpoint_hook(cfg)
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'


def test_missing_checkpoint_hook_gets_mmengines_default_atomically():
    for cfg in (_cfg(), _cfg(default_hooks=dict(logger=dict(interval=1)))):
        assert use_atomic_checkpoint_hook(cfg) is not None
        assert cfg.default_hooks.checkpoint == dict(
            type='AtomicCheckpointHook', interval=1)


def test_switched_off_and_other_scopes_are_left_alone():
    cfg = _cfg(default_hooks=dict(checkpoint=None))
    assert use_atomic_checkpoint_hook(cfg) is None
    assert cfg.default_hooks.checkpoint is None
    cfg = Config(
        dict(
            default_scope='mmdet',
            default_hooks=dict(checkpoint=dict(type='CheckpointHook'))))
    assert use_atomic_checkpoint_hook(cfg) is None
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'


def test_other_checkpoint_hooks_are_kept_with_a_warning(capsys, clean_loggers):
    MMLogger.get_instance('test_atomic_hook')
    cfg = _cfg(default_hooks=dict(checkpoint=dict(type='MyCheckpointHook')))
    assert use_atomic_checkpoint_hook(cfg) is None
    assert cfg.default_hooks.checkpoint.type == 'MyCheckpointHook'
    assert "'MyCheckpointHook', not an AtomicCheckpointHook" in \
        capsys.readouterr().out


def test_hook_is_a_checkpoint_hook():
    assert issubclass(AtomicCheckpointHook, CheckpointHook)


class _KwargsRunner(Runner):
    """A runner of one's own whose ``save_checkpoint`` takes more."""

    def save_checkpoint(self, out_dir, filename, **kwargs):
        pass


def test_an_argument_save_checkpoint_takes_is_let_through():
    """MMEngine's Runner takes no extra argument, so ``intervl`` is refused
    (the tools test shows it end train.py before the first epoch); a
    runner whose ``save_checkpoint`` takes ``**kwargs`` gets them all."""
    hook = AtomicCheckpointHook(interval=1, intervl=1)
    plain = object.__new__(Runner)  # its signature, no run needed
    with pytest.raises(
            ConfigError,
            match=r'^AtomicCheckpointHook takes no argument '
            r"intervl=1 \(did you mean 'interval'\?\): "
            r'CheckpointHook passes .* to Runner\.save_checkpoint'):
        hook.refuse_unknown_arguments(plain)
    hook.refuse_unknown_arguments(object.__new__(_KwargsRunner))
