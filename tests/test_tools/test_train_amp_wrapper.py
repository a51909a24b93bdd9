# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which optimizer wrapper ``tools/train.py`` trains a paper recipe with:
the recipes' AdaptAmpOptimWrapper on a GPU with and without ``--amp``, and
on a CPU only with ``--amp``."""
import os.path as osp

import pytest
import torch
from helpers import CONFIGS, TINY_VIDEO_CONFIG, load_tool, run_tool
from mmengine.config import Config
from mmengine.registry import OPTIM_WRAPPERS, init_default_scope

from mmadaptformer.engine import AdaptAmpOptimWrapper
from mmadaptformer.utils import ConfigError

train_tool = load_tool('train.py')
SSV2 = osp.join(CONFIGS, 'adaptformer_vitb_ssv2.py')
CIFAR100 = osp.join(CONFIGS, 'adaptformer_vitb_cifar100.py')


def _train_cfg(config, argv=()):
    args = train_tool.parse_args([config] + list(argv))
    return train_tool.merge_args(Config.fromfile(config), args)


def _built_type(cfg):
    init_default_scope(cfg.default_scope)
    return OPTIM_WRAPPERS.get(cfg.optim_wrapper.type)


@pytest.mark.parametrize('recipe', [SSV2, CIFAR100])
def test_recipe_on_a_gpu_machine_trains_through_our_wrapper(
        recipe, monkeypatch):
    """``tools/dist_train.sh configs/adaptformer_vitb_ssv2.py 8`` (no
    --amp) on a GPU: not refused, and the wrapper built is ours (MMEngine's
    AmpOptimWrapper called the deprecated torch.cuda.amp API and failed in
    the heads under bfloat16)."""
    # The machine's answer is what tools/train.py decides on; this one has
    # no GPU to give it.
    monkeypatch.setattr(train_tool, 'is_cuda_available', lambda: True)
    cfg = _train_cfg(recipe)
    train_tool.refuse_amp_without_accelerator(cfg, recipe)
    assert _built_type(cfg) is AdaptAmpOptimWrapper
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
        assert _built_type(cfg) is AdaptAmpOptimWrapper
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
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout, proc.stdout[-3000:]
    line = proc.stdout.strip().splitlines()[-1]
    assert line == (
        f"ConfigError: {SSV2}: optim_wrapper.type='AdaptAmpOptimWrapper' "
        "trains in float16 on a GPU (the paper's recipes do), and this "
        'machine has none. Add --amp to train with bfloat16 autocast on the '
        'CPU (it sets optim_wrapper.cpu_bf16=True), or --cfg-options '
        'optim_wrapper.type=OptimWrapper to train in float32.'), line
    assert not (tmp_path / 'w').exists()


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
