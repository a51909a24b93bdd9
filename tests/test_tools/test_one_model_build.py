# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The pre-Runner model checks build the model once: the model check
built the wrapper, then the AdapterHook's plan check built the whole
model again (0.8 s in all for the ViT-B SSv2 recipe on one CPU thread,
0.4 s after)."""
import pytest
from mmengine.config import Config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG

from mmadaptformer.engine.hooks.adapter_hook_config_check import \
    check_adapter_hook_config
from mmadaptformer.models.backbones.adaptformer import AdaptFormer
from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils import ConfigError


def _config(options):
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.merge_from_dict(options)
    return cfg


def _counting_builds(monkeypatch):
    """Count the AdaptFormer wrappers built (the real constructor runs;
    a meta-device try that fails is not a build)."""
    built = []
    init = AdaptFormer.__init__

    def counted(self, *args, **kwargs):
        init(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(AdaptFormer, '__init__', counted)
    return built


def test_the_model_check_and_the_plan_check_share_one_build(monkeypatch):
    """As train.py calls them: the wrapper is built once, inside the
    whole model that the model check returns."""
    built = _counting_builds(monkeypatch)
    cfg = _config({})
    model = check_model_config(
        cfg, TINY_ADAPTFORMER_VIDEO_CONFIG, whole_model=True)
    check_adapter_hook_config(cfg, TINY_ADAPTFORMER_VIDEO_CONFIG, None, model)
    assert len(built) == 1
    assert model.backbone is built[0]
    assert type(model).__name__ == 'Recognizer3D'


@pytest.mark.parametrize('options', [{
    'custom_hooks.0.extra_trainable': ['nope']
}, {
    'custom_hooks.0.mode': 'linear_probe'
}])
def test_the_plan_refusal_is_the_same_on_the_shared_model(options):
    """Guard of kept behaviour: the plan check's refusal on the model
    the model check built is the one it gives on a model it builds."""
    messages = []
    for shared in (True, False):
        cfg = _config(options)
        model = check_model_config(
            cfg, TINY_ADAPTFORMER_VIDEO_CONFIG, options, whole_model=True)
        with pytest.raises(ConfigError) as info:
            check_adapter_hook_config(cfg, TINY_ADAPTFORMER_VIDEO_CONFIG,
                                      options, model if shared else None)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith('--cfg-options custom_hooks.0.')


def test_a_wrapper_refusal_is_named_as_before():
    """Guard of kept behaviour: a wrapper that refuses its arguments makes
    the whole model fail to build; the whole model's build names it as the
    wrapper built alone would."""
    options = {'model.backbone.adapter.bottleneck': 0}
    with pytest.raises(ConfigError) as info:
        check_model_config(
            _config(options),
            TINY_ADAPTFORMER_VIDEO_CONFIG,
            options,
            whole_model=True)
    assert str(info.value).startswith(
        '--cfg-options model.backbone.adapter.bottleneck=0: '
        'model.backbone.adapter'), str(info.value)


def test_a_model_that_does_not_build_is_refused_by_the_model_check(
        monkeypatch):
    """A head the recognizer cannot build is named by the model check,
    from the whole model's build (in which the wrapper was built), not
    by building the wrapper alone and leaving the head to the Runner."""
    built = _counting_builds(monkeypatch)
    with pytest.raises(ConfigError) as info:
        check_model_config(
            _config({'model.cls_head.type': 'NoSuchHead'}),
            TINY_ADAPTFORMER_VIDEO_CONFIG,
            whole_model=True)
    assert str(info.value).startswith(
        f"{TINY_ADAPTFORMER_VIDEO_CONFIG}: model.cls_head.type='NoSuchHead' "
        'is not in the mmaction::model registry'), str(info.value)
    assert len(built) == 1


def test_without_whole_model_the_wrapper_is_built_alone(monkeypatch):
    """A tool that makes no plan (benchmark_train, get_flops,
    benchmark_infer) builds the wrapper alone, and gets no model."""
    built = _counting_builds(monkeypatch)
    assert check_model_config(_config({}),
                              TINY_ADAPTFORMER_VIDEO_CONFIG) is None
    assert len(built) == 1
