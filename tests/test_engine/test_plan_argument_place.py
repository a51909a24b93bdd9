# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Where :func:`~mmadaptformer.engine.naming_plan_arguments` says the
AdapterHook argument that the trainable plan refuses was set, on the real
plan of a model built without weights: the cases a mutation audit found
untested (a scoped hook type found by its own index, the index a caller
gives, an argument the entry leaves to its default, a config with no
AdapterHook)."""
import pytest
from mmengine.config import Config
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG

from mmadaptformer.engine import naming_plan_arguments
from mmadaptformer.models.adapters.trainable import (PlanArgumentError,
                                                     plan_trainable)
from mmadaptformer.models.backbones.config_host import build_without_weights
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.registry_names import use_default_scope

_PATTERN = "AdapterHook extra_trainable pattern 'nope' matches no parameter"


def _refusal(cfg, index=None, **plan):
    """The error of the plan ``plan`` on ``cfg``'s model, named as the
    tools name it."""
    use_default_scope(cfg)
    model = build_without_weights(cfg.model)
    assert model is not None
    with pytest.raises(ConfigError) as info:
        with naming_plan_arguments(cfg, 'c.py', None, index):
            plan_trainable(model, **plan)
    return info.value


def test_the_first_adapter_hook_of_a_scoped_type_is_found():
    """With no index given (benchmark_infer.py, get_flops.py), the first
    AdapterHook entry is named, its type scoped or not."""
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.custom_hooks = [
        dict(type='EmptyCacheHook'),
        dict(type='mmaction.AdapterHook', extra_trainable=['nope'])
    ]
    error = _refusal(cfg, extra_trainable=['nope'])
    assert str(error).startswith(
        "c.py: custom_hooks[1].extra_trainable = ['nope']: " + _PATTERN), \
        str(error)


def test_the_index_given_is_the_hook_named():
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.custom_hooks = [
        dict(type='AdapterHook', extra_trainable=[r'^backbone\.fc_norm\.']),
        dict(type='AdapterHook', extra_trainable=['nope'])
    ]
    error = _refusal(cfg, index=1, extra_trainable=['nope'])
    assert str(error).startswith(
        "c.py: custom_hooks[1].extra_trainable = ['nope']: " + _PATTERN), \
        str(error)


def test_an_argument_left_to_its_default_is_named_without_a_value():
    """``mode`` that the entry does not set (the default 'adaptformer', on
    a model without adapters) is named by its key alone, not as a
    ``mode = None`` the entry does not hold."""
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.custom_hooks = [dict(type='AdapterHook')]
    error = _refusal(cfg, mode='adaptformer')
    assert isinstance(error.__cause__, PlanArgumentError)
    assert str(error).startswith(
        "c.py: custom_hooks[0].mode: mode='adaptformer' but the model has "
        'no AdaptMLP'), \
        str(error)


def test_a_config_without_an_adapter_hook_keeps_the_plans_error():
    """Guard of kept behaviour: with no AdapterHook entry to name, the
    plan's own refusal is raised as it is."""
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.custom_hooks = [dict(type='EmptyCacheHook')]
    error = _refusal(cfg, extra_trainable=['nope'])
    assert type(error) is PlanArgumentError
    assert str(error).startswith(_PATTERN), str(error)


def test_a_refusal_of_no_single_argument_names_the_hooks_entry():
    """A plan in which nothing trains is no one argument's fault: the
    hook's entry is named, as ``FILE: custom_hooks[N]``."""
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.custom_hooks = [dict(type='AdapterHook', mode='linear_probe', head=[])]
    error = _refusal(cfg, mode='linear_probe', head=[])
    assert str(error).startswith(
        'c.py: custom_hooks[0]: Nothing would train in Recognizer3D'), \
        str(error)
