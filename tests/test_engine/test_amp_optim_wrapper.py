# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdaptAmpOptimWrapper (also under its first name, CPUAmpOptimWrapper):
bfloat16 autocast training on the CPU, and on CUDA MMEngine's
AmpOptimWrapper without what torch 2 deprecates."""
import copy
import re
import warnings

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.device import get_device
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner.amp import autocast
from torch.testing import assert_close

from mmadaptformer.engine import AdaptAmpOptimWrapper, CPUAmpOptimWrapper
from mmadaptformer.engine.optimizers import amp_cast_dtype, build_grad_scaler
from mmadaptformer.models import (adapter_modules, apply_trainable,
                                  plan_trainable)

OPTIMIZER = dict(type='SGD', lr=0.5, momentum=0.9)


def _model():
    """The tiny AdaptFormer recognizer of the repository's config, trainable
    as the AdapterHook makes it, with non-zero adapters."""
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model)
    model.init_weights()
    with torch.no_grad():
        for adapter in adapter_modules(model).values():
            adapter.up_proj.weight.normal_(std=0.1)
    apply_trainable(
        model,
        plan_trainable(model, extra_trainable=[r'^backbone\.fc_norm\.']))
    return model


def _wrapper(model, **kwargs):
    return build_optim_wrapper(
        model, dict(type='CPUAmpOptimWrapper', optimizer=OPTIMIZER, **kwargs))


def _batch():
    generator = torch.Generator().manual_seed(0)
    return dict(
        inputs=[
            torch.randint(
                0,
                256, (1, 3, 4, 32, 32),
                generator=generator,
                dtype=torch.uint8) for _ in range(4)
        ],
        data_samples=[
            ActionDataSample().set_gt_label(i % 2) for i in range(4)
        ])


def test_training_step_runs_under_bf16_autocast():
    model = _model()
    wrapper = _wrapper(model, device_type='cpu')
    assert isinstance(wrapper, CPUAmpOptimWrapper)
    dtypes = []
    fc1 = model.backbone.backbone.blocks[0].mlp.layers[0][0]
    fc1.register_forward_hook(lambda m, a, out: dtypes.append(out.dtype))
    trainable = {
        n: p.detach().clone()
        for n, p in model.named_parameters() if p.requires_grad
    }
    frozen = {
        n: p.detach().clone()
        for n, p in model.named_parameters() if not p.requires_grad
    }

    log_vars = model.train_step(_batch(), wrapper)
    assert dtypes == [torch.bfloat16]
    assert torch.isfinite(log_vars['loss'])
    params = dict(model.named_parameters())
    assert all(p.dtype == torch.float32 for p in params.values())
    changed = [
        n for n, v in trainable.items() if not torch.equal(v, params[n])
    ]
    assert 'cls_head.fc_cls.weight' in changed
    assert 'backbone.backbone.blocks.1.adaptmlp.up_proj.weight' in changed
    assert all(torch.equal(v, params[n]) for n, v in frozen.items())

    # Outside the wrapper's context the model runs in float32.
    model.val_step(_batch())
    assert dtypes[-1] == torch.float32


def test_head_upcast_is_per_model_not_a_global_patch():
    from mmaction.models.heads.base import BaseHead
    original = BaseHead.__dict__['loss_by_feat']
    model, other = _model(), _model()
    wrapper = _wrapper(model, device_type='cpu')
    model.train_step(_batch(), wrapper)
    # mmaction2's class is untouched; only the trained model's head has
    # the hook, and training twice does not add a second one.
    assert BaseHead.__dict__['loss_by_feat'] is original
    assert len(model.cls_head._forward_hooks) == 1
    assert not other.cls_head._forward_hooks
    model.train_step(_batch(), wrapper)
    assert len(model.cls_head._forward_hooks) == 1
    with torch.autocast('cpu', dtype=torch.bfloat16):
        feats = torch.randn(2, model.cls_head.in_channels)
        assert model.cls_head(feats).dtype == torch.float32
        assert other.cls_head(feats).dtype == torch.bfloat16


def test_bf16_outputs_close_to_fp32():
    model = _model().eval()
    wrapper = _wrapper(model)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        fp32 = model.backbone(x)
        with wrapper.optim_context(model):
            bf16 = model.backbone(x)
    assert bf16.dtype == torch.float32  # fc_norm runs in float32
    assert not torch.equal(bf16, fp32)
    # bfloat16 keeps 8 significant bits: about 2 decimal digits.
    assert_close(bf16, fp32, rtol=0.05, atol=0.05)


def test_state_dict_round_trip():
    model = _model()
    wrapper = _wrapper(model)
    model.train_step(_batch(), wrapper)
    state = wrapper.state_dict()
    # A disabled scaler saves nothing that an enabled one would refuse.
    assert 'loss_scaler' not in state
    momentum = [s['momentum_buffer'] for s in state['state'].values()]
    assert momentum and any(m.abs().sum() > 0 for m in momentum)

    other = _wrapper(model)
    # As saved by a GPU run of AmpOptimWrapper: the scaler state is dropped.
    other.load_state_dict(dict(copy.deepcopy(state), loss_scaler={}))
    loaded = other.state_dict()
    assert loaded['param_groups'] == state['param_groups']
    for key, value in state['state'].items():
        assert_close(loaded['state'][key]['momentum_buffer'],
                     value['momentum_buffer'])


def test_rejects_float16_on_cpu():
    with pytest.raises(ValueError, match="optim_wrapper.dtype is 'float16'"):
        _wrapper(_model(), dtype='float16', device_type='cpu')


@pytest.mark.skipif(
    get_device() != 'cpu', reason='needs a machine '
    'without a GPU')
def test_train_tool_amp_on_cpu(tmp_path, tiny_video_data):
    pretrained = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(pretrained)
    cfg = write_config(
        tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + pretrained_cfg(pretrained))
    work_dir = tmp_path / 'work'
    proc = run_tool([
        'train.py', cfg, '--amp', '--no-validate', '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path)
    # The recipes' wrapper, told to autocast on the CPU.
    assert "type='AdaptAmpOptimWrapper'" in proc.stdout
    assert 'cpu_bf16=True' in proc.stdout
    losses = [float(v) for v in re.findall(r' loss: (\S+)', proc.stdout)]
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    assert (work_dir / 'epoch_1.pth').is_file()


def _deprecations(caught):
    return [
        f'{w.category.__name__}: {w.message}' for w in caught
        if issubclass(w.category, (DeprecationWarning, FutureWarning))
    ]


@pytest.fixture
def record_warnings():
    """Every warning raised inside, each time (not once per place)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        yield caught


def test_cuda_scaler_is_torch_amp_grad_scaler(record_warnings):
    scaler, update = build_grad_scaler('dynamic', 'cuda')
    # torch.cuda.amp.GradScaler subclasses it: the exact type, not that.
    assert type(scaler) is torch.amp.GradScaler
    assert scaler._device == 'cuda' and update is None
    assert _deprecations(record_warnings) == []
    if not torch.cuda.is_available():
        # As far as a CPU goes: torch disables a CUDA scaler, and says so.
        assert not scaler.is_enabled()
        assert any('CUDA is not available' in str(w.message)
                   for w in record_warnings)
    # What MMEngine's AmpOptimWrapper builds instead.
    torch.cuda.amp.GradScaler()
    assert any('torch.amp.GradScaler' in d
               for d in _deprecations(record_warnings))


@pytest.mark.parametrize('loss_scale, init_scale, update, growth', [
    ('dynamic', 2.**16, None, 2000),
    (512., 512., 512., 2000),
    (512, 512., 512., 2000),
    (dict(init_scale=8., growth_interval=3), 8., None, 3),
])
def test_loss_scale_as_mmengine_reads_it(loss_scale, init_scale, update,
                                         growth):
    # An enabled scaler keeps its settings: torch runs one on the CPU.
    scaler, scale_update = build_grad_scaler(loss_scale, 'cpu')
    assert scaler.is_enabled() and scale_update == update
    assert scaler._init_scale == init_scale
    assert scaler._growth_interval == growth


@pytest.mark.parametrize('loss_scale', ['static', True, None, [512.]])
def test_bad_loss_scale_is_named(loss_scale):
    with pytest.raises(TypeError, match=re.escape(repr(loss_scale))):
        build_grad_scaler(loss_scale, 'cuda')


@pytest.mark.parametrize('dtype, device, expected', [
    (None, 'cuda', torch.float16),
    ('float16', 'cuda', torch.float16),
    ('bfloat16', 'cuda', torch.bfloat16),
    (torch.bfloat16, 'cuda', torch.bfloat16),
    (None, 'cpu', torch.bfloat16),
    ('bfloat16', 'cpu', torch.bfloat16),
])
def test_cast_dtype_is_always_given(dtype, device, expected):
    assert amp_cast_dtype(dtype, device) is expected


@pytest.mark.parametrize('dtype, device', [('float32', 'cuda'),
                                           ('float64', 'cuda'),
                                           ('int8', 'cuda'),
                                           (torch.float16, 'cpu')])
def test_cast_dtype_refuses_what_does_not_autocast(dtype, device):
    with pytest.raises(ValueError, match=f'optim_wrapper.dtype is {dtype!r}'):
        amp_cast_dtype(dtype, device)


def test_cuda_autocast_with_the_cast_dtype_calls_nothing_deprecated(
        record_warnings):
    """The wrapper's forward context, as MMEngine's ``autocast`` runs it on
    CUDA: with the dtype given it does not ask torch for the default (on a
    machine without CUDA torch then disables autocast, saying so)."""
    with autocast(device_type='cuda', dtype=amp_cast_dtype(None, 'cuda')):
        pass
    assert _deprecations(record_warnings) == []
    with autocast(device_type='cuda', dtype=None):  # MMEngine's default
        pass
    assert any('get_autocast_gpu_dtype' in d
               for d in _deprecations(record_warnings))


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='needs a machine without CUDA')
@pytest.mark.parametrize('name',
                         ['AdaptAmpOptimWrapper', 'CPUAmpOptimWrapper'])
def test_wrapper_for_cuda_without_cuda_is_refused(name):
    with pytest.raises(
            RuntimeError,
            match=f'^{name} was built for device_type '
            "'cuda'.*is False"):
        build_optim_wrapper(
            _model(), dict(type=name, optimizer=OPTIMIZER, device_type='cuda'))


def test_recipe_wrapper_refuses_the_cpu_unless_told():
    """A recipe's wrapper built on a CPU (a user's own Runner script, no
    --amp) is refused, as MMEngine's AmpOptimWrapper was, instead of
    silently training the GPU recipe in bfloat16."""
    from mmadaptformer.utils import ConfigError
    cfg = dict(type='AdaptAmpOptimWrapper', optimizer=OPTIMIZER)
    with pytest.raises(
            ConfigError,
            match=r"^optim_wrapper.type='AdaptAmpOptimWrapper' trains in "
            r'mixed precision on a GPU, and the model runs on the CPU here. '
            r'Set optim_wrapper.cpu_bf16=True \(tools/train.py --amp does\)'):
        build_optim_wrapper(_model(), dict(cfg, device_type='cpu'))
    wrapper = build_optim_wrapper(_model(),
                                  dict(cfg, device_type='cpu', cpu_bf16=True))
    assert wrapper.cast_dtype == torch.bfloat16


def test_first_name_is_the_same_wrapper_and_trains_on_the_cpu():
    """Configs (and --amp runs' config copies) that name
    CPUAmpOptimWrapper keep training on the CPU as they did."""
    wrapper = _wrapper(_model(), device_type='cpu')
    assert isinstance(wrapper, AdaptAmpOptimWrapper)
    assert type(wrapper) is CPUAmpOptimWrapper
    assert wrapper.cast_dtype == torch.bfloat16
    # Only the CPU default differs: the rest is the recipes' wrapper's.
    assert [
        name for name, value in vars(CPUAmpOptimWrapper).items()
        if callable(value)
    ] == ['__init__']


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('dtype', [None, 'bfloat16'])
def test_cuda_training_step_calls_nothing_deprecated(dtype):
    model = _model().cuda()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        wrapper = _wrapper(model, dtype=dtype, device_type='cuda')
        for _ in range(2):
            model.train_step(_batch(), wrapper)
    assert type(wrapper.loss_scaler) is torch.amp.GradScaler
    assert wrapper.loss_scaler.is_enabled()
    assert wrapper.cast_dtype == amp_cast_dtype(dtype, 'cuda')
    assert _deprecations(caught) == []


def test_cpu_path_unchanged_and_calls_nothing_deprecated(record_warnings):
    model = _model()
    wrapper = _wrapper(model, device_type='cpu')
    model.train_step(_batch(), wrapper)
    assert wrapper.cast_dtype == torch.bfloat16
    assert type(wrapper.loss_scaler) is torch.amp.GradScaler
    assert wrapper.loss_scaler._device == 'cpu'
    assert not wrapper.loss_scaler.is_enabled()
    assert wrapper._scale_update_param is None
    assert _deprecations(record_warnings) == []
