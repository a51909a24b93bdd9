# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/gpu_check.sh and mmadaptformer.benchmark.gpu_check, on the CPU.

Every check that runs on a CPU runs here at tiny sizes (bfloat16 autocast;
float16 with loss scaling and nccl need CUDA and are skipped with a
reason); the runner is run as a user runs it, with a check cut short by
its time limit, to show that the results of the others are still written.
"""
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from helpers import REPO_ROOT, run_python_command, run_tool

# yapf: disable
from mmadaptformer.benchmark.gpu_check import (build_context, check_amp_step,
                                               check_benchmark,
                                               check_dist_train,
                                               check_fused_attention,
                                               check_multitask_inference,
                                               check_official_baseline,
                                               check_train_amp, datasheet_peak,
                                               evaluate_goals,
                                               format_gpu_summary,
                                               parse_gpu_check_args,
                                               prepare_workspace)

# yapf: enable


@pytest.fixture(autouse=True)
def served_python_tools(monkeypatch):
    """The checks run their Python tools (``train.py``, ``test.py``,
    ``benchmark_train.py``) forked from the tests' tool server, as
    ``helpers.run_tool`` does, instead of in a new interpreter each; shell
    tools (``dist_train.sh``) and ``run_command`` itself (the last test)
    are unchanged."""
    from mmadaptformer.benchmark.gpu_check import commands, speed, tool_runs
    real = commands.run_command

    def run_command(cmd, log_path, timeout, cwd=None, env=None):
        if cmd[0] != sys.executable:
            return real(cmd, log_path, timeout, cwd=cwd, env=env)
        try:
            proc = run_python_command(cmd, cwd or os.getcwd(),
                                      commands.tool_env(env), timeout)
            code, out = proc.returncode, proc.stdout
        except subprocess.TimeoutExpired as e:
            code, out = -signal.SIGTERM, e.output or ''
        out = ' '.join(cmd) + '\n' + out
        os.makedirs(osp.dirname(osp.abspath(log_path)), exist_ok=True)
        with open(log_path, 'w') as f:
            f.write(out)
        return code, out

    monkeypatch.setattr(speed, 'run_command', run_command)
    monkeypatch.setattr(tool_runs, 'run_command', run_command)


@pytest.fixture(scope='module')
def ctx(tmp_path_factory):
    """A CPU check context on a real workspace (videos, images, stock
    checkpoints, AdaptFormer configs)."""
    out = tmp_path_factory.mktemp('gpu_check')
    workspace = prepare_workspace(str(out / 'workspace'))
    args = parse_gpu_check_args(['--out-dir', str(out), '--device', 'cpu'])
    context = build_context(args, 'cpu', workspace)
    (out / 'work').mkdir()
    (out / 'logs').mkdir()
    return context


def _expectations(result):
    return {e['name']: e for e in result['expectations']}


def test_amp_step_against_float32_and_frozen_bit_identical(ctx, clean_loggers):
    result = check_amp_step(ctx, task='video')
    assert result['status'] == 'passed', result['failures']
    expected = _expectations(result)
    # bfloat16 runs on the CPU; float16 (GradScaler) is skipped with a
    # reason, and the CPU is the reference device itself.
    assert 'bfloat16 gradient cosine vs fp32' in expected
    assert not any(name.startswith('float16') for name in expected)
    assert 'float16' in result['details']['skipped_float16']
    assert not any('vs cpu' in name for name in expected)
    assert expected['bfloat16 gradient cosine vs fp32']['measured'] > 0.97
    assert expected['bfloat16: frozen tensors changed by 3 steps'][
        'measured'] == 0
    assert expected['bfloat16: trainable tensors changed by 3 steps'][
        'measured'] >= 1
    assert expected['bfloat16 with_cp gradient cosine vs plain path'][
        'measured'] > 0.999
    assert result['details']['bfloat16_wrapper'] == 'AdaptAmpOptimWrapper'
    # Recorded for the GPU run to show; the CPU path calls nothing
    # deprecated either.
    assert result['details']['deprecation_warnings'] == []
    assert expected['deprecation / future warnings naming AMP']['ok']


def _float16_loss_scaling(model, init_scale):
    """MMEngine's AmpOptimWrapper in float16 (autocast, then a GradScaler
    on the loss), on the CPU: it refuses to be built without a GPU."""
    from contextlib import contextmanager

    from mmengine.optim import OptimWrapper

    class Float16LossScaling(OptimWrapper):

        @contextmanager
        def optim_context(self, model):
            with super().optim_context(model), torch.autocast(
                    'cpu', dtype=torch.float16):
                yield

        def backward(self, loss, **kwargs):
            self.loss_scaler.scale(loss).backward(**kwargs)

    params = [p for p in model.parameters() if p.requires_grad]
    wrapper = Float16LossScaling(optimizer=torch.optim.SGD(params, lr=0.))
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=init_scale)
    return wrapper


def test_gradients_under_loss_scaling_back_off_an_overflow(ctx, clean_loggers):
    """As the fused-attention check's ViT-B on a GPU: a 174-class
    BatchNorm + Linear head on a batch of 2 in float16, whose weight
    gradient overflows at GradScaler's first scale, 2 ** 16. The gradients
    are taken at the scale a step would use after backing off."""
    from argparse import Namespace

    from mmengine.config import Config
    from mmengine.optim import OptimWrapper
    from mmengine.registry import MODELS, init_default_scope

    from mmadaptformer.benchmark.gpu_check import loss_and_grads
    from mmadaptformer.benchmark.gpu_check.numerics import cosine
    from mmadaptformer.benchmark.inputs import input_spec, synthetic_batch
    from mmadaptformer.models import apply_trainable, plan_trainable
    cfg = Config.fromfile(ctx['workspace']['video_config'])
    cfg.model.cls_head.num_classes = 174
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    apply_trainable(model, plan_trainable(model, mode='adaptformer'))
    spec = input_spec(cfg,
                      Namespace(batch_size=2, num_frames=None, img_size=None))
    data = synthetic_batch(spec, 174, 'cpu')
    params = [p for p in model.parameters() if p.requires_grad]
    fp32_loss, fp32 = loss_and_grads(
        model, data, OptimWrapper(torch.optim.SGD(params, lr=0.)), False)

    wrapper = _float16_loss_scaling(model, 2.**16)
    loss, grads = loss_and_grads(model, data, wrapper, train=False)
    assert all(g.isfinite().all() for g in grads.values())
    assert wrapper.loss_scaler.get_scale() < 2**16  # backed off
    assert set(grads) == set(fp32)
    assert cosine(grads, fp32) > 0.999
    assert loss == pytest.approx(fp32_loss, rel=1e-2)

    # A scale whose gradients are finite is kept: one pass.
    wrapper = _float16_loss_scaling(model, 2.**8)
    _, grads = loss_and_grads(model, data, wrapper, train=False)
    assert wrapper.loss_scaler.get_scale() == 2**8
    assert cosine(grads, fp32) > 0.999


def test_amp_step_image_model(ctx, clean_loggers):
    result = check_amp_step(ctx, task='image')
    assert result['status'] == 'passed', result['failures']
    # The image model trains too: its losses fall over 3 steps.
    losses = result['details']['bfloat16_losses']
    assert losses[-1] < losses[0]


def test_fused_attention_against_eager(ctx, clean_loggers):
    result = check_fused_attention(ctx)
    assert result['status'] == 'passed', result['failures']
    expected = _expectations(result)
    fp32 = expected['float32 logits, fused vs eager (max abs / max |logit|)']
    assert fp32['measured'] < 1e-4
    assert 'bfloat16 logits, fused vs eager (rel. to max)' in expected
    assert result['details']['input_shape'] == [2, 1, 3, 4, 32, 32]
    # The kernels the fused model ran are on record: PyTorch's CPU flash
    # kernel in float32, the host's attention under CPU autocast (on a
    # GPU each dtype must run fused kernels).
    assert result['details']['attention_ops'] == dict(
        float32=[
            '_scaled_dot_product_flash_attention_for_cpu',
            '_scaled_dot_product_flash_attention_for_cpu_backward'
        ],
        bfloat16=[])
    assert not any('kernels ran' in name for name in expected)


def test_attention_ops_name_the_fused_kernels_only():
    import torch.nn.functional as F

    from mmadaptformer.benchmark.gpu_check.numerics import AttentionOps
    q = torch.randn(1, 2, 8, 16, requires_grad=True)
    with AttentionOps() as ops:
        F.scaled_dot_product_attention(q, q, q).sum().backward()
    assert ops.names == {
        '_scaled_dot_product_flash_attention_for_cpu',
        '_scaled_dot_product_flash_attention_for_cpu_backward'
    }
    # The math fallback runs matmuls and a softmax: no fused kernel.
    with AttentionOps() as ops, torch.nn.attention.sdpa_kernel(
            torch.nn.attention.SDPBackend.MATH):
        F.scaled_dot_product_attention(q, q, q).sum().backward()
    assert ops.names == set()


def test_official_baseline_and_goals(ctx, clean_loggers):
    official = check_official_baseline(ctx)
    assert official['status'] == 'passed'
    details = official['details']
    assert details['dtype'] == 'bfloat16'
    assert details['sample_shape'] == [1, 3, 4, 32, 32]
    # adapters (2 x (64*64 + 64 + 64*64 + 64)), fc_norm and the head.
    assert details['trainable_params'] == 2 * (2 * 64 * 64 + 2 * 64) + \
        2 * 64 + 64 * 2 + 2
    assert details['step_ms'] > 0 and details['throughput'] > 0

    # A peak the user gives (gpu_check.sh --peak-tflops) reaches the
    # benchmark: MFU against it, even on the CPU.
    ctx = dict(
        ctx,
        peak_tflops=dict(bf16=0.5),
        speed=dict(ctx['speed'], modes=['adaptformer', 'full_ft'], iters=1))
    bench = check_benchmark(ctx)
    assert bench['status'] == 'passed', bench.get('failures')
    rows = bench['details']['rows']
    assert list(rows) == ['adaptformer@bf16', 'full_ft@bf16']
    assert rows['full_ft@bf16']['step_ratio_to_full_ft'] == 1
    assert rows['adaptformer@bf16']['trainable_params'] < \
        rows['full_ft@bf16']['trainable_params']
    assert osp.isfile(osp.join(ctx['out_dir'], 'benchmark.png'))

    row = rows['adaptformer@bf16']
    assert 0 < row['model_flop_ratio_to_full_ft'] < 0.75
    assert row['mfu'] == pytest.approx(row['model_flops'] /
                                       (row['step_ms'] / 1e3) / 0.5e12)
    assert bench['details']['peak_tflops'] == dict(bf16=0.5)
    assert bench['details']['peak_source'] == \
        'given with --peak-tflops bf16=0.5 for the CPU'
    # The official step is measured as the benchmark measures: the same
    # memory fields.
    for field in ('static_mem_mb', 'persistent_mem_mb', 'transient_mem_mb',
                  'abs_peak_mem_mb', 'peak_mem_kind'):
        assert field in details and field in row, field
    assert details['abs_peak_mem_mb'] > details['static_mem_mb'] > 0

    goals = evaluate_goals(dict(benchmark=bench, official_baseline=official))
    by_goal = {g['goal'].split(' (')[0]: g for g in goals}
    step = by_goal.pop(
        'AdaptFormer step time / full FT step time')  # fp16, last
    assert step['status'] == 'not measured'  # no fp16 on the CPU
    step = goals[0]
    assert step['goal'] == \
        'AdaptFormer step time / full FT step time (bf16, wall-clock)'
    assert step['measured'] == row['step_ratio_to_full_ft']
    assert step['status'] == ('met' if step['measured'] <= 0.7 else 'missed')
    # Beside it, the limit that equal MFU would give.
    assert f"{row['model_flop_ratio_to_full_ft']:.3f}" in step['note']
    # Absolute peaks on both sides.
    memory = by_goal["AdaptFormer peak memory / official code's"]
    assert memory['goal'].endswith('(bfloat16 both, absolute peaks)')
    assert memory['measured'] == pytest.approx(row['abs_peak_mem_mb'] /
                                               details['abs_peak_mem_mb'])
    mfu = by_goal['AdaptFormer MFU']
    assert mfu['measured'] == row['mfu']
    assert mfu['status'] == ('met' if row['mfu'] >= 0.4 else 'missed')
    assert mfu['note'] == bench['details']['peak_source']
    # Without a peak the MFU goal says what it measures instead.
    bench['details']['rows']['adaptformer@bf16']['mfu'] = None
    bench['details']['peak_source'] = datasheet_peak('cpu')['source']
    goals = evaluate_goals(dict(benchmark=bench, official_baseline=official))
    mfu = goals[-1]
    assert mfu['goal'].startswith('AdaptFormer % of the measured bf16 matmul')
    assert mfu['measured'] == row['matmul_utilisation']
    assert mfu['status'] in ('met', 'missed')
    assert 'none known for the CPU' in mfu['note']
    summary = format_gpu_summary(
        dict(
            status='complete',
            device='cpu',
            torch=torch.__version__,
            date='today',
            checks=dict(benchmark=bench, official_baseline=official),
            goals=goals))
    assert 'model FLOPs / full FT' in summary
    assert 'official@bfloat16' in summary


def test_datasheet_peaks_only_for_known_gpus(monkeypatch):
    for name, bf16 in (('NVIDIA H200', 989.), ('NVIDIA H100 80GB HBM3', 989.),
                       ('NVIDIA H200 NVL', None), ('NVIDIA H100 PCIe', None)):
        monkeypatch.setattr(torch.cuda, 'get_device_name', lambda: name)
        peak = datasheet_peak('cuda')
        assert peak['gpu'] == name
        assert peak['peak_tflops'].get('bf16') == bf16, name
        # float32 matmuls run without TF32 by default: no float32 peak.
        assert 'none' not in peak['peak_tflops']
        assert peak['source'].startswith(
            'NVIDIA datasheet' if bf16 else f'none known for {name}')
        if bf16 is None:  # says how to give it
            assert '--peak-tflops bf16=TFLOPS' in peak['source']
        # A given peak replaces the known one, and says so.
        given = datasheet_peak('cuda', dict(bf16=835., fp16=835.))
        assert given['peak_tflops'] == dict(bf16=835., fp16=835.)
        assert given['source'] == \
            f'given with --peak-tflops bf16=835 fp16=835 for {name}'


def test_gpu_check_takes_a_peak_and_refuses_a_bad_one(capsys):
    args = parse_gpu_check_args(['--peak-tflops', 'bf16=835', 'fp16=835.5'])
    assert args.peak_tflops == dict(bf16=835., fp16=835.5)
    assert build_context(args, 'cuda', {})['peak_tflops'] == args.peak_tflops
    assert parse_gpu_check_args([]).peak_tflops == {}
    for bad in ('bf16', 'bf16=0', 'fp8=100', 'bf16=fast'):
        with pytest.raises(SystemExit) as exc:
            parse_gpu_check_args(['--peak-tflops', bad])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert f"--peak-tflops takes AMP=TFLOPS with AMP one of ['none', " \
            f"'bf16', 'fp16'] and TFLOPS > 0, got {bad!r}" in err, err


def _profiled(key, device_type, device_us, count=3, cpu_us=0.):
    """A row of ``profile.key_averages()``."""
    from types import SimpleNamespace

    from torch.autograd import DeviceType
    return SimpleNamespace(
        key=key,
        device_type=getattr(DeviceType, device_type),
        self_device_time_total=device_us,
        self_cpu_time_total=cpu_us,
        count=count,
        is_user_annotation=False)


def test_profile_shares_count_each_kernel_once():
    from mmadaptformer.benchmark.gpu_check.speed import top_operators

    # A CUDA profile lists each operator, its kernels' time as its own,
    # and each kernel again, as torch's profiler does.
    events = [
        _profiled('aten::mm', 'CPU', 6000., cpu_us=300.),
        _profiled('sm90_xmma_gemm_bf16bf16', 'CUDA', 6000.),
        _profiled('aten::add_', 'CPU', 3000., cpu_us=200.),
        _profiled('vectorized_elementwise_kernel', 'CUDA', 3000.),
        _profiled('cudaLaunchKernel', 'CPU', 0., count=6, cpu_us=100.),
    ]
    summary = top_operators(events, 'cuda', steps=3)
    assert summary['time'] == 'cuda'
    assert summary['total_ms_per_step'] == pytest.approx(3.)
    ops = {op['name']: op for op in summary['top_ops']}
    # Operators, not kernels, each with its share of the kernel time.
    assert list(ops) == ['aten::mm', 'aten::add_', 'cudaLaunchKernel']
    assert ops['aten::mm']['share'] == pytest.approx(2 / 3)
    assert ops['aten::add_']['share'] == pytest.approx(1 / 3)
    assert ops['aten::mm']['self_ms_per_step'] == pytest.approx(2.)
    assert ops['cudaLaunchKernel']['calls_per_step'] == 2
    # On a CPU: self CPU time, every row an operator.
    summary = top_operators(events[::2], 'cpu', steps=3)
    assert [op['name'] for op in summary['top_ops']] == \
        ['aten::mm', 'aten::add_', 'cudaLaunchKernel']
    assert summary['top_ops'][0]['share'] == pytest.approx(0.5)
    assert summary['total_ms_per_step'] == pytest.approx(0.2)
    # A GPU profile without kernels (no CUPTI) has no time to share.
    summary = top_operators(events[::2], 'cuda', steps=3)
    assert summary['total_ms_per_step'] == 0
    assert all(op['share'] == 0 for op in summary['top_ops'])


def test_profile_of_the_adaptformer_step(ctx, clean_loggers):
    from mmadaptformer.benchmark.gpu_check import check_profile
    result = check_profile(ctx)
    assert result['status'] == 'passed', result['failures']
    assert _expectations(result)['CPU self time recorded']['ok']
    details = result['details']
    assert details['time'] == 'cpu' and details['total_ms_per_step'] > 0
    shares = [op['share'] for op in details['top_ops']]
    assert shares == sorted(shares, reverse=True)
    assert 0 < sum(shares) <= 1 + 1e-9
    assert osp.isfile(details['table'])


def test_official_checkout_that_cannot_load_is_named(ctx, tmp_path,
                                                     monkeypatch):
    """``--official PATH``: a folder that is not a checkout, and a checkout
    whose code needs a module that is not installed (the official code
    imports timm), each give an error that names the path and the way
    without it."""
    with pytest.raises(
            FileNotFoundError, match='models/vit_video.py not found'):
        check_official_baseline(dict(ctx, official=str(tmp_path)))
    models = tmp_path / 'models'
    models.mkdir()
    (models / '__init__.py').write_text('import models.vit_video\n')
    # As the official code imports timm; a name that is surely missing,
    # since timm itself may be installed (it is on the borrowed GPU
    # machine).
    (models / 'vit_video.py').write_text(
        'from timm_not_installed.models.layers import trunc_normal_\n')
    for name in [m for m in sys.modules if m.split('.')[0] == 'models']:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError) as info:
        check_official_baseline(dict(ctx, official=str(tmp_path)))
    message = str(info.value)
    assert f'--official {tmp_path}' in message
    assert "No module named 'timm_not_installed'" in message
    assert 'leave out --official' in message
    assert str(tmp_path) not in sys.path


def test_train_image_amp_against_float32(ctx, clean_loggers):
    result = check_train_amp(ctx, task='image')
    assert result['status'] == 'passed', result['failures']
    expected = _expectations(result)
    for name in ('float32: train.py exit code', 'bfloat16: train.py exit code',
                 'bfloat16: epoch_2.pth is adapter-only',
                 'bfloat16: losses logged and finite',
                 "bfloat16: optim_wrapper.type, the recipe's"):
        assert expected[name]['ok'], name
    assert expected['bfloat16: last logged loss rel. diff vs fp32'][
        'measured'] <= 0.05
    # 4 steps logged in each run; bfloat16 follows float32 closely.
    assert len(result['details']['bfloat16_losses']) == \
        len(result['details']['float32_losses']) == 4
    # Resume and test are the video task's part.
    assert not any(name.startswith(('resume', 'test')) for name in expected)
    # Of each AMP run (the test's served tools keep their own warning
    # filters: the log parsing is test_gpu_check_deprecations.py's).
    assert result['details']['deprecation_warnings'] == {'bfloat16': []}
    assert expected['bfloat16: deprecation / future warnings naming AMP']['ok']

    # The two checkpoints are two tasks on one frozen backbone: served
    # together in one batched forward, each scores as it does alone.
    inference = check_multitask_inference(ctx)
    assert inference['status'] == 'passed', inference['failures']
    assert inference['details']['image_tasks'] == ['bfloat16', 'float32']
    expected = _expectations(inference)
    # The workspace's validation images: 4 per class, 2 classes.
    assert expected['image: inputs classified']['measured'] == 8
    for run in ('bfloat16', 'float32'):
        served = expected[f'image {run}: max score diff, served with the '
                          'other tasks vs alone (cpu)']
        assert served['ok'] and served['measured'] <= 1e-5
        # The two runs' adapters answer differently, and the limit is below
        # that distance: a task answered with the other's adapters fails.
        nearest = inference['details'][
            f'image {run}: distance to the nearest other task']
        assert nearest > 0 and served['limit'] == min(2e-3, nearest / 10)


def test_dist_train_one_process(ctx, clean_loggers, served_torchrun):
    result = check_dist_train(ctx)
    assert result['status'] == 'passed', result['failures']
    # On a CPU the one process runs gloo; the check expects nccl on a GPU.
    assert _expectations(result)['process group backend']['limit'] == 'gloo'
    assert _expectations(result)["optim_wrapper.type, the recipe's"][
        'measured'] == 'AdaptAmpOptimWrapper'


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is present')
def test_no_gpu_says_so_and_exits_0(tmp_path):
    proc = run_tool(['gpu_check.sh', '--out-dir', tmp_path / 'out'],
                    cwd=tmp_path)
    assert 'no CUDA GPU on this machine' in proc.stdout
    result = json.loads((tmp_path / 'out' / 'gpu_check.json').read_text())
    assert result['status'] == 'no_gpu' and result['checks'] == {}
    # What float32 on a GPU means is on record.
    assert result['tf32'] == dict(cudnn=True, matmul=False)
    assert 'no CUDA GPU' in (tmp_path / 'out' / 'summary.txt').read_text()
    # Nothing else: the empty logs/, results/ and work/ of checks that
    # never ran were left behind.
    left = sorted(os.listdir(tmp_path / 'out'))
    assert left == ['gpu_check.json', 'summary.txt']


def test_offline_runner_says_what_it_needs(tmp_path):
    script = osp.join(REPO_ROOT, 'tools', 'misc', 'gpu_check_offline.sh')
    usage = subprocess.run(['bash', script], capture_output=True, text=True)
    assert usage.returncode == 2
    assert 'Usage: [PYTHON=python3] gpu_check_offline.sh WHEELS RESULTS' in \
        usage.stderr
    # Asked for, the usage is an answer (exit 0 on stdout), as gpu_check.sh
    # --help is; it exited 2 as a mistake.
    asked = subprocess.run(['bash', script, '--help'],
                           capture_output=True,
                           text=True)
    assert asked.returncode == 0
    assert asked.stdout.startswith('Usage: [PYTHON=python3] gpu_check_')
    # A folder without wheels is refused before anything is installed.
    results = tmp_path / 'results'
    empty = subprocess.run(['bash', script, tmp_path, results],
                           capture_output=True,
                           text=True)
    assert empty.returncode == 2
    assert f'no wheels in {tmp_path}; make them with ' \
        'tools/misc/download_wheels.sh' in empty.stderr
    assert not results.exists()


def _download_wheels(script, dest):
    # PYTHON=false: pip is never reached by a refusal, and "runs" (exit 1,
    # nothing printed) where the checks pass; nothing downloads.
    return subprocess.run(['bash', script, dest, '3.12'],
                          capture_output=True,
                          text=True,
                          env=dict(os.environ, PYTHON='false'))


def test_download_wheels_refuses_a_folder_with_other_wheels(tmp_path):
    """The offline machine installs every wheel of the folder, and two
    versions of one package stop that install: a folder that holds a wheel
    requirements/offline.txt does not pin is refused before downloading."""
    script = osp.join(REPO_ROOT, 'tools', 'misc', 'download_wheels.sh')
    dest = tmp_path / 'wheels'
    dest.mkdir()
    # A wheel of a pin (kept, its name spelled as the wheel spells it) and
    # one of an older version than the pin.
    (dest / 'importlib_metadata-10.2.0-py3-none-any.whl').write_bytes(b'')
    (dest / 'termcolor-3.2.0-py3-none-any.whl').write_bytes(b'')
    proc = _download_wheels(script, dest)
    assert proc.returncode == 2, proc.stderr
    assert (f'{dest} holds wheels that requirements/offline.txt does not '
            'pin: termcolor-3.2.0-py3-none-any.whl.') in proc.stderr
    assert 'importlib' not in proc.stderr
    (dest / 'termcolor-3.2.0-py3-none-any.whl').unlink()
    proc = _download_wheels(script, dest)
    assert (proc.returncode, proc.stderr) == (1, '')


def test_download_wheels_needs_exact_pins(tmp_path):
    """requirements/offline.txt pins each wheel; a range is refused with
    the file's line (the script reads the file beside its checkout)."""
    script = tmp_path / 'tools' / 'misc' / 'download_wheels.sh'
    requirements = tmp_path / 'requirements' / 'offline.txt'
    for path in (script, requirements):
        path.parent.mkdir(parents=True)
    shutil.copy(osp.join(REPO_ROOT, 'tools', 'misc', script.name), script)
    requirements.write_text(
        '# comment\naddict==2.4.0  # why\n\nmmengine>=0.10.7\n')
    proc = _download_wheels(script, tmp_path / 'wheels')
    assert proc.returncode == 2, proc.stderr
    assert "offline.txt:4: expected NAME==VERSION, got 'mmengine>=0.10.7'" \
        in proc.stderr


def test_shell_tools_run_under_this_interpreter(monkeypatch):
    """``dist_train.sh`` runs ``$PYTHON`` (default ``python3``, which need
    not be the interpreter of the check): a tool run gets this one unless
    ``PYTHON`` names another."""
    import sys

    from mmadaptformer.benchmark.gpu_check.commands import tool_env
    monkeypatch.delenv('PYTHON', raising=False)
    assert tool_env()['PYTHON'] == sys.executable
    assert tool_env(dict(PYTHON='/opt/py'))['PYTHON'] == '/opt/py'
    monkeypatch.setenv('PYTHON', '/env/py')
    assert tool_env()['PYTHON'] == '/env/py'


def test_runner_on_cpu_writes_results_of_a_run_cut_short(tmp_path):
    out = tmp_path / 'out'
    # tools/gpu_check.sh runs this tool (test_no_gpu_says_so_and_exits_0).
    proc = run_tool([
        'analysis_tools/gpu_check.py', '--out-dir', out, '--device', 'cpu',
        '--checks', 'amp_step_image', 'multitask_inference', 'profile',
        '--timeout', 'profile=1'
    ],
                    cwd=tmp_path,
                    timeout=600,
                    check=False)
    # A check that ran out of time fails the run, but not the others.
    assert proc.returncode == 1, proc.stdout[-3000:]
    result = json.loads((out / 'gpu_check.json').read_text())
    assert result['status'] == 'partial'
    checks = result['checks']
    assert list(checks) == ['amp_step_image', 'multitask_inference', 'profile']
    amp = checks['amp_step_image']
    assert amp['status'] == 'passed', amp.get('log_tail')
    assert 'bfloat16 gradient cosine vs fp32' in {
        e['name']
        for e in amp['expectations']
    }
    # Inference needs mmadaptformer.apis and the training checks'
    # checkpoints: skipped with the reason.
    inference = checks['multitask_inference']
    assert inference['status'] == 'skipped'
    assert 'not available' in inference['reason'] or \
        'no trained checkpoint' in inference['reason']
    assert checks['profile']['status'] == 'timeout'
    assert 'limit of 1 s' in checks['profile']['reason']
    # The wall time of each check's process (start-up and imports
    # included, what the budget counts) beside the check's own time.
    assert amp['wall_seconds'] > amp['seconds'] > 0
    assert checks['profile']['wall_seconds'] >= 1
    summary = (out / 'summary.txt').read_text()
    assert summary == format_gpu_summary(result)
    for name in checks:
        assert name in summary
    assert 'not measured' in summary
    assert osp.isfile(out / 'logs' / 'amp_step_image.log')


def _alive(pid):
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        with open(f'/proc/{pid}/status') as f:
            return '\nState:\tZ' not in f.read()
    except FileNotFoundError:
        return False


def test_tool_runs_stop_with_their_process_group(tmp_path):
    import threading
    import time

    from mmadaptformer.benchmark.gpu_check.commands import (run_command,
                                                            stop_running_tools)

    # A tool and the process it starts, as dist_train.sh starts torchrun.
    script = ('import subprocess, sys, time; '
              'child = subprocess.Popen([sys.executable, "-c", '
              '"import time; time.sleep(60)"]); '
              'print(child.pid, flush=True); time.sleep(60)')
    start = time.time()
    code, out = run_command([sys.executable, '-c', script],
                            str(tmp_path / 'timeout.log'),
                            timeout=3)
    assert code < 0 and time.time() - start < 30
    child = int(out.splitlines()[1])
    time.sleep(0.5)
    assert not _alive(child)

    # A check stopped by the runner stops the tools it runs.
    result, start = {}, time.time()
    thread = threading.Thread(target=lambda: result.update(
        code=run_command([sys.executable, '-c', script],
                         str(tmp_path / 'stopped.log'),
                         timeout=60)[0]))
    thread.start()
    log = tmp_path / 'stopped.log'
    while time.time() - start < 60 and (not log.exists() or
                                        len(log.read_text().splitlines()) < 2):
        time.sleep(0.2)
    stop_running_tools()
    thread.join(timeout=30)
    assert not thread.is_alive() and result['code'] < 0
    child = int(log.read_text().splitlines()[1])
    time.sleep(0.5)
    assert not _alive(child)
