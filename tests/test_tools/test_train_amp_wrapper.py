# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which optimizer wrapper ``tools/train.py`` trains a paper recipe with:
the recipes' AdaptAmpOptimWrapper on a GPU with and without ``--amp``, and
on a CPU only with ``--amp``."""
import math
import os.path as osp
import re

import pytest
import torch
from helpers import (CONFIGS, TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG,
                     TRAIN_ONLY_CFG, image_data_cfg, load_tool, run_tool,
                     write_config)
from mmengine.config import Config
from optim_wrapper_builders import registry_optim_wrapper
from refusal_lines import refused_line

from mmadaptformer.engine import AdaptAmpOptimWrapper
from mmadaptformer.engine.optimizers import amp_config
from mmadaptformer.utils import ConfigError

train_tool = load_tool('train.py')
SSV2 = osp.join(CONFIGS, 'adaptformer_vitb_ssv2.py')
CIFAR100 = osp.join(CONFIGS, 'adaptformer_vitb_cifar100.py')


def _train_cfg(config, argv=()):
    args = train_tool.parse_args([config] + list(argv))
    return train_tool.merge_args(Config.fromfile(config), args)


def _refusal(config, wrapper_type):
    """The one message of every mixed-precision wrapper refused on a CPU."""
    return (f'{config}: optim_wrapper.type={wrapper_type!r} trains in mixed '
            'precision on a GPU, and this machine has none. Add --amp to '
            'train with bfloat16 autocast on the CPU (it sets '
            "optim_wrapper.type='AdaptAmpOptimWrapper' and "
            'optim_wrapper.cpu_bf16=True, before --cfg-options), or '
            '--cfg-options optim_wrapper.type=OptimWrapper to train in '
            'float32.')


@pytest.mark.parametrize('recipe', [SSV2, CIFAR100])
def test_recipe_on_a_gpu_machine_trains_through_our_wrapper(
        recipe, monkeypatch):
    """``tools/dist_train.sh configs/adaptformer_vitb_ssv2.py 8`` (no
    --amp) on a GPU: not refused, and the wrapper built is ours (MMEngine's
    AmpOptimWrapper called the deprecated torch.cuda.amp API and failed in
    the heads under bfloat16)."""
    # The machine's answer is what tools/train.py decides on; this one has
    # no GPU to give it.
    monkeypatch.setattr(amp_config, 'is_cuda_available', lambda: True)
    cfg = _train_cfg(recipe)
    train_tool.refuse_amp_without_accelerator(cfg, recipe)
    assert registry_optim_wrapper(cfg) is AdaptAmpOptimWrapper
    assert not cfg.optim_wrapper.get('cpu_bf16', False)


@pytest.mark.parametrize('recipe', [SSV2, CIFAR100])
def test_amp_gives_exactly_the_recipe_wrapper(recipe):
    """``--amp`` trains a tiny config through the class the recipe names,
    so a GPU run with --amp (the GPU check's CPU rehearsal) tests the
    recipe's wrapper."""
    recipe_type = Config.fromfile(recipe).optim_wrapper.type
    for config in (recipe, TINY_VIDEO_CONFIG):
        cfg = _train_cfg(config, ['--amp'])
        assert cfg.optim_wrapper.type == recipe_type
        assert registry_optim_wrapper(cfg) is AdaptAmpOptimWrapper
        # Only --amp lets it autocast on a CPU.
        assert cfg.optim_wrapper.cpu_bf16 is True
        assert cfg.optim_wrapper.loss_scale == 'dynamic'


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='needs a machine without a GPU')
def test_recipe_without_amp_on_a_cpu_is_refused_on_one_line(tmp_path):
    """The CPU still never trains a recipe in bfloat16 unasked: refused
    before anything is built, naming --amp and float32."""
    proc = run_tool(['train.py', SSV2, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=tmp_path / 'w')
    assert line == 'ConfigError: ' + _refusal(SSV2, 'AdaptAmpOptimWrapper')


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='needs a machine without a GPU')
def test_cpu_decision_follows_cpu_bf16_after_cfg_options():
    cfg = _train_cfg(SSV2, ['--amp'])
    train_tool.refuse_amp_without_accelerator(cfg, SSV2)  # not refused
    # --cfg-options come after --amp and may take the CPU back.
    cfg = _train_cfg(
        SSV2, ['--amp', '--cfg-options', 'optim_wrapper.cpu_bf16=False'])
    with pytest.raises(ConfigError, match='Add --amp'):
        train_tool.refuse_amp_without_accelerator(cfg, SSV2)


def _user_config(tmp_path, data, body=''):
    """A config of a user's own on the tiny image config that names
    MMEngine's AmpOptimWrapper, as MMAction2's and MMPretrain's own
    ``tools/train.py --amp`` write it."""
    return write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(data) + TRAIN_ONLY_CFG +
        "optim_wrapper = dict(type='AmpOptimWrapper')\n"
        'train_cfg = dict(max_epochs=1)\n' + body)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='needs a machine without a GPU')
@pytest.mark.parametrize('wrapper', [
    dict(type='AmpOptimWrapper'),
    dict(type='AdaptAmpOptimWrapper'),
    dict(type='AdaptAmpOptimWrapper', cpu_bf16=False),
    dict(type='CPUAmpOptimWrapper', cpu_bf16=False),
])
def test_one_refusal_for_every_gpu_amp_wrapper_on_a_cpu(wrapper):
    """MMEngine's wrapper and ours without cpu_bf16 get the same line (there
    were two near-identical ones), and the first name told not to train on
    the CPU is refused before the Runner too (it was refused only once the
    Runner built it)."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.optim_wrapper.update(wrapper)
    with pytest.raises(ConfigError) as info:
        train_tool.refuse_amp_without_accelerator(cfg, 'cfg.py')
    assert str(info.value) == _refusal('cfg.py', wrapper['type'])


@pytest.mark.parametrize('wrapper', [
    dict(type='OptimWrapper'),
    dict(type='CPUAmpOptimWrapper'),
    dict(type='AdaptAmpOptimWrapper', cpu_bf16=True),
])
def test_cpu_amp_wrappers_are_not_refused(wrapper):
    """Guard of kept behaviour: what trains on a CPU is let through."""
    cfg = Config.fromfile(TINY_IMAGE_CONFIG)
    cfg.optim_wrapper.update(wrapper)
    train_tool.refuse_amp_without_accelerator(cfg, 'cfg.py')


def test_mmengine_amp_wrapper_on_cuda_is_warned_with_the_type_to_name(
        tmp_path, tiny_image_data, monkeypatch):
    """A config that names MMEngine's AmpOptimWrapper keeps it without
    --amp (the name is MMEngine's, as in MMAction2's tools), but on CUDA the
    tool says which type trains without torch 2's deprecated calls;
    nothing is said for --amp, the recipes or the CPU."""
    config = _user_config(tmp_path, tiny_image_data)
    monkeypatch.setattr(amp_config, 'is_cuda_available', lambda: True)
    cfg = _train_cfg(config)
    assert registry_optim_wrapper(cfg).__module__.startswith('mmengine.')
    assert train_tool.mmengine_amp_wrapper_warning(cfg, config) == (
        f"{config}: optim_wrapper.type='AmpOptimWrapper' is MMEngine's "
        'wrapper, which on CUDA calls what torch 2 deprecates '
        '(torch.cuda.amp.GradScaler, torch.get_autocast_gpu_dtype) and '
        "with dtype='bfloat16' fails in mmaction2's heads. Name "
        "'AdaptAmpOptimWrapper' (the same arguments; the recipes' wrapper) "
        'or add --amp to train through it.')
    assert train_tool.mmengine_amp_wrapper_warning(
        _train_cfg(config, ['--amp']), config) is None
    assert train_tool.mmengine_amp_wrapper_warning(_train_cfg(SSV2),
                                                   SSV2) is None
    monkeypatch.setattr(amp_config, 'is_cuda_available', lambda: False)
    assert train_tool.mmengine_amp_wrapper_warning(cfg, config) is None


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='needs a machine without a GPU')
def test_user_amp_optim_wrapper_with_amp_trains_through_ours(
        tmp_path, tiny_image_data, clean_loggers):
    """Guard of kept behaviour: ``tools/train.py --amp`` writes the
    recipes' wrapper over MMEngine's AmpOptimWrapper, into the run's config
    copy too, and MMEngine's own ``Runner.from_cfg`` trains that copy on
    the CPU in bfloat16; the user's config itself still builds MMEngine's
    wrapper, which refuses the CPU (the name is not taken over)."""
    from mmengine.runner import Runner
    config = _user_config(tmp_path, tiny_image_data)
    work = tmp_path / 'work'
    proc = run_tool(['train.py', config, '--amp', '--work-dir', work],
                    cwd=tmp_path)
    losses = [float(v) for v in re.findall(r' loss: (\S+)', proc.stdout)]
    assert len(losses) == 2 and all(map(math.isfinite, losses)), losses
    copy = Config.fromfile(work / 'cfg.py')
    assert copy.optim_wrapper.type == 'AdaptAmpOptimWrapper'
    assert copy.optim_wrapper.cpu_bf16 is True

    copy.work_dir = str(tmp_path / 'again')
    runner = Runner.from_cfg(copy)
    runner.train()
    assert type(runner.optim_wrapper) is AdaptAmpOptimWrapper
    assert runner.optim_wrapper.cast_dtype == torch.bfloat16
    assert runner.optim_wrapper._inner_count == 2  # two steps of 4 images

    own = Config.fromfile(config)
    own.work_dir = str(tmp_path / 'own')
    with pytest.raises(
            AssertionError, match='only available training on '
            'gpu'):
        Runner.from_cfg(own).train()


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='fakes CUDA on a machine without it')
def test_mmengine_amp_wrapper_warning_is_in_the_runs_log_file(
        tmp_path, tiny_image_data, monkeypatch):
    """The CUDA warning was logged before the Runner existed, to the
    console only; a cluster user reads the run's log file. CUDA is faked
    for the tool's checks only: MMEngine's wrapper then fails training on
    this CPU, after the Runner (and its log file) is built."""
    config = _user_config(tmp_path, tiny_image_data)
    monkeypatch.setattr(amp_config, 'is_cuda_available', lambda: True)
    work_dir = tmp_path / 'w'
    with pytest.raises(BaseException):  # MMEngine: only on a GPU
        train_tool.main([config, '--work-dir', str(work_dir)])
    logs = list(work_dir.glob('*/*.log'))
    assert len(logs) == 1, logs
    text = logs[0].read_text()
    assert "optim_wrapper.type='AmpOptimWrapper' is MMEngine's wrapper" in \
        text, text[-2000:]
