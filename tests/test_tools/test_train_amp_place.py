# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The mixed-precision refusals of ``tools/train.py`` name where
``optim_wrapper.type`` was set: the ``--cfg-options`` entry that set it,
not the config file, which names another wrapper."""
import os.path as osp

import pytest
import torch
from helpers import CONFIGS, load_tool, run_tool
from mmengine.config import Config
from refusal_lines import refused_line

from mmadaptformer.engine.optimizers import amp_config
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.config_place import giving_cfg_options

train_tool = load_tool('train.py')
TINY_VIDEO = osp.join(CONFIGS, 'tiny', 'tiny_vit_video.py')
NO_GPU = pytest.mark.skipif(
    torch.cuda.is_available(), reason='refused on a machine without a GPU')

_NO_GPU_TAIL = (
    ' trains in mixed precision on a GPU, and this machine has none. Add '
    '--amp to train with bfloat16 autocast on the CPU (it sets '
    "optim_wrapper.type='AdaptAmpOptimWrapper' and "
    'optim_wrapper.cpu_bf16=True, before --cfg-options), or --cfg-options '
    'optim_wrapper.type=OptimWrapper to train in float32.')
_CPU_BF16_TAIL = (
    " is MMEngine's AmpOptimWrapper, which takes no cpu_bf16 "
    '(optim_wrapper.cpu_bf16=True; --amp sets it). Drop --amp to train '
    "through MMEngine's wrapper on a GPU, or keep --amp without that type "
    "to train through 'AdaptAmpOptimWrapper'.")


def _merged(argv, config=TINY_VIDEO):
    """The config and the options, merged as ``tools/train.py`` does."""
    args = train_tool.parse_args([config] + list(argv))
    return train_tool.merge_args(Config.fromfile(config), args), \
        args.cfg_options


@NO_GPU
@pytest.mark.parametrize(
    'amp, tail', [((), _NO_GPU_TAIL), (('--amp', ), _CPU_BF16_TAIL)],
    ids=['without-amp', 'with-amp'])
def test_train_names_the_cfg_options_entry(tmp_path, amp, tail):
    """The real tool named the config file, which has OptimWrapper:
    ``ConfigError: configs/tiny/tiny_vit_video.py:
    optim_wrapper.type='AmpOptimWrapper' ...``."""
    proc = run_tool(
        ['train.py', TINY_VIDEO, '--work-dir', tmp_path / 'w'] + list(amp) +
        ['--cfg-options', 'optim_wrapper.type=AmpOptimWrapper'],
        cwd=tmp_path,
        check=False)
    line = refused_line(proc, no_dir=str(tmp_path / 'w'))
    assert line == ('ConfigError: --cfg-options '
                    "optim_wrapper.type='AmpOptimWrapper'" + tail), line


@NO_GPU
def test_a_whole_wrapper_option_is_named_as_set_by_it():
    """``--cfg-options optim_wrapper={...}`` set the type: named as the key
    set by that entry, as the other refusals name it."""
    wrapper = "{'type':'AmpOptimWrapper','optimizer':{'type':'SGD','lr':0.1}}"
    cfg, options = _merged(['--cfg-options', f'optim_wrapper={wrapper}'])
    with giving_cfg_options(options), pytest.raises(ConfigError) as info:
        amp_config.refuse_amp_without_accelerator(cfg, TINY_VIDEO)
    assert str(info.value).startswith(
        "optim_wrapper.type = 'AmpOptimWrapper', set by --cfg-options "
        "optim_wrapper={'type': 'AmpOptimWrapper', "), info.value
    assert TINY_VIDEO not in str(info.value)


@NO_GPU
def test_cpu_bf16_set_by_an_option_is_named_with_the_file_type(tmp_path):
    """The file's AdaptAmpOptimWrapper, refused because an option turned
    its cpu_bf16 off: the file names the type, the option cpu_bf16."""
    config = tmp_path / 'cfg.py'
    config.write_text(f'_base_ = [{TINY_VIDEO!r}]\n'
                      "optim_wrapper = dict(type='AdaptAmpOptimWrapper', "
                      'cpu_bf16=True)\n')
    cfg, options = _merged(['--cfg-options', 'optim_wrapper.cpu_bf16=False'],
                           str(config))
    with giving_cfg_options(options), pytest.raises(ConfigError) as info:
        amp_config.refuse_amp_without_accelerator(cfg, str(config))
    assert str(info.value) == (
        f"{config}: optim_wrapper.type='AdaptAmpOptimWrapper' (with "
        '--cfg-options optim_wrapper.cpu_bf16=False)' + _NO_GPU_TAIL)


@NO_GPU
def test_a_type_set_in_the_file_still_names_the_file(tmp_path):
    """Guard of kept behaviour: a type the file sets is named by the file,
    whatever other options the run is given."""
    config = tmp_path / 'cfg.py'
    config.write_text(f'_base_ = [{TINY_VIDEO!r}]\n'
                      "optim_wrapper = dict(type='AmpOptimWrapper')\n")
    cfg, options = _merged(['--cfg-options', 'optim_wrapper.optimizer.lr=0.5'],
                           str(config))
    with giving_cfg_options(options), pytest.raises(ConfigError) as info:
        amp_config.refuse_amp_without_accelerator(cfg, str(config))
    assert str(
        info.value) == (f"{config}: optim_wrapper.type='AmpOptimWrapper'" +
                        _NO_GPU_TAIL)
    cfg, options = _merged(
        ['--amp', '--cfg-options', 'train_cfg.max_epochs=2'], str(config))
    with giving_cfg_options(options):
        # --amp replaced the file's type: nothing to refuse.
        amp_config.refuse_cpu_bf16_for_mmengine_wrapper(cfg, str(config))
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        with pytest.raises(ConfigError) as info:
            amp_config.refuse_cpu_bf16_for_mmengine_wrapper(cfg, str(config))
    assert str(
        info.value) == (f"{config}: optim_wrapper.type='AmpOptimWrapper'" +
                        _CPU_BF16_TAIL)


def test_cuda_warning_names_the_cfg_options_entry(monkeypatch):
    """The CUDA warning named the file for a type an option set. CUDA is
    what the warning is about; on a machine without it, its availability
    is the one thing faked."""
    monkeypatch.setattr(amp_config, 'is_cuda_available', lambda: True)
    cfg, options = _merged(
        ['--cfg-options', 'optim_wrapper.type=AmpOptimWrapper'])
    warning = amp_config.mmengine_amp_wrapper_warning(cfg, TINY_VIDEO, options)
    assert warning.startswith('--cfg-options optim_wrapper.type='
                              "'AmpOptimWrapper' is MMEngine's wrapper"), \
        warning
    # Outside a tool's run and given none: the file, as before.
    assert amp_config.mmengine_amp_wrapper_warning(cfg, TINY_VIDEO).startswith(
        f"{TINY_VIDEO}: optim_wrapper.type='AmpOptimWrapper'")


def test_cpu_bf16_set_by_an_option_is_not_said_to_be_amps():
    """Without --amp, an option that gave MMEngine's wrapper cpu_bf16 was
    named neither (the line said the file, and that --amp set it)."""
    cfg, options = _merged([
        '--cfg-options', 'optim_wrapper.type=AmpOptimWrapper',
        'optim_wrapper.cpu_bf16=True'
    ])
    with giving_cfg_options(options), pytest.raises(ConfigError) as info:
        amp_config.refuse_cpu_bf16_for_mmengine_wrapper(cfg, TINY_VIDEO)
    assert str(info.value).startswith(
        "--cfg-options optim_wrapper.type='AmpOptimWrapper' is MMEngine's "
        'AmpOptimWrapper, which takes no cpu_bf16 (--cfg-options '
        'optim_wrapper.cpu_bf16=True). Drop --amp'), info.value


def test_cpu_bf16_written_in_the_file_is_not_said_to_be_amps(tmp_path):
    """Without --amp, a file that writes MMEngine's AmpOptimWrapper with
    cpu_bf16 wrote both: the line names the file's value and says to drop
    cpu_bf16 (it said "--amp sets it. Drop --amp", and no --amp was
    given). The real tool, on every machine."""
    config = tmp_path / 'cfg.py'
    config.write_text(f'_base_ = [{TINY_VIDEO!r}]\n'
                      "optim_wrapper = dict(type='AmpOptimWrapper', "
                      'cpu_bf16=True)\n')
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=str(tmp_path / 'w'))
    assert line == (
        f"ConfigError: {config}: optim_wrapper.type='AmpOptimWrapper' is "
        "MMEngine's AmpOptimWrapper, which takes no cpu_bf16 "
        f'(optim_wrapper.cpu_bf16=True in {config}). Drop cpu_bf16 to '
        "train through MMEngine's wrapper on a GPU, or set "
        "optim_wrapper.type='AdaptAmpOptimWrapper', which takes it."), line
