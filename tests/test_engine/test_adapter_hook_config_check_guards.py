# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The AdapterHook entries :func:`check_adapter_hook_config` must pass and
the ones it must refuse that a mutation audit found untested: the hook's
``priority``, one pattern given as a string, several head names, a head
of another type than names, a head the config sets to None, a model that
does not build, the model inside ``tools/test.py --tta``'s wrapper."""
import os.path as osp

import pytest
from helpers import CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG
from mmengine.config import Config

from mmadaptformer.engine import add_tta
from mmadaptformer.engine.hooks.adapter_hook_config_check import \
    check_adapter_hook_config
from mmadaptformer.utils import ConfigError


def _check(options, config=TINY_ADAPTFORMER_VIDEO_CONFIG):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    check_adapter_hook_config(cfg, config, options)


#: Arguments the hook takes, each as a ``--cfg-options`` entry.
TAKEN = {
    'priority': {
        'custom_hooks.0.priority': 'LOW'
    },
    'one-pattern-string': {
        'custom_hooks.0.extra_trainable': r'^backbone\.fc_norm\.'
    },
    'head-names-in-order': {
        'custom_hooks.0.head': ['cls_head', 'head']
    },
    'head-names-other-order': {
        'custom_hooks.0.head': ['head', 'cls_head']
    },
}


@pytest.mark.parametrize('options', list(TAKEN.values()), ids=list(TAKEN))
def test_arguments_the_hook_takes_pass(options):
    """Guard of kept behaviour: ``priority`` is the Runner's (it pops it
    before it builds the hook), a pattern given as one string is one
    regular expression, and ``head`` is a list of names tried in order,
    of which one must be the model's head."""
    _check(options)


@pytest.mark.parametrize('head', [5, ['cls_head', 1]])
def test_a_head_that_is_no_list_of_names_is_refused(head):
    with pytest.raises(ConfigError) as info:
        _check({'custom_hooks.0.head': head})
    assert str(info.value).startswith(
        f'--cfg-options custom_hooks.0.head={head!r}: AdapterHook head must '
        "be a list of attribute names of the model's head, such as "
        "['cls_head'] (MMAction2)"), str(info.value)


def test_a_head_the_config_sets_to_none_is_no_head(tmp_path):
    """``cls_head=None`` builds no head: naming it trains nothing there."""
    config = tmp_path / 'cfg.py'
    config.write_text(f"_base_ = ['{TINY_ADAPTFORMER_VIDEO_CONFIG}']\n"
                      'model = dict(cls_head=None)\n'
                      "custom_hooks = [dict(type='AdapterHook', "
                      "head=['cls_head'])]\n")
    with pytest.raises(ConfigError) as info:
        _check({}, str(config))
    assert str(info.value).startswith(
        f"{config}: custom_hooks[0].head = ['cls_head']: AdapterHook "
        "head=['cls_head']: Recognizer3D builds no module of this name "
        '(model.cls_head is its head), so its head would stay frozen at its '
        'initialisation. Set head'), str(info.value)


def test_a_model_that_does_not_build_is_left_to_the_runner():
    """Guard of kept behaviour: the plan check builds the model without
    weights; one that does not build is left to the Runner, which names
    the mistake when it builds it."""
    _check({'model.cls_head.num_classes': 'two'})


def test_the_plan_is_made_on_the_model_inside_the_tta_wrapper():
    """Guard of kept behaviour: ``tools/test.py --tta`` wraps the model
    (``model=dict(type=...TTA, module=...)``); the hook plans on the model
    inside, whose head and adapters are not under ``module.``."""
    config = osp.join(CONFIGS, 'tiny', 'tiny_adaptformer_image.py')
    cfg = Config.fromfile(config)
    add_tta(cfg, config)
    assert 'module' in cfg.model
    check_adapter_hook_config(cfg, config, None)
