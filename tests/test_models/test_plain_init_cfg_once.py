# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``check_model_config`` checks a plain host's ``init_cfg`` once: with
``whole_model`` it ran in the whole model's build and again in the host's
checks (and the host was looked up in the registry twice)."""
import pytest
from mmengine.config import Config
from repo_paths import TINY_VIDEO_CONFIG

import mmadaptformer.models.backbones.config_check as config_check
from mmadaptformer.utils import ConfigError

#: A plain TimeSformer given an init_cfg, which it does not take.
_TIMESFORMER = dict(
    type='TimeSformer',
    num_frames=4,
    img_size=32,
    patch_size=16,
    embed_dims=64,
    num_heads=2,
    num_transformer_layers=2,
    init_cfg=dict(type='Pretrained', checkpoint='x.pth'))


def _counting(monkeypatch, name):
    """Count the calls of ``config_check.name`` (the real function
    runs)."""
    calls = []
    real = getattr(config_check, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(config_check, name, counted)
    return calls


@pytest.mark.parametrize('whole_model', [True, False])
def test_a_plain_hosts_init_cfg_is_checked_once(monkeypatch, whole_model):
    """Fails on the old code with ``whole_model`` (two checks, two
    lookups); without it, a guard of kept behaviour."""
    checks = _counting(monkeypatch, 'plain_host_init_cfg_problem')
    lookups = _counting(monkeypatch, 'config_host')
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    config_check.check_model_config(
        cfg, TINY_VIDEO_CONFIG, pretrained=False, whole_model=whole_model)
    assert len(checks) == 1
    assert len(lookups) == 1


@pytest.mark.parametrize('whole_model', [True, False])
def test_the_init_cfg_refusal_comes_first_in_both_modes(
        monkeypatch, whole_model):
    """Guard of kept behaviour: the refusal is the same, and made before
    anything is built, with or without the whole model."""
    builds = _counting(monkeypatch, 'build_on_meta_or_cpu')
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.model.backbone = dict(_TIMESFORMER)
    with pytest.raises(ConfigError) as info:
        config_check.check_model_config(
            cfg, TINY_VIDEO_CONFIG, pretrained=False, whole_model=whole_model)
    assert str(info.value).startswith(f'{TINY_VIDEO_CONFIG}')
    assert "mmaction2's TimeSformer is a plain nn.Module and takes no " \
        'init_cfg' in str(info.value)
    assert builds == []
