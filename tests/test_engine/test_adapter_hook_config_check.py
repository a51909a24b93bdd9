# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The config's AdapterHook entries checked before the Runner is built:
its refusals of an unknown argument, mode or head came only once the
Runner built or ran the hook, after the work dir was made."""
import pytest
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG
from mmengine.config import Config

from mmadaptformer.engine.hooks.adapter_hook_config_check import \
    check_adapter_hook_config
from mmadaptformer.utils import ConfigError


def _check(config, options):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    check_adapter_hook_config(cfg, config, options)


@pytest.mark.parametrize('options', [{}, {
    'custom_hooks.0.head': ['cls_head']
}, {
    'custom_hooks.0.head': []
}, {
    'custom_hooks.0.extra_trainable': [r'^backbone\.blocks\.0\.norm1\.']
}])
def test_the_recipes_hook_and_good_arguments_pass(options):
    """Guard of kept behaviour: the tiny recipe's hook, its default head,
    no head and a pattern that matches parameters are not refused."""
    _check(TINY_ADAPTFORMER_VIDEO_CONFIG, options)


@pytest.mark.parametrize('config, options, message', [
    (TINY_ADAPTFORMER_VIDEO_CONFIG, {
        'custom_hooks.0.head': ['nosuch']
    }, "--cfg-options custom_hooks.0.head=['nosuch']: AdapterHook "
     "head=['nosuch']: Recognizer3D builds no module of this name "
     '(model.cls_head is its head), so its head would stay frozen at its '
     "initialisation. Did you mean 'cls_head'?"),
    (TINY_IMAGE_CONFIG, {
        'custom_hooks': [dict(type='AdapterHook', head=['cls_head'])]
    }, "custom_hooks[0].head = ['cls_head'], set by --cfg-options "
     "custom_hooks=[{'type': 'AdapterHook', 'head': ['cls_head']}]: "
     "AdapterHook head=['cls_head']: ImageClassifier builds no module of "
     'this name (model.head is its head)'),
    (TINY_ADAPTFORMER_VIDEO_CONFIG, {
        'custom_hooks.0.mode': 'lin'
    }, "--cfg-options custom_hooks.0.mode='lin': AdapterHook mode='lin' is "
     "not one of ('adaptformer', 'linear_probe')."),
    (TINY_ADAPTFORMER_VIDEO_CONFIG, {
        'custom_hooks.0.extra_trainabl': ['x']
    }, "--cfg-options custom_hooks.0.extra_trainabl=['x']: AdapterHook takes "
     "no argument 'extra_trainabl' (did you mean 'extra_trainable'?)."),
])
def test_a_mistake_is_named_by_its_option(config, options, message):
    with pytest.raises(ConfigError) as info:
        _check(config, options)
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize('options, message', [
    ({
        'custom_hooks.0.mode': 'linear_probe'
    }, "--cfg-options custom_hooks.0.mode='linear_probe': AdapterHook "
     "mode='linear_probe' trains the head (and its extra_trainable "
     'parameters) alone, but the model has 2 AdaptMLP adapters'),
    ({
        'custom_hooks.0.extra_trainable': ['nope']
    }, "--cfg-options custom_hooks.0.extra_trainable=['nope']: AdapterHook "
     "extra_trainable pattern 'nope' matches no parameter of Recognizer3D"),
])
def test_a_plan_refusal_is_named_by_its_option(options, message):
    """The trainable plan's refusals, made on the model built without
    weights: linear probing of a model with adapters and a pattern that
    matches no parameter came only once the Runner ran the hook."""
    with pytest.raises(ConfigError) as info:
        _check(TINY_ADAPTFORMER_VIDEO_CONFIG, options)
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize('value, message', [
    (5, '--cfg-options custom_hooks.0.extra_trainable=5: AdapterHook '
     'extra_trainable must be a list of regular expressions searched in '
     "the parameters' state-dict keys"),
    (['fc_norm', '('], '--cfg-options custom_hooks.0.extra_trainable=['
     "'fc_norm', '(']: AdapterHook extra_trainable pattern '(' is not a "
     'regular expression: missing ), unterminated subpattern at position 0.'),
])
def test_a_pattern_that_is_no_regular_expression(value, message):
    """It was a ``TypeError: 'int' object is not iterable`` (or
    ``re.error``) traceback once the hook made its plan."""
    with pytest.raises(ConfigError) as info:
        _check(TINY_ADAPTFORMER_VIDEO_CONFIG,
               {'custom_hooks.0.extra_trainable': value})
    assert str(info.value).startswith(message), str(info.value)


def test_a_mistake_in_the_file_is_named_by_its_key(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text(f"_base_ = ['{TINY_ADAPTFORMER_VIDEO_CONFIG}']\n"
                      "custom_hooks = [dict(type='EmptyCacheHook'), "
                      "dict(type='AdapterHook', head='nosuch')]\n")
    with pytest.raises(ConfigError) as info:
        _check(str(config), {})
    assert str(info.value).startswith(
        f"{config}: custom_hooks[1].head = 'nosuch': AdapterHook "
        "head=['nosuch']: "), str(info.value)
