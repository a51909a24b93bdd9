# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/analysis_tools/benchmark_train.py."""
import json
import os.path as osp

import pytest
from helpers import (CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, run_tool)

from mmadaptformer import benchmark as tool

# The tiny AdaptFormer config: 2 blocks of width 64, bottleneck 8, 2
# classes, BN (no affine) + Linear head, fc_norm trains.
ADAPTERS = 2 * (64 * 8 + 8 + 8 * 64 + 64)
HEAD_AND_FC_NORM = 64 * 2 + 2 + 2 * 64


def _spec(config, *argv):
    args = tool.parse_args([config, *argv])
    return tool.input_spec(tool.load_config(args), args)


def test_input_shape_from_pipeline_backbone_or_flags():
    spec = _spec(osp.join(CONFIGS, 'benchmark', 'adaptformer_vits_8x112.py'))
    assert spec['batch_size'] == 4
    assert spec['sample_shape'] == [1, 3, 8, 112, 112]
    assert spec['sources'] == dict(
        size='train pipeline', frames='train pipeline')
    spec = _spec(TINY_VIDEO_CONFIG, '--batch-size', '2', '--num-frames', '8',
                 '--img-size', '48', '64')
    assert spec['batch_size'] == 2
    assert spec['sample_shape'] == [1, 3, 8, 48, 64]
    # The tiny image pipeline has no resize: the backbone's img_size.
    spec = _spec(TINY_IMAGE_CONFIG)
    assert spec['sample_shape'] == [3, 32, 32]
    assert spec['sources']['size'] == 'backbone img_size'


def test_modes_build_adaptformer_or_stock_models():
    args = tool.parse_args([TINY_VIDEO_CONFIG, '--with-cp'])
    cfg = tool.load_config(args)
    # A config without adapters gets AdaptFormer's defaults.
    model, added = tool.model_cfg_for(cfg, 'adaptformer', args)
    assert added and model['backbone']['type'] == 'AdaptFormer'
    assert model['backbone']['with_cp'] and \
        model['backbone']['fused_attention']
    model, _ = tool.model_cfg_for(cfg, 'adaptformer_plain', args)
    assert not model['backbone']['with_cp'] and \
        not model['backbone']['fused_attention']
    # An AdaptFormer config runs its stock backbone in the baselines.
    args = tool.parse_args([TINY_ADAPTFORMER_VIDEO_CONFIG])
    cfg = tool.load_config(args)
    model, added = tool.model_cfg_for(cfg, 'full_ft', args)
    assert not added
    assert model['backbone'] == cfg.model.backbone.backbone.to_dict()


def test_benchmark_train_smoke(tmp_path):
    out, png = tmp_path / 'bench.json', tmp_path / 'bench.png'
    proc = run_tool([
        'analysis_tools/benchmark_train.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        '--iters', 2, '--warmup', 1, '--matmul-size', 256, '--out', out,
        '--plot', png
    ],
                    cwd=tmp_path)
    result = json.loads(out.read_text())
    modes = result['modes']
    assert list(modes) == ['adaptformer', 'linear_probe', 'full_ft']
    for mode, summary in modes.items():
        assert mode in proc.stdout
        assert len(summary['runs']) == 1
        assert len(summary['runs'][0]['step_times_s']) == 2
        for field in ('step_s', 'step_cpu_s', 'train_throughput',
                      'peak_mem_mb', 'infer_step_s', 'infer_throughput'):
            assert summary[field]['median'] > 0, (mode, field)
        # Frozen weights got no gradient.
        assert summary['frozen_params_with_grad'] == 0
    assert modes['adaptformer']['trainable_params'] == \
        ADAPTERS + HEAD_AND_FC_NORM
    assert modes['linear_probe']['trainable_params'] == HEAD_AND_FC_NORM
    full = modes['full_ft']
    assert full['trainable_params'] == full['total_params']
    assert full['total_params'] == \
        modes['adaptformer']['total_params'] - ADAPTERS
    # SGD with momentum keeps one float32 buffer per trainable parameter.
    for summary in modes.values():
        assert summary['optim_state_mb'] * 2**20 == \
            4 * summary['trainable_params']
    # Frozen weights need no weight gradients: a step of AdaptFormer counts
    # at most about 2 forward passes against 3 for full fine-tuning (less:
    # the frozen patch embedding needs no backward at all), a linear
    # probe's about 1.
    full_flops = full['step_flops']
    assert 0.45 < modes['adaptformer']['step_flops'] / full_flops < 0.7
    assert modes['linear_probe']['step_flops'] / full_flops < 0.45
    assert modes['linear_probe']['step_flops'] < \
        modes['adaptformer']['step_flops']
    for summary in modes.values():
        assert summary['matmul_dtype'] == 'float32'
        assert summary['matmul_size'] == 256  # --matmul-size is kept
        assert summary['matmul_flops_per_s']['median'] > 1e8
        assert summary['mfu']['median'] == pytest.approx(
            summary['step_flops'] / summary['step_s']['median'] /
            summary['matmul_flops_per_s']['median'],
            rel=0.5)
        assert 0 < summary['mfu_cpu_time']['median'] < 1.5
    assert result['ratios_to_full_ft']['full_ft']['step_s']['median'] == 1
    assert result['settings']['sample_shape'] == [1, 3, 4, 32, 32]
    assert result['machine']['cores'] >= 1
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_mfu_reference_size_fits_the_cpus_speed():
    from mmadaptformer.benchmark.measure import (fit_matmul_size,
                                                 reference_matmul_size)

    # Measured on an AVX2-only AMD EPYC, one thread: a 512-square product
    # took 0.0034 s in float32 and 0.21 s in bfloat16 (1024: 2.57 s, 2048:
    # 63 s; the cubic estimate is lower, which still shrinks it).
    assert fit_matmul_size(2048, 512, 0.0034, 1.0) == 2048
    assert fit_matmul_size(2048, 512, 0.21, 1.0) == 512
    assert fit_matmul_size(2048, 512, 100., 1.0) == 256  # the floor
    # An explicit size is kept; a GPU's default is not probed.
    assert reference_matmul_size('cpu', 'bfloat16', 384) == 384
    assert reference_matmul_size('cuda', 'bfloat16', None) == 8192


def test_help_shows_defaults_and_fp16_needs_cuda(capsys):
    with pytest.raises(SystemExit):
        tool.parse_args(['--help'])
    help_text = ' '.join(capsys.readouterr().out.split())
    assert 'measured steps per mode (default: 10)' in help_text
    assert "(default: ['none'])" in help_text
    # Options without a default say what happens instead, once.
    assert 'default: None' not in help_text
    with pytest.raises(SystemExit):
        tool.parse_args(
            [TINY_VIDEO_CONFIG, '--amp', 'fp16', '--device', 'cpu'])
    assert '--amp fp16 needs --device cuda' in capsys.readouterr().err
