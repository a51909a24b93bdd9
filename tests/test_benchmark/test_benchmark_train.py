# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/analysis_tools/benchmark_train.py."""
import json
import os.path as osp

import pytest
import torch
from helpers import (CONFIGS, TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, VIDEO_HOST, run_tool)

from mmadaptformer import benchmark as tool
from mmadaptformer.benchmark import runner
from mmadaptformer.benchmark.flops import SDPA_BACKWARD_LAYOUTS
from mmadaptformer.benchmark.report import RATIO_MEANING

# The tiny AdaptFormer config: 2 blocks of width 64, bottleneck 8, 2
# classes, BN (no affine) + Linear head, fc_norm trains.
ADAPTERS = 2 * (64 * 8 + 8 + 8 * 64 + 64)
HEAD_AND_FC_NORM = 64 * 2 + 2 + 2 * 64
# Its attention: batch 4 (train_dataloader), 2 heads of 32 dims over
# (4 / 2) x (32 / 16)^2 = 8 tokens; the q k^T that a fused attention
# backward recomputes, per call.
QK_FLOPS = 2 * 4 * 2 * 8 * 8 * 32


def _spec(config, *argv):
    args = tool.parse_args([config, *argv])
    return tool.input_spec(tool.load_config(args), args)


def test_input_shape_from_pipeline_backbone_or_flags():
    spec = _spec(osp.join(CONFIGS, 'benchmark', 'adaptformer_vits_8x112.py'))
    assert spec['batch_size'] == 4
    assert spec['sample_shape'] == [1, 3, 8, 112, 112]
    assert spec['sources'] == dict(
        size='train pipeline',
        frames='train pipeline',
        batch_size='train_dataloader.batch_size')
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


def test_a_vpt_config_is_measured_on_its_host(tmp_path, clean_loggers):
    """A VPT config (configs/baselines/vpt-deep_*): full_ft measured the
    VPT wrapper with every parameter trainable, which the wrapper refuses
    to train unplanned (HostTrainingError at the first step); adaptformer
    wrapped AdaptFormer around the VPT wrapper. Both run on its host."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, init_default_scope
    config = tmp_path / 'vpt.py'
    config.write_text(
        f'_base_ = [{TINY_ADAPTFORMER_VIDEO_CONFIG!r}]\n'
        "model = dict(backbone=dict(_delete_=True, type='VPT', "
        'backbone={{_base_.model.backbone.backbone}}, num_prompts=1, '
        'deep=True))\n')
    args = tool.parse_args([str(config), '--batch-size', '2'])
    cfg = tool.load_config(args)
    host = cfg.model.backbone.backbone.to_dict()
    init_default_scope(cfg.default_scope)
    spec = tool.input_spec(cfg, args)
    for mode in ('full_ft', 'adaptformer'):
        model_cfg, _ = tool.model_cfg_for(cfg, mode, args)
        inner = model_cfg['backbone'] if mode == 'full_ft' else \
            model_cfg['backbone']['backbone']
        assert inner == host, (mode, inner)
    model = MODELS.build(tool.model_cfg_for(cfg, 'full_ft', args)[0])
    model.init_weights()
    model.requires_grad_(True)
    wrapper = build_optim_wrapper(
        model, tool.optim_wrapper_cfg_for(cfg, 'none', 'cpu'))
    data = tool.synthetic_batch(spec, tool.num_classes_of(cfg.model), 'cpu')
    assert torch.isfinite(model.train_step(data, wrapper)['loss'])


@pytest.mark.parametrize('config, argv', [
    (TINY_ADAPTFORMER_VIDEO_CONFIG, ['--num-frames', '2', '--img-size', '48']),
    (TINY_VIDEO_CONFIG, ['--num-frames', '8', '--img-size', '48', '64']),
    (TINY_IMAGE_CONFIG, ['--img-size', '48']),
])
def test_frames_and_size_flags_build_a_model_for_their_inputs(
        config, argv, clean_loggers):
    """``--num-frames`` changed the inputs, not the model: a VideoMAE ViT
    built for the config's clip failed on them (``The size of tensor a
    (4) must match the size of tensor b (16)``), e.g. the GPU check's
    speed checks of the ViT-B config cut down to fit a short GPU slot."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, init_default_scope
    args = tool.parse_args([config, '--batch-size', '2', *argv])
    cfg = tool.load_config(args)
    init_default_scope(cfg.default_scope)
    spec = tool.input_spec(cfg, args)
    for mode in ('adaptformer', 'full_ft'):
        model_cfg, _ = tool.model_cfg_for(cfg, mode, args)
        model = MODELS.build(model_cfg)
        model.init_weights()
        # The whole model trains here, adapters or not (no plan applied).
        model.backbone.allow_trained_host = True
        wrapper = build_optim_wrapper(
            model, tool.optim_wrapper_cfg_for(cfg, 'none', 'cpu'))
        data = tool.synthetic_batch(spec, tool.num_classes_of(model_cfg),
                                    'cpu')
        loss = model.train_step(data, wrapper)['loss']
        assert torch.isfinite(loss)


def test_benchmark_train_smoke(tmp_path):
    out, png = tmp_path / 'bench.json', tmp_path / 'bench.png'
    proc = run_tool([
        'analysis_tools/benchmark_train.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        '--iters', 2, '--warmup', 1, '--matmul-size', 256, '--out', out,
        '--plot', png
    ],
                    cwd=tmp_path,
                    separate_stderr=True)
    result = json.loads(out.read_text())
    modes = result['modes']
    assert list(modes) == ['adaptformer', 'linear_probe', 'full_ft']
    # The progress lines are logs, on stderr: stdout holds the tables.
    assert '[round 1/1] adaptformer' in proc.stderr
    assert '[round 1/1]' not in proc.stdout
    for mode, summary in modes.items():
        assert mode in proc.stdout
        assert len(summary['runs']) == 1
        assert len(summary['runs'][0]['step_times_s']) == 2
        for field in ('step_s', 'step_cpu_s', 'train_throughput',
                      'abs_peak_mem_mb', 'infer_step_s', 'infer_throughput'):
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
    for summary in modes.values():
        run = summary['runs'][0]
        # SGD with momentum keeps one float32 buffer per trainable
        # parameter; zero_grad(set_to_none) keeps no gradient, so the
        # persistent state is the optimizer's alone.
        assert run['optim_state_mb'] * 2**20 == 4 * run['trainable_params']
        assert run['persistent_mem_mb'] == run['optim_state_mb']
        # A step computes one float32 gradient per trainable parameter
        # (the field was 0 in every report: read after set_to_none).
        assert run['grad_mem_mb'] * 2**20 == 4 * run['trainable_params']
        # Parameters (float32) and buffers: the data preprocessor's mean
        # and std, the sinusoidal position embedding (8 x 64) and the
        # head's BatchNorm statistics.
        assert run['static_mem_mb'] * 2**20 - 4 * run['total_params'] == \
            4 * 2 * 3 + 4 * 8 * 64 + 4 * 2 * 64 + 8
        assert run['transient_mem_mb'] == pytest.approx(
            max(0., run['peak_above_base_mb'] - run['persistent_mem_mb']))
        assert run['transient_mem_mb'] + run['persistent_mem_mb'] >= \
            run['peak_above_base_mb'] - 1e-9
        # On the CPU the absolute peak is the process's peak RSS: the
        # baseline (the built model included) plus the peak above it.
        assert run['peak_mem_kind'] == 'peak RSS of the process (VmHWM)'
        assert run['abs_peak_mem_mb'] == pytest.approx(
            run['base_mem_mb'] + run['peak_above_base_mb'])
        assert run['abs_peak_mem_mb'] > run['static_mem_mb']
    # Frozen weights need no weight gradients: a step of AdaptFormer counts
    # at most about 2 forward passes against 3 for full fine-tuning (less:
    # the frozen patch embedding needs no backward at all), a linear
    # probe's about 1.
    full_flops = full['model_flops']
    assert 0.45 < modes['adaptformer']['model_flops'] / full_flops < 0.7
    assert modes['linear_probe']['model_flops'] / full_flops < 0.45
    assert modes['linear_probe']['model_flops'] < \
        modes['adaptformer']['model_flops']
    ratios = result['ratios_to_full_ft']
    assert ratios['adaptformer']['model_flops']['median'] == \
        modes['adaptformer']['model_flops'] / full_flops
    # One reference matmul for the round, shared by every row.
    reference = result['matmul_references'][0]['none']
    assert reference['matmul_size'] == 256  # --matmul-size is kept
    for summary in modes.values():
        run = summary['runs'][0]
        assert run['matmul_dtype'] == 'float32'
        assert run['matmul_flops_per_s'] == reference['matmul_flops_per_s']
        assert run['matmul_utilisation'] == pytest.approx(
            run['step_flops'] / run['step_s'] /
            reference['matmul_flops_per_s'])
        assert 0 < run['matmul_utilisation_cpu_time'] < 1.5
        # No --peak-tflops: no MFU.
        assert run['mfu'] is None and summary['mfu'] is None
    assert ratios['full_ft']['step_s']['median'] == 1
    assert result['ratio_meaning'] == RATIO_MEANING
    assert result['settings']['sample_shape'] == [1, 3, 4, 32, 32]
    assert result['settings']['device'] == 'cpu'
    assert result['machine']['cores'] >= 1
    assert result['round_orders'] == [[
        'adaptformer', 'linear_probe', 'full_ft'
    ]]
    for header in ('static MB', 'persist MB', 'transient MB', 'peak RSS MB',
                   'model GFLOP', '% of matmul'):
        assert header in proc.stdout
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def _fake_run(mode, amp, device='cpu'):
    """A worker's result with simple numbers: full FT steps take 1 s."""
    fraction = dict(adaptformer=0.7, linear_probe=0.35, full_ft=1.)[mode]
    step = fraction / (2 if amp == 'bf16' else 1)
    memory = dict(
        static_mem_mb=80.,
        optim_state_mb=80. * fraction,
        grad_mem_mb=80. * fraction,
        persistent_mem_mb=80. * fraction,
        base_mem_mb=700.,
        peak_above_base_mb=400. * fraction,
        transient_mem_mb=320. * fraction,
        abs_peak_mem_mb=1100. + 400. * fraction,
        peak_mem_kind='test',
        peak_mem_note=None)
    return dict(
        mode=mode,
        amp=amp,
        device=device,
        gpu=None,
        tf32_matmul=None,
        torch='test',
        threads=1,
        adapters_added=False,
        step_s=step,
        step_times_s=[step],
        step_cpu_s=2 * step,
        train_throughput=4 / step,
        **memory,
        trainable_params=1,
        total_params=2,
        frozen_params_with_grad=0,
        infer_step_s=0.1,
        infer_throughput=40.,
        step_flops=100e9 * fraction + 1e9,
        model_flops=100e9 * fraction,
        sdpa_recompute_flops=1e9,
        sdpa_backward_calls=12,
        checkpointing=False,
        achieved_flops_per_s=(100e9 * fraction + 1e9) / step,
        model_flops_per_s=100e9 * fraction / step)


def test_rounds_rotate_and_share_one_reference_matmul(monkeypatch):
    """Round i starts at the i-th mode (and autocast dtype); each round
    measures one reference matmul per dtype, whose side the first round
    chose, and every row of the round and dtype is divided by it."""
    calls, references = [], []

    def run_worker(argv, mode, amp):
        calls.append(tool.row_name(mode, amp))
        return _fake_run(mode, amp)

    def measure_matmul(device, amp, size):
        references.append((amp, size))
        return dict(
            matmul_dtype=dict(none='float32', bf16='bfloat16')[amp],
            matmul_size=size or 512,
            matmul_flops_per_s=1e9 * len(references),
            matmul_flops_per_s_cpu_time=1e9 * len(references))

    monkeypatch.setattr(runner, 'run_worker', run_worker)
    monkeypatch.setattr(runner, 'measure_matmul', measure_matmul)
    result = tool.run_benchmark([
        TINY_ADAPTFORMER_VIDEO_CONFIG, '--amp', 'none', 'bf16', '--repeat', 3,
        '--peak-tflops', 'bf16=0.5'
    ])
    a, lp, f = 'adaptformer', 'linear_probe', 'full_ft'
    orders = [[a, lp, f, f'{a}@bf16', f'{lp}@bf16', f'{f}@bf16'],
              [f'{lp}@bf16', f'{f}@bf16', f'{a}@bf16', lp, f, a],
              [f, a, lp, f'{f}@bf16', f'{a}@bf16', f'{lp}@bf16']]
    assert result['round_orders'] == orders
    assert calls == [row for order in orders for row in order]
    # The side is chosen once per dtype (None: by the CPU probe).
    assert references == [('none', None), ('bf16', None), ('bf16', 512),
                          ('none', 512), ('none', 512), ('bf16', 512)]
    # Rows keep the command line's order.
    assert list(result['modes']) == orders[0]
    for i, (round_references,
            order) in enumerate(zip(result['matmul_references'], orders)):
        for row in order:
            run = result['modes'][row]['runs'][i]
            rate = round_references[run['amp']]['matmul_flops_per_s']
            assert run['matmul_flops_per_s'] == rate
            assert run['matmul_utilisation'] == pytest.approx(
                run['step_flops'] / run['step_s'] / rate)
            # --peak-tflops gives MFU (model FLOPs) and HFU (as executed)
            # where it has the row's dtype.
            if run['amp'] == 'bf16':
                assert run['mfu'] == pytest.approx(run['model_flops'] /
                                                   run['step_s'] / 0.5e12)
                assert run['hfu'] == pytest.approx(run['step_flops'] /
                                                   run['step_s'] / 0.5e12)
            else:
                assert run['mfu'] is None and run['hfu'] is None
    assert len({
        result['modes'][a]['runs'][i]['matmul_flops_per_s']
        for i in range(3)
    }) == 3
    ratios = result['ratios_to_full_ft']
    assert ratios[f'{a}@bf16']['model_flops']['median'] == \
        pytest.approx(0.7)
    assert ratios[a]['abs_peak_mem_mb']['median'] == \
        pytest.approx(1380 / 1500)
    assert ratios[a]['transient_mem_mb']['median'] == pytest.approx(0.7)
    assert result['amp_speedups'][f'{a}@bf16']['step_s']['median'] == 2
    text = tool.format_summary(result)
    assert 'the order of the modes rotates' in text
    assert '0.70 [0.70-0.70]' in text  # three rounds: median [min-max]
    assert '0.700' in text  # model GFLOP vs full FT
    # Its MB are 2**20 bytes and the heading says so (README's MB are 10**6
    # bytes; the ViT-S's 86.3 "MB" of float32 parameters are 90.5e6 bytes).
    assert 'Memory of training (MB = 2**20 bytes, i.e. MiB' in text


def test_one_round_and_a_gpu_print_no_cpu_time_and_no_range():
    rounds = [{
        tool.row_name(mode, amp): dict(
            _fake_run(mode, amp, device='cuda'),
            **tool.utilisation(
                _fake_run(mode, amp), dict(matmul_flops_per_s=1e12),
                dict(bf16=1.)))
        for amp in ('none', 'bf16') for mode in ('adaptformer', 'full_ft')
    }]
    rows, ratios, speedups = tool.summarize(rounds)
    # On a GPU the host's CPU time means nothing: no column, no speed-up.
    assert 'step_cpu_s' not in rows['adaptformer']
    assert 'step_cpu_s' not in ratios['adaptformer']
    assert list(speedups['adaptformer@bf16']) == ['step_s']
    table = tool.format_table(rows, ratios, speedups, 'clips')
    assert 'cpu ms' not in table and 'amp speed-up cpu' not in table
    assert 'peak alloc MB' in table and 'max_memory_allocated' in table
    # One round: the value, no [min-max].
    assert '[' not in table
    speed = next(line for line in table.splitlines()
                 if line.startswith('adaptformer@bf16'))
    assert speed.split()[1:4] == ['350.0', '0.70', '2.00']


def test_model_flops_leave_out_recomputation(clean_loggers):
    """Model FLOPs are the executed ones less the q k^T that each fused
    attention backward recomputes; the eager attention computes exactly
    that much."""

    def measure(mode, *argv):
        args = tool.parse_args(
            [TINY_ADAPTFORMER_VIDEO_CONFIG, '--iters', '1', '--warmup', '0'] +
            list(argv))
        return tool.measure_mode(args, mode, 'none')

    fused, eager = measure('full_ft_fast'), measure('full_ft')
    # Both blocks' attention backward runs.
    assert fused['sdpa_backward_calls'] == 2
    assert fused['model_flops'] == fused['step_flops'] - 2 * QK_FLOPS
    assert fused['model_flops'] == eager['model_flops'] == \
        eager['step_flops']
    assert eager['sdpa_backward_calls'] == 0

    # Activation checkpointing runs the blocks' forward again: more
    # executed FLOPs, the same model FLOPs.
    plain, checkpointed = measure('adaptformer'), measure(
        'adaptformer', '--with-cp')
    assert not plain['checkpointing'] and checkpointed['checkpointing']
    assert checkpointed['step_flops'] > plain['step_flops']
    assert checkpointed['model_flops'] == plain['model_flops']
    # Block 0 is in front of the adapters' gradient path: its attention
    # gets no backward.
    assert plain['sdpa_backward_calls'] == 1
    assert plain['model_flops'] == plain['step_flops'] - QK_FLOPS


def _sdpa_backward_args(name, b, h, s_q, s_k, d):
    """Arguments of a fused attention backward kernel, on the ``meta``
    device (as a GPU runs them: float16, its own layout), by its
    schema."""
    aten = torch.ops.aten

    def t(*shape, dtype=torch.float16):
        return torch.empty(*shape, device='meta', dtype=dtype)

    # scaled_dot_product_attention's kernels take (batch, heads, seq,
    # dim); the two they call on a GPU, query.transpose(1, 2).
    inner = name in ('_flash_attention_backward',
                     '_efficient_attention_backward')

    def qkv(s):
        return t(b, s, h, d) if inner else t(b, h, s, d)

    q, k, out = qkv(s_q), qkv(s_k), qkv(s_q)
    lse = t(b, h, s_q, dtype=torch.float32)
    seed, offset = t(2, dtype=torch.int64), t((), dtype=torch.int64)
    no_seq = t(0, dtype=torch.int32)
    args = {
        '_scaled_dot_product_flash_attention_for_cpu_backward':
        (out, q, k, k, out, lse, 0., False),
        '_scaled_dot_product_flash_attention_backward':
        (out, q, k, k, out, lse, no_seq, no_seq, s_q, s_k, 0., False, seed,
         offset),
        '_scaled_dot_product_efficient_attention_backward':
        (out, q, k, k, None, out, lse, seed, offset, 0.,
         [True, True, True, False]),
        '_scaled_dot_product_cudnn_attention_backward':
        (out, q, k, k, out, lse[..., None], seed, offset, t(0), no_seq, no_seq,
         s_q, s_k, 0., False),
        '_flash_attention_backward': (out, q, k, k, out, lse, no_seq, no_seq,
                                      s_q, s_k, 0., False, seed, offset),
        '_efficient_attention_backward':
        (out, q, k, k, None, out, None, None, s_q, s_k, lse, 0., seed, offset,
         0, False),
    }[name]
    return getattr(aten, name).default, args


@pytest.mark.parametrize('name', list(SDPA_BACKWARD_LAYOUTS))
def test_sdpa_recompute_reads_each_kernels_schema(name):
    """The GPU kernels too, by their schemas (grad_out, query, key, ...)
    and layouts: the recomputed q k^T is 2 b h s_q s_k d, the first of
    the 5 batched matmuls of PyTorch's FLOP formula."""
    from mmadaptformer.utils import count_flops
    op, args = _sdpa_backward_args(name, b=2, h=3, s_q=5, s_k=7, d=8)
    qk = 2 * 2 * 3 * 5 * 7 * 8
    with tool.SDPARecompute() as recompute:
        op(*args)
    assert (recompute.calls, recompute.flops) == (1, qk)
    if name.startswith('_scaled_dot_product_'):
        # What scaled_dot_product_attention's backward runs on a GPU (and
        # on the CPU); the other two run inside these, unseen by a mode.
        assert count_flops(lambda: op(*args)) == 5 * qk


def test_checkpointing_off_restores_it(clean_loggers):
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    init_default_scope('mmaction')
    model = MODELS.build(
        dict(type='AdaptFormer', backbone=dict(VIDEO_HOST), with_cp=True))
    model.allow_trained_host = True  # its backward reaches the host
    blocks = list(model.backbone.blocks)
    forwards = [block.__dict__['forward'] for block in blocks]
    with tool.checkpointing_off(model) as switched:
        assert switched == len(blocks) + 1  # the blocks and the wrapper
        assert all('forward' not in block.__dict__ for block in blocks)
        assert not model.with_cp
    assert [block.__dict__['forward'] for block in blocks] == forwards
    assert model.with_cp
    # The FLOP count recomputes nothing with checkpointing off.
    x = torch.randn(1, 3, 4, 32, 32)
    model.train()
    flops = tool.count_step_flops(lambda: model(x)[0].sum().backward(), model)
    assert flops['checkpointing']
    assert flops['step_flops'] > flops['model_flops'] > 0


def test_reference_matmul_size_fits_the_cpus_speed():
    from mmadaptformer.benchmark.utilisation import (fit_matmul_size,
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


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is present')
def test_bad_settings_are_parser_errors(capsys):
    """A batch of 1 (BatchNorm in training) and float16 on a machine
    without CUDA stop at the command line with exit code 2, naming the
    option, before any worker starts."""

    def error(*argv):
        with pytest.raises(SystemExit) as info:
            tool.run_benchmark([TINY_ADAPTFORMER_VIDEO_CONFIG, *argv])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert 'Traceback' not in err
        return ' '.join(err.split())

    message = error('--batch-size', 1)
    assert '--batch-size must be >= 2, got 1' in message
    assert 'BatchNorm' in message
    # A config that trains in batches of 1 is refused the same way.
    message = error('--cfg-options', 'train_dataloader.batch_size=1')
    assert 'give --batch-size 2 or more' in message
    message = error('--amp', 'fp16')  # no --device: cpu here
    assert '--amp fp16 needs --device cuda' in message
    assert 'no CUDA GPU here, so --device defaults to cpu' in message
    message = error('--device', 'cuda')
    assert '--device cuda, but torch.cuda.is_available() is False' in message
    message = error('--peak-tflops', 'bf16=989', 'fp8=1979')
    assert '--peak-tflops takes AMP=TFLOPS' in message
    assert "'fp8=1979'" in message


def test_the_title_names_the_cpu_or_gpu_measured_on():
    """The printed tables said only ``cpu`` or ``cuda``: not which CPU (the
    JSON had it), how many threads, or which GPU."""

    def title(device, gpu=None):
        rounds = [{
            mode: dict(_fake_run(mode, 'none', device=device), gpu=gpu)
            for mode in ('adaptformer', 'full_ft')
        }]
        rows = tool.summarize(rounds)[0]
        return tool.summary_title(
            dict(
                config='configs/x.py',
                machine=dict(cpu='Test CPU 9000', cores=2),
                settings=dict(
                    batch_size=4,
                    sample_shape=[3, 32, 32],
                    device=device,
                    repeat=1),
                modes=rows))

    assert title('cpu') == ('x.py: batch 4 x (3, 32, 32), cpu (Test CPU '
                            '9000, 2 cores, 1 thread(s)), 1 round(s)')
    assert 'cuda (NVIDIA H200)' in title('cuda', 'NVIDIA H200')


def test_files_that_cannot_be_read_or_written_are_parser_errors(
        tmp_path, capsys):
    """A missing config, a file that is not a config and a config without
    a model ended with MMEngine's traceback (exit status 1); an --out or
    --plot that is a folder with an IsADirectoryError after every mode had
    run. Now each stops the command line (exit status 2) before any worker
    starts."""
    no_model = tmp_path / 'no_model.py'
    no_model.write_text('x = 1\n')
    notes = tmp_path / 'notes.txt'
    notes.write_text('batch 2\n')
    cases = [
        ([str(tmp_path / 'nope.py')], 'no such file'),
        ([str(notes)], 'not a config file'),
        ([str(no_model)], f'config {no_model}: it has no model dict'),
        ([TINY_IMAGE_CONFIG, '--out',
          str(tmp_path)], 'it is a folder'),
        ([TINY_IMAGE_CONFIG, '--plot',
          str(tmp_path)], 'it is a folder'),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as info:
            tool.run_benchmark(argv)
        assert info.value.code == 2
        err = ' '.join(capsys.readouterr().err.split())
        assert 'benchmark_train.py: error: ' in err and message in err, err
        assert 'round 1/1' not in err
