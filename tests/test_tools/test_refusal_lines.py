# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Config mistakes a user makes first end tools/train.py with one line that
says what to do, not a traceback through the Runner: a backbone without
transformer blocks, a head with the wrong number of classes, a frozen
backbone no checkpoint loads. A classifier of other classes as load_from
is fine-tuned, with a warning."""
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     image_data_cfg, run_tool, stripes_config, video_data_cfg,
                     write_config)
from refusal_lines import refused_line, usage_line


def _refused(proc):
    return refused_line(proc)


def test_a_backbone_without_transformer_blocks(tmp_path, tiny_image_data):
    config = write_config(
        tmp_path / 'convmixer.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) +
        "model = dict(backbone=dict(_delete_=True, type='AdaptFormer', "
        "backbone=dict(type='ConvMixer', arch=dict(embed_dims=16, depth=2, "
        'patch_size=4, kernel_size=3))))\n')
    line = _refused(
        run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                 cwd=tmp_path,
                 check=False))
    # Named with the file, before the Runner makes the work dir.
    assert line.startswith(f'ConfigError: {config}: No transformer block of '
                           'a known type was found in ConvMixer.'), line
    assert not (tmp_path / 'w').exists()
    assert 'a network without them (a CNN) cannot take' in line


def test_a_head_of_another_number_of_classes(tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    line = _refused(
        run_tool([
            'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
            'train_dataloader.dataset.num_classes=51'
        ],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith('ConfigError: --cfg-options '
                           'train_dataloader.dataset.num_classes=51: '
                           'model.cls_head.num_classes=2 but '
                           'train_dataloader.dataset.num_classes=51.'), line


def test_a_frozen_backbone_no_checkpoint_loads(tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    line = _refused(
        run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith('UnloadedBackboneError: AdapterHook: The frozen '
                           'backbone VisionTransformer'), line
    assert 'Give tools/train.py --pretrained PATH' in line


def test_a_classifier_of_other_classes_as_load_from_is_fine_tuned(
        tmp_path, tiny_image_data):
    """load_from of a 5-class classifier for a 2-class task fine-tunes it,
    as in MMEngine: all but the head of another size loads, the head keeps
    the config's initialisation, and one warning line names the file, the
    head keys and both numbers. It was refused with advice to give it as
    --pretrained, which refuses a trained AdaptFormer model's file (with
    adapters) and sent the user back to load_from."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    stock = write_config(
        tmp_path / 'stock5.py', TINY_IMAGE_CONFIG,
        'model = dict(head=dict(num_classes=5), '
        'data_preprocessor=dict(num_classes=5))\n')
    init_default_scope('mmpretrain')
    model = MODELS.build(Config.fromfile(stock).model)
    ckpt = str(tmp_path / 'five.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    config = stripes_config(
        tmp_path, tiny_image_data, f'load_from = {ckpt!r}\n'
        "custom_hooks = [dict(type='AdapterHook')]\n"
        'default_hooks = dict(checkpoint_check=dict('
        "type='CheckpointCheckHook'))\n")
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (f'WARNING - {ckpt}: its head was trained for another number of '
            'classes: num_classes (model.head.num_classes): checkpoint 5, '
            'this model 2 (head.fc.weight: (5, 64) vs (2, 64), head.fc.bias: '
            '(5,) vs (2,)). Fine-tuning on 2 classes: loading all of it but '
            'these 2 head tensors (head.fc.weight, head.fc.bias), which keep '
            "this config's initialisation.") in proc.stdout, \
        proc.stdout[-3000:]


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='AmpOptimWrapper builds on a GPU')
def test_amp_optim_wrapper_on_a_machine_without_gpu(tmp_path, tiny_video_data):
    """MMEngine's AmpOptimWrapper without --amp on a CPU (or set back by
    --cfg-options after it) was an AssertionError traceback from deep in
    the Runner."""
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    expected = {
        # Without --amp: no GPU for MMEngine's wrapper.
        (): ("ConfigError: --cfg-options optim_wrapper.type='AmpOptimWrapper' "
             'trains in mixed precision on a GPU, and this machine has none. '
             'Add --amp to train with bfloat16 autocast on the CPU (it sets '
             "optim_wrapper.type='AdaptAmpOptimWrapper' and "
             'optim_wrapper.cpu_bf16=True, before --cfg-options), or '
             '--cfg-options optim_wrapper.type=OptimWrapper to train in '
             'float32.'),
        # --cfg-options sets it back after --amp, which set cpu_bf16.
        (
            '--amp', ):
        ("ConfigError: --cfg-options optim_wrapper.type='AmpOptimWrapper' is "
         "MMEngine's AmpOptimWrapper, which takes no cpu_bf16 "
         '(optim_wrapper.cpu_bf16=True; --amp sets it). Drop --amp to train '
         "through MMEngine's wrapper on a GPU, or keep --amp without that "
         "type to train through 'AdaptAmpOptimWrapper'.")
    }
    for amp, want in expected.items():
        line = _refused(
            run_tool(
                ['train.py', config, '--work-dir', tmp_path / 'w'] +
                list(amp) +
                ['--cfg-options', 'optim_wrapper.type=AmpOptimWrapper'],
                cwd=tmp_path,
                check=False))
        assert line == want, line


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_a_missing_base_is_named_where_it_is_named(tmp_path, tool):
    """A ``_base_`` file that is not there ended tools/train.py and
    tools/test.py with MMEngine's bare ``FileNotFoundError``; the config
    loader every tool goes through now names it and the line naming it
    (as tools/infer.py says it), exit status 2 as there."""
    config = tmp_path / 'nobase.py'
    config.write_text("# a config\n_base_ = ['missing_base.py']\n")
    argv = [tool, str(config), '--work-dir', str(tmp_path / 'w')]
    if tool == 'test.py':
        argv.insert(2, str(tmp_path / 'ckpt.pth'))
        (tmp_path / 'ckpt.pth').write_bytes(b'')
    line = usage_line(run_tool(argv, cwd=tmp_path, check=False))
    assert line == (
        f'{tool}: error: The config {config}: its _base_ '
        f'{tmp_path / "missing_base.py"} does not exist (named in {config}, '
        'line 2).'), line
    assert not (tmp_path / 'w').exists()
