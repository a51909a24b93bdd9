# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A hook ``type`` that no registry holds is named before the work dir.

``tools/train.py`` on a config with ``custom_hooks =
[dict(type='AdapterHok')]`` made the work dir and its log, and only the
Runner's registration of the hooks named the type; every other unknown
type of a config (model, dataset, optimizer) is named before."""
import pytest
from config_writers import TRAIN_ONLY_CFG, video_data_cfg, write_config
from mmengine.config import Config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.hook_entries import check_hook_types

_MISS = ("type='AdapterHok' is not in the mmaction::hook registry; did you "
         "mean 'AdapterHook'? Check the spelling, or import the module that "
         'registers it (custom_imports).')


def test_train_names_a_misspelt_hook_before_the_work_dir(
        tmp_path, tiny_video_data):
    config = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + TRAIN_ONLY_CFG +
        "custom_hooks = [dict(type='AdapterHok')]\n")
    work_dir = str(tmp_path / 'work')
    proc = run_tool(['train.py', config, '--work-dir', work_dir],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc, no_dir=work_dir) == \
        f'ConfigError: {config}: custom_hooks[0].{_MISS}'


@pytest.mark.parametrize('options, place', [
    ({
        'default_hooks.adapter': dict(type='AdapterHok')
    }, "default_hooks.adapter.type = 'AdapterHok', set by --cfg-options "
     "default_hooks.adapter={'type': 'AdapterHok'}: 'AdapterHok'"),
    ({
        'custom_hooks.0.type': 'AdapterHok'
    }, "--cfg-options custom_hooks.0.type='AdapterHok'"),
])
def test_an_option_is_named(options, place):
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as info:
        check_hook_types(cfg, 'cfg.py', options)
    assert str(info.value) == \
        f'{place} is not in the mmaction::hook registry; did you mean ' \
        "'AdapterHook'? Check the spelling, or import the module that " \
        'registers it (custom_imports).'


def test_registered_types_and_other_entries_pass():
    """Guard of kept behaviour: the recipe's hooks, a scoped type, a built
    hook and a removed default hook are not refused."""
    from mmengine.hooks import EmptyCacheHook
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.default_hooks.data_health = None
    cfg.custom_hooks += [
        dict(type='mmpretrain.EMAHook'),
        EmptyCacheHook(),
        dict(type=EmptyCacheHook)
    ]
    check_hook_types(cfg, 'cfg.py')


def test_the_registry_is_asked_not_its_message_parsed(monkeypatch):
    """The check built MMEngine's ``KeyError`` text to parse it back, so a
    pattern that no longer matched MMEngine's words would have turned the
    refusal off without a word. It now asks the registry: with the pattern
    broken on purpose, the refusal still comes."""
    import re

    from mmadaptformer.utils import registry_names
    monkeypatch.setattr(registry_names, '_REGISTRY_MISS',
                        re.compile('never matches$'))
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.custom_hooks = [dict(type='AdapterHok')]
    with pytest.raises(ConfigError, match=re.escape(_MISS)):
        check_hook_types(cfg, 'cfg.py')
