# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py``'s AMP checks judge an optimizer wrapper by the class
MMEngine's registry builds for its type, scoped names too, and refuse
MMEngine's ``AmpOptimWrapper`` given the ``cpu_bf16`` of ``--amp``."""
import os.path as osp

import pytest
import torch
from helpers import (CONFIGS, TINY_IMAGE_CONFIG, TRAIN_ONLY_CFG,
                     image_data_cfg, load_tool, run_tool, write_config)
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper
from optim_wrapper_builders import registry_optim_wrapper
from refusal_lines import refused_line

from mmadaptformer.engine import AdaptAmpOptimWrapper
from mmadaptformer.engine.optimizers import amp_config
from mmadaptformer.utils import ConfigError

train_tool = load_tool('train.py')
SSV2 = osp.join(CONFIGS, 'adaptformer_vitb_ssv2.py')
NO_GPU = pytest.mark.skipif(
    torch.cuda.is_available(), reason='needs a machine without a GPU')


def _cfg(wrapper_type, config=TINY_IMAGE_CONFIG):
    cfg = Config.fromfile(config)
    cfg.optim_wrapper.type = wrapper_type
    return cfg


@pytest.mark.parametrize('config', [TINY_IMAGE_CONFIG, SSV2])
@pytest.mark.parametrize('wrapper_type,built', [
    ('mmengine.AmpOptimWrapper', AmpOptimWrapper),
    ('mmengine.OptimWrapper', 'OptimWrapper'),
    ('mmengine.AdaptAmpOptimWrapper', AdaptAmpOptimWrapper),
])
def test_amp_takes_scoped_names_of_the_accepted_classes(
        config, wrapper_type, built):
    """``--amp`` refused 'mmengine.AmpOptimWrapper' as a custom wrapper,
    a class it replaces under its plain name."""
    cfg = _cfg(wrapper_type, config)
    found = amp_config.optim_wrapper_class(cfg)
    assert found is registry_optim_wrapper(cfg)
    assert found.__name__ == getattr(built, '__name__', built)
    amp_config.apply_amp_flag(cfg, 'cfg.py')
    assert cfg.optim_wrapper.type == 'AdaptAmpOptimWrapper'
    assert cfg.optim_wrapper.cpu_bf16 is True


@pytest.mark.parametrize('wrapper_type', [
    'mmadaptformer.AdaptAmpOptimWrapper', 'NoSuchWrapper',
    'mmengine.NoSuchWrapper'
])
def test_amp_refuses_a_type_the_registry_does_not_build(wrapper_type):
    """MMEngine has no 'mmadaptformer' registry: the Runner's build of
    'mmadaptformer.AdaptAmpOptimWrapper' raises a KeyError, and --amp
    says so on one line before anything is built (it raised a bare
    ValueError, a traceback)."""
    cfg = _cfg(wrapper_type)
    assert registry_optim_wrapper(cfg) is None
    with pytest.raises(ConfigError) as info:
        amp_config.apply_amp_flag(cfg, 'cfg.py')
    assert str(info.value) == (
        f'cfg.py: optim_wrapper.type={wrapper_type!r} names no optimizer '
        "wrapper registered in scope 'mmpretrain'; --amp takes one of "
        'OptimWrapper, AmpOptimWrapper, AdaptAmpOptimWrapper, '
        'CPUAmpOptimWrapper.')


def test_amp_still_refuses_a_custom_wrapper_class():
    """Guard of kept behaviour: a registered wrapper of another class is
    refused by --amp, by its (scoped) name."""
    cfg = _cfg('mmengine.ApexOptimWrapper')
    assert registry_optim_wrapper(cfg) is not None
    with pytest.raises(
            ConfigError,
            match='custom optimizer wrapper type '
            "'mmengine.ApexOptimWrapper'"):
        amp_config.apply_amp_flag(cfg, 'cfg.py')


@NO_GPU
@pytest.mark.parametrize('wrapper_type', [
    'mmengine.AmpOptimWrapper', 'mmaction.AmpOptimWrapper',
    'mmengine.AdaptAmpOptimWrapper'
])
def test_scoped_gpu_wrapper_is_refused_on_a_cpu(wrapper_type):
    """'mmengine.AmpOptimWrapper' was let through on a CPU, to fail in
    MMEngine's assertion inside the Runner."""
    cfg = _cfg(wrapper_type)
    with pytest.raises(ConfigError, match='and this machine has none'):
        amp_config.refuse_amp_without_accelerator(cfg, 'cfg.py')


def test_scoped_mmengine_wrapper_on_cuda_is_warned(monkeypatch):
    monkeypatch.setattr(amp_config, 'is_cuda_available', lambda: True)
    warning = amp_config.mmengine_amp_wrapper_warning(
        _cfg('mmengine.AmpOptimWrapper'), 'cfg.py')
    assert warning.startswith(
        "cfg.py: optim_wrapper.type='mmengine.AmpOptimWrapper' is "
        "MMEngine's wrapper")
    assert amp_config.mmengine_amp_wrapper_warning(
        _cfg('mmengine.AdaptAmpOptimWrapper'), 'cfg.py') is None


def _mmengine_after_amp(config):
    """The line for ``--amp --cfg-options optim_wrapper.type=...``."""
    return (f"{config}: optim_wrapper.type='{{}}' is MMEngine's "
            'AmpOptimWrapper, which takes no cpu_bf16 (optim_wrapper.'
            'cpu_bf16=True; --amp sets it). Drop --amp to train through '
            "MMEngine's wrapper on a GPU, or keep --amp without that type to "
            "train through 'AdaptAmpOptimWrapper'.")


@pytest.mark.parametrize('wrapper_type',
                         ['AmpOptimWrapper', 'mmengine.AmpOptimWrapper'])
def test_mmengine_wrapper_after_amp_is_refused_on_a_gpu_too(
        wrapper_type, monkeypatch):
    """On a GPU, MMEngine's AmpOptimWrapper got the cpu_bf16 of --amp and
    the Runner's build raised a TypeError (its constructor passes the
    argument on to OptimWrapper's, which takes no such keyword); now one
    line, before it."""
    monkeypatch.setattr(amp_config, 'is_cuda_available', lambda: True)
    args = train_tool.parse_args(
        [SSV2, '--amp', '--cfg-options', f'optim_wrapper.type={wrapper_type}'])
    cfg = train_tool.merge_args(Config.fromfile(SSV2), args)
    with pytest.raises(ConfigError) as info:
        amp_config.refuse_cpu_bf16_for_mmengine_wrapper(cfg, SSV2)
    assert str(info.value) == _mmengine_after_amp(SSV2).format(wrapper_type)


@NO_GPU
@pytest.mark.parametrize('wrapper_type',
                         ['AmpOptimWrapper', 'mmengine.AmpOptimWrapper'])
def test_mmengine_wrapper_after_amp_is_refused_on_one_line(
        tmp_path, tiny_image_data, wrapper_type):
    """On a CPU the refusal told to add the --amp given; now the line names
    the conflict and what to drop."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + TRAIN_ONLY_CFG +
        'train_cfg = dict(max_epochs=1)\n')
    proc = run_tool([
        'train.py', config, '--amp', '--work-dir', tmp_path / 'w',
        '--cfg-options', f'optim_wrapper.type={wrapper_type}'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=tmp_path / 'w')
    # The type is the option's, not the file's: the line names the option.
    assert line == 'ConfigError: ' + _mmengine_after_amp(config).format(
        wrapper_type).replace(f'{config}: ', '--cfg-options ', 1)


@pytest.mark.parametrize('wrapper', [
    dict(type='AmpOptimWrapper'),
    dict(type='AdaptAmpOptimWrapper', cpu_bf16=True),
    dict(type='mmengine.AdaptAmpOptimWrapper', cpu_bf16=False),
])
def test_wrappers_without_the_conflict_pass(wrapper):
    """Guard of kept behaviour: MMEngine's wrapper without cpu_bf16, and
    ours with it, are not refused for it."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.optim_wrapper.update(wrapper)
    amp_config.refuse_cpu_bf16_for_mmengine_wrapper(cfg, 'cfg.py')


@pytest.mark.parametrize('body,shown', [('optim_wrapper = None\n', None),
                                        ("optim_wrapper = 'SGD'\n", 'SGD')])
def test_amp_without_an_optim_wrapper_dict_is_named(tmp_path, body, shown):
    """``--amp`` over a config whose ``optim_wrapper`` is not a dict ended
    in ``AttributeError: 'NoneType' object has no attribute 'get'``, a
    traceback naming neither the file nor the key."""
    config = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG, body)
    cfg = Config.fromfile(config)
    with pytest.raises(ConfigError) as info:
        amp_config.apply_amp_flag(cfg, config)
    assert str(info.value) == (
        f'{config}: --amp sets optim_wrapper.type, but optim_wrapper is '
        f'{shown!r}, not a dict; give it one, e.g. optim_wrapper = '
        "dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01)).")


def test_checks_without_amp_leave_a_non_dict_optim_wrapper_to_the_runner():
    """Without ``--amp``, ``optim_wrapper = 'SGD'`` ended the checks before
    the Runner in ``AttributeError: 'str' object has no attribute 'get'``;
    they find no mixed-precision wrapper in it, and ``check_optim_wrapper``
    (utils/runner_check.py) names what it takes."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.optim_wrapper = 'SGD'
    assert amp_config.optim_wrapper_class(cfg) is None
    amp_config.refuse_cpu_bf16_for_mmengine_wrapper(cfg, 'cfg.py')
    amp_config.refuse_amp_without_accelerator(cfg, 'cfg.py')
    assert amp_config.mmengine_amp_wrapper_warning(cfg, 'cfg.py') is None
