# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py`` names a mistake in ``optim_wrapper`` or its
``optimizer`` before the Runner is built, so no work dir is made.

MMEngine's Runner builds the optimizer wrapper only in ``train()``, after
it has made the work dir and built the model: a misspelled optimizer
argument (``optim_wrapper.optimizer.lrr=0.1``) was refused only then, an
unknown optimizer type (``AdamWW``) was a traceback (``TypeError: None is
not a callable object``), and an unknown wrapper type or constructor, or a
misspelled wrapper argument, failed there too."""

import pytest
from config_writers import image_data_cfg, video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import (TINY_ADAPTFORMER_IMAGE_CONFIG,
                        TINY_ADAPTFORMER_VIDEO_CONFIG)
from tool_runners import run_tool

SGD_TAKES = ('It takes: lr, momentum, dampening, weight_decay, nesterov, '
             'maximize, foreach, differentiable, fused.')


def _refused(tmp_path, config, options):
    work_dir = tmp_path / 'work'
    proc = run_tool(
        ['train.py', config, '--work-dir', work_dir] + options,
        cwd=tmp_path,
        check=False)
    return refused_line(proc, no_dir=work_dir)


@pytest.mark.parametrize('option, line', [
    ('optim_wrapper.optimizer.lrr=0.1',
     '--cfg-options optim_wrapper.optimizer.lrr=0.1: SGD takes no argument '
     f"'lrr' (did you mean 'lr'?). {SGD_TAKES}"),
    ('optim_wrapper.optimizer.type=AdamWW',
     "--cfg-options optim_wrapper.optimizer.type='AdamWW': 'AdamWW' is not "
     "in the mmaction::optimizer registry; did you mean 'AdamW' or 'Adam' or "
     "'RAdam'? Check the spelling, or import the module that registers it "
     '(custom_imports).'),
])
def test_video_optimizer_mistakes_are_one_line_before_the_work_dir(
        tmp_path, tiny_video_data, option, line):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    assert _refused(tmp_path, config, ['--cfg-options', option]) == \
        'ConfigError: ' + line


@pytest.mark.parametrize('body, options, line', [
    ('', ['--cfg-options', 'optim_wrapper.optimizer.momentun=0.9'],
     '--cfg-options optim_wrapper.optimizer.momentun=0.9: SGD takes no '
     f"argument 'momentun' (did you mean 'momentum'?). {SGD_TAKES}"),
    ('optim_wrapper = dict(optimizer=dict(momentun=0.9))\n', [],
     '{config}: optim_wrapper.optimizer.momentun: SGD takes no argument '
     f"'momentun' (did you mean 'momentum'?). {SGD_TAKES}"),
    ('', ['--cfg-options', 'optim_wrapper.type=OptimWrapperr'],
     "--cfg-options optim_wrapper.type='OptimWrapperr': 'OptimWrapperr' is "
     'not in the mmpretrain::optimizer_wrapper registry; did you mean '
     "'OptimWrapper' or 'AmpOptimWrapper' or 'ApexOptimWrapper'? Check the "
     'spelling, or import the module that registers it (custom_imports).'),
    ('', ['--cfg-options', 'optim_wrapper.constructor=Foo'],
     "--cfg-options optim_wrapper.constructor='Foo': 'Foo' is not in the "
     'mmpretrain::optimizer wrapper constructor registry; it holds '
     'DefaultOptimWrapperConstructor, '
     'LearningRateDecayOptimWrapperConstructor. Check the spelling, or '
     'import the module that registers it (custom_imports).'),
    ('', ['--cfg-options', 'optim_wrapper.accumulative_count=2'],
     '--cfg-options optim_wrapper.accumulative_count=2: OptimWrapper takes '
     "no argument 'accumulative_count' (did you mean 'accumulative_counts'?"
     '). It takes: accumulative_counts, clip_grad.'),
    ('', ['--amp', '--cfg-options', 'optim_wrapper.loss_scal=512'],
     '--cfg-options optim_wrapper.loss_scal=512: AdaptAmpOptimWrapper takes '
     "no argument 'loss_scal' (did you mean 'loss_scale'?). It takes: "
     'loss_scale, dtype, use_fsdp, device_type, cpu_bf16, '
     'accumulative_counts, clip_grad.'),
])
def test_image_optimizer_mistakes_are_one_line_before_the_work_dir(
        tmp_path, tiny_image_data, body, options, line):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data) + body)
    assert _refused(tmp_path, config, options) == \
        'ConfigError: ' + line.format(config=config)
