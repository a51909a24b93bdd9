# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A weight-decay multiplier in ``optim_wrapper.paramwise_cfg`` with an
optimizer that sets no ``weight_decay``: MMEngine's default constructor
stops with a bare ``ValueError: base_wd should not be None`` traceback when
the Runner builds it (after the work dir was made). Seen replacing a stock
MMAction2 config's AdamW (UniFormerV2's, whose ``paramwise_cfg`` has
``norm_decay_mult=0.0``) with ``dict(_delete_=True, type='SGD', lr=...)``.
Now the pre-build check names the key, the optimizer and the fix."""
import pytest
from config_writers import write_config
from mmengine.config import Config
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.paramwise_check import check_paramwise_cfg

SGD = "optimizer=dict(_delete_=True, type='SGD', lr=0.1{wd})"


@pytest.mark.parametrize('paramwise, key', [
    ('dict(norm_decay_mult=0.0)', 'optim_wrapper.paramwise_cfg.'
     'norm_decay_mult'),
    ('dict(custom_keys=dict(head=dict(decay_mult=0.0)))',
     "optim_wrapper.paramwise_cfg.custom_keys['head'].decay_mult"),
])
def test_decay_multiplier_without_weight_decay_is_one_line(
        tmp_path, paramwise, key):
    path = write_config(
        tmp_path / 'sgd.py', TINY_IMAGE_CONFIG,
        f"optim_wrapper = dict({SGD.format(wd='')}, "
        f'paramwise_cfg={paramwise})\n')
    with pytest.raises(ConfigError) as e:
        check_paramwise_cfg(Config.fromfile(path), path)
    assert str(e.value) == (
        f'{path}: {key} multiplies the weight decay, but '
        'optim_wrapper.optimizer (SGD) sets no weight_decay: MMEngine\'s '
        'DefaultOptimWrapperConstructor would stop with "ValueError: '
        'base_wd should not be None" when the runner builds it. Set '
        'optim_wrapper.optimizer.weight_decay (0. for none), or remove '
        'the multiplier.')


def test_decay_multiplier_with_weight_decay_passes(tmp_path):
    """Guard of kept behaviour: with a weight decay (0. included) it
    builds, and so it passes."""
    path = write_config(
        tmp_path / 'sgd.py', TINY_IMAGE_CONFIG,
        f"optim_wrapper = dict({SGD.format(wd=', weight_decay=0.')}, "
        'paramwise_cfg=dict(norm_decay_mult=0.0))\n')
    check_paramwise_cfg(Config.fromfile(path), path)


def test_decay_multiplier_with_weight_decay_none_is_one_line(tmp_path):
    """``weight_decay=None`` is no weight decay to MMEngine, which reads
    ``optimizer_cfg.get('weight_decay', None)``: it was let through by a
    check that asked only whether the key was there, and the runner's build
    stopped with "ValueError: base_wd should not be None"."""
    path = write_config(
        tmp_path / 'sgd.py', TINY_IMAGE_CONFIG,
        f"optim_wrapper = dict({SGD.format(wd=', weight_decay=None')}, "
        'paramwise_cfg=dict(norm_decay_mult=0.0))\n')
    with pytest.raises(ConfigError) as e:
        check_paramwise_cfg(Config.fromfile(path), path)
    assert str(e.value).startswith(
        f'{path}: optim_wrapper.paramwise_cfg.norm_decay_mult multiplies '
        'the weight decay, but optim_wrapper.optimizer (SGD) sets '
        'weight_decay=None: MMEngine\'s DefaultOptimWrapperConstructor '
        'would stop with "ValueError: base_wd should not be None"')
