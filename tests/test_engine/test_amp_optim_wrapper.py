# Copyright (c) mmadaptformer contributors. All rights reserved.
"""CPUAmpOptimWrapper: bfloat16 autocast training on the CPU."""
import copy
import re

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.device import get_device
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from torch.testing import assert_close

from mmadaptformer.engine import CPUAmpOptimWrapper
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
    assert "type='CPUAmpOptimWrapper'" in proc.stdout
    losses = [float(v) for v in re.findall(r' loss: (\S+)', proc.stdout)]
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    assert (work_dir / 'epoch_1.pth').is_file()
