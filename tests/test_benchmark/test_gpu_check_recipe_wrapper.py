# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The GPU check trains its tiny configs through the optimizer wrapper the
paper's recipes get, as they get it: on CUDA without ``--amp``."""
import pytest
from helpers import load_tool
from mmengine.config import Config

from mmadaptformer.benchmark.gpu_check.tool_runs import (RECIPES,
                                                         recipe_amp_args)
from mmadaptformer.engine import AdaptAmpOptimWrapper

train_tool = load_tool('train.py')


def _merged(config, argv):
    args = train_tool.parse_args([config] + argv)
    return train_tool.merge_args(Config.fromfile(config), args)


@pytest.mark.parametrize('task', ['video', 'image'])
def test_cuda_runs_are_the_recipe_command(task):
    recipe = Config.fromfile(RECIPES[task])
    for dtype in ('float16', 'bfloat16'):
        argv = recipe_amp_args(task, 'cuda', dtype)
        # The recipe's own command has no --amp on a GPU.
        assert '--amp' not in argv
        cfg = _merged(RECIPES[task], argv)
        assert cfg.optim_wrapper.type == recipe.optim_wrapper.type
        assert 'cpu_bf16' not in cfg.optim_wrapper
        assert cfg.optim_wrapper.get('dtype') == ('bfloat16' if dtype
                                                  == 'bfloat16' else None)
    from mmengine.registry import OPTIM_WRAPPERS
    assert OPTIM_WRAPPERS.get(recipe.optim_wrapper.type) is \
        AdaptAmpOptimWrapper


def test_cpu_rehearsal_adds_amp_to_the_recipe_wrapper():
    argv = recipe_amp_args('video', 'cpu', 'bfloat16')
    assert argv[0] == '--amp' and argv[1] == '--cfg-options'
    cfg = _merged(RECIPES['video'], argv)
    assert cfg.optim_wrapper.type == 'AdaptAmpOptimWrapper'
    assert cfg.optim_wrapper.cpu_bf16 is True
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    # More settings follow its --cfg-options, as the resume run's do.
    cfg = _merged(RECIPES['video'], argv + ['train_cfg.max_epochs=3'])
    assert cfg.train_cfg.max_epochs == 3
