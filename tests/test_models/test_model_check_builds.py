# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A whole model that does not build is refused by the model check, which
builds no more than it needs to name the mistake.

Before, ``check_model_config(whole_model=True)`` built the whole model on
the meta device and on the CPU, then the wrapper alone, and the
AdapterHook's plan check built the whole model twice more: five builds of
the host for a misspelled head ``type`` (1.3 s for the ViT-B SSv2 recipe on
one CPU thread), which the Runner then named after making the work dir. A
wrapper's refusal built the host three times (0.85 s for the ViT-B
CIFAR-100 recipe).

The builds are counted where the registry builds the host: a real
subclass of the stock backbone, registered for the test, that counts its
constructor's calls (a try on the meta device that fails counts too).
"""
import pytest
import torch
from mmaction.registry import MODELS as MMACTION_MODELS
from mmengine.config import Config
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from repo_paths import (CONFIGS, TINY_ADAPTFORMER_IMAGE_CONFIG,
                        TINY_ADAPTFORMER_VIDEO_CONFIG)

from mmadaptformer.engine.hooks.adapter_hook_config_check import \
    check_adapter_hook_config
from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils import ConfigError


@pytest.fixture
def host_tries():
    """The devices the counted hosts were built on, one entry per try;
    registers ``_CountedVideoViT`` (mmaction2's ViT) and
    ``_CountedImageViT`` (mmpretrain's) for the test."""
    tries = []
    # mmaction2's and mmpretrain's ViTs, from the registries that the
    # package made importable (mmaction2 1.2.0 lacks a models folder).
    video_vit = MMACTION_MODELS.get('VisionTransformer')
    image_vit = MMPRETRAIN_MODELS.get('VisionTransformer')

    class _CountedVideoViT(video_vit):

        def __init__(self, *args, **kwargs):
            tries.append(str(torch.get_default_device()))
            super().__init__(*args, **kwargs)

    class _CountedImageViT(image_vit):

        def __init__(self, *args, **kwargs):
            tries.append(str(torch.get_default_device()))
            super().__init__(*args, **kwargs)

    # The host tables match a class by its qualname: the counted hosts
    # are read by the checks as the stock ones are (a plain host is built
    # for the checks only if they read it).
    for counted, stock in ((_CountedVideoViT, video_vit), (_CountedImageViT,
                                                           image_vit)):
        counted.__module__ = stock.__module__
        counted.__qualname__ = stock.__qualname__
    MMACTION_MODELS.register_module(module=_CountedVideoViT)
    MMPRETRAIN_MODELS.register_module(module=_CountedImageViT)
    try:
        yield tries
    finally:
        MMACTION_MODELS.module_dict.pop('_CountedVideoViT')
        MMPRETRAIN_MODELS.module_dict.pop('_CountedImageViT')


def _checked(config: str, options: dict):
    """The model and plan checks as tools/train.py makes them, on
    ``config`` with ``options`` given as --cfg-options; the model the
    model check returned."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    model = check_model_config(cfg, config, options, whole_model=True)
    check_adapter_hook_config(cfg, config, options, model)
    return model


def _video(options: dict) -> dict:
    return {'model.backbone.backbone.type': '_CountedVideoViT', **options}


def _image(options: dict) -> dict:
    return {'model.backbone.backbone.type': '_CountedImageViT', **options}


def test_a_misspelled_head_is_named_by_the_first_build(host_tries):
    """The recognizer's head type that no registry holds: named as the
    Runner named it, by the model check; the host is built on the meta
    device (which mmaction2's ViT refuses) and once on the CPU."""
    options = _video({'model.cls_head.type': 'BNLinearHeed'})
    with pytest.raises(ConfigError) as info:
        _checked(TINY_ADAPTFORMER_VIDEO_CONFIG, options)
    assert str(info.value) == (
        "--cfg-options model.cls_head.type='BNLinearHeed' is not in the "
        "mmaction::model registry; did you mean 'BNLinearHead'? Check the "
        'spelling, or import the module that registers it '
        '(custom_imports).')
    assert host_tries == ['meta', 'cpu']


def test_a_misspelled_head_is_not_built_again_on_the_cpu(host_tries):
    """mmpretrain's ViT builds on the meta device: the registry's miss met
    there is not tried again on the CPU."""
    options = _image({'model.head.type': 'BNLinearHeed'})
    with pytest.raises(ConfigError) as info:
        _checked(TINY_ADAPTFORMER_IMAGE_CONFIG, options)
    assert str(info.value).startswith(
        "--cfg-options model.head.type='BNLinearHeed' is not in the "
        "mmpretrain::model registry; did you mean 'BNLinearHead'")
    assert host_tries == ['meta']


@pytest.mark.parametrize('config,counted,tries', [
    (TINY_ADAPTFORMER_IMAGE_CONFIG, _image, ['meta']),
    (TINY_ADAPTFORMER_VIDEO_CONFIG, _video, ['meta', 'cpu']),
])
def test_a_wrapper_refusal_is_named_by_the_whole_models_build(
        host_tries, config, counted, tries):
    """The wrapper's own refusal, met while the whole model builds, is
    named as the wrapper built alone names it (the check of a tool that
    builds no whole model), without building the wrapper again."""
    options = counted({'model.backbone.adapter.bottleneck': 0})
    with pytest.raises(ConfigError) as info:
        _checked(config, options)
    assert host_tries == tries
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as alone:
        check_model_config(cfg, config, options)
    assert str(info.value) == str(alone.value)
    assert str(info.value).startswith(
        '--cfg-options model.backbone.adapter.bottleneck=0: '
        'model.backbone.adapter.bottleneck must be a positive int')


def test_another_build_error_is_raised_once_the_host_is_checked(host_tries):
    """A head that fails to build for another reason (a negative class
    count) ends the model check with the error the Runner raised after
    the work dir; the wrapper is built alone once for the host's checks
    (on the CPU after the meta device's try, which mmaction2's ViT
    refuses), and the plan check builds nothing again."""
    options = _video({'model.cls_head.num_classes': -1})
    with pytest.raises(RuntimeError, match='negative dimension -1'):
        _checked(TINY_ADAPTFORMER_VIDEO_CONFIG, options)
    assert host_tries == ['meta', 'cpu', 'meta', 'cpu']


def test_the_host_checks_still_name_their_mistake_first():
    """Guard of kept behaviour: where the whole model does not build, the
    host's checks on the wrapper built alone still name a head width the
    host does not give, before the build's own error (on the stock host:
    the width check knows its class, not a subclass)."""
    options = {
        'model.cls_head.num_classes': -1,
        'model.cls_head.in_channels': 65
    }
    with pytest.raises(ConfigError) as info:
        _checked(TINY_ADAPTFORMER_VIDEO_CONFIG, options)
    assert str(info.value).startswith(
        '--cfg-options model.cls_head.in_channels=65: the head takes '
        'in_channels=65, but the backbone'), str(info.value)


def test_a_model_that_builds_is_built_once(host_tries):
    """Guard of kept behaviour: the model check's whole model is the one
    the plan check plans on; the host is built once on the CPU (after the
    meta device's try)."""
    model = _checked(TINY_ADAPTFORMER_VIDEO_CONFIG, _video({}))
    assert type(model.backbone.backbone).__name__ == '_CountedVideoViT'
    assert host_tries == ['meta', 'cpu']


LINEAR_PROBE_CONFIGS = [
    (f'{CONFIGS}/baselines/linear-probe_vitb_cifar100.py', '_CountedImageViT',
     ['meta']),
    (f'{CONFIGS}/baselines/linear-probe_vitb_ssv2.py', '_CountedVideoViT',
     ['meta', 'cpu']),
]


def _plain_checked(config: str, options: dict):
    """:func:`_checked` without the pretrained file (not in the repository;
    the builds do not read it)."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    model = check_model_config(
        cfg, config, options, pretrained=False, whole_model=True)
    check_adapter_hook_config(cfg, config, options, model)
    return model


@pytest.mark.parametrize('config,host,tries', LINEAR_PROBE_CONFIGS)
def test_a_plain_hosts_model_is_built_once(host_tries, config, host, tries):
    """A baseline's plain ViT-B with an AdapterHook (linear probing): the
    host's checks read it in the whole model that the plan check plans
    on. Before, the host was built alone for the checks and again in the
    whole model by the plan check (0.91 s for the SSv2 baseline on one CPU
    thread, 0.45 s after)."""
    model = _plain_checked(config, {'model.backbone.type': host})
    assert type(model.backbone).__name__ == host
    assert host_tries == tries


def test_a_plain_hosts_width_refusal_is_kept(host_tries):
    """Guard of kept behaviour: the head-width check reads the plain host
    in the whole model and refuses as it did on the host built alone."""
    config = LINEAR_PROBE_CONFIGS[0][0]
    options = {
        'model.backbone.type': '_CountedImageViT',
        'model.head.in_channels': 65
    }
    messages = []
    for whole_model in (True, False):
        cfg = Config.fromfile(config)
        cfg.merge_from_dict(options)
        with pytest.raises(ConfigError) as info:
            check_model_config(
                cfg,
                config,
                options,
                pretrained=False,
                whole_model=whole_model)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith(
        '--cfg-options model.head.in_channels=65: the head takes '
        'in_channels=65, but the backbone'), messages[0]
    assert host_tries == ['meta', 'meta']


def test_a_plain_hosts_misspelled_head_argument_is_named_by_the_model_check(
        host_tries):
    """An argument the head of a plain host (which the width check reads)
    does not take is named by the model check, as the Runner's build names
    it, from the one build of the whole model. Before, the host was built
    alone, the plan check's build failed quietly and the Runner named it
    after making the work dir."""
    config = LINEAR_PROBE_CONFIGS[0][0]
    options = {
        'model.backbone.type': '_CountedImageViT',
        'model.head.num_clases': 100
    }
    with pytest.raises(ConfigError) as info:
        _plain_checked(config, options)
    assert str(info.value) == (
        '--cfg-options model.head.num_clases=100: BNLinearHead (through '
        "ClsHead.__init__) takes no argument 'num_clases'.")
    assert host_tries == ['meta']


@pytest.mark.parametrize('config,counted,tries', [
    (TINY_ADAPTFORMER_IMAGE_CONFIG, _image, ['meta']),
    (TINY_ADAPTFORMER_VIDEO_CONFIG, _video, ['meta', 'cpu']),
])
def test_a_tool_without_a_plan_builds_the_wrapper_on_the_meta_device(
        host_tries, config, counted, tries):
    """get_flops, benchmark_train and benchmark_infer check the model
    without a whole model: the wrapper is built alone on the meta device
    where its host can be (mmpretrain's ViT), else on the CPU. Before, it
    was built on the CPU (0.29 s for the ViT-B CIFAR-100 recipe on one CPU
    thread, 0.03 s after)."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(counted({}))
    assert check_model_config(cfg, config, counted({})) is None
    assert host_tries == tries


def test_a_wrapper_refusal_is_named_from_the_meta_device(host_tries):
    """The wrapper built alone meets its refusal on the meta device and
    names it as before, without a try on the CPU."""
    options = _image({'model.backbone.adapter.bottleneck': 0})
    cfg = Config.fromfile(TINY_ADAPTFORMER_IMAGE_CONFIG)
    cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as info:
        check_model_config(cfg, TINY_ADAPTFORMER_IMAGE_CONFIG, options)
    assert str(info.value).startswith(
        '--cfg-options model.backbone.adapter.bottleneck=0: '
        'model.backbone.adapter.bottleneck must be a positive int')
    assert host_tries == ['meta']


def test_a_plain_hosts_other_build_error_is_raised_by_the_model_check(
        host_tries):
    """A plain host's head that fails to build for another reason (a
    negative class count) ends the model check with the error the Runner
    raised after making the work dir, once the host's checks passed on the
    host built alone. Before, the plan check's build failed quietly."""
    config = LINEAR_PROBE_CONFIGS[0][0]
    options = {
        'model.backbone.type': '_CountedImageViT',
        'model.head.num_classes': -1
    }
    with pytest.raises(
            ValueError, match='num_classes=-1 must be a positive integer'):
        _plain_checked(config, options)
    assert host_tries == ['meta', 'cpu', 'meta']
