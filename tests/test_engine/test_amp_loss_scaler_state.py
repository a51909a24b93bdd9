# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdaptAmpOptimWrapper saves and restores a running loss scaler's state
(the dynamic loss scale of a CUDA run), so that ``--resume`` continues
with the scale training reached. Without a GPU, the wrapper runs here with
an enabled scaler of :func:`build_grad_scaler` on the CPU (torch runs one
there), the kind it builds on CUDA."""
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmadaptformer.engine.optimizers import build_grad_scaler

OPTIM = dict(
    type='AdaptAmpOptimWrapper',
    cpu_bf16=True,
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
# The scale doubles after every step without an overflow.
LOSS_SCALE = dict(init_scale=8., growth_interval=1)


def _scaled_wrapper(model):
    """The wrapper, its scaler swapped for an enabled dynamic one, as
    ``_init_cuda`` builds it."""
    wrapper = build_optim_wrapper(model, OPTIM)
    wrapper.loss_scaler, wrapper._scale_update_param = build_grad_scaler(
        LOSS_SCALE, 'cpu')
    assert wrapper.loss_scaler.is_enabled()
    return wrapper


def test_a_running_loss_scale_is_saved_and_restored():
    """Guards a ``state_dict`` that leaves the scaler out whatever it is
    (as it must for a disabled one): a resumed AMP run would restart at the
    initial scale and growth count."""
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    wrapper = _scaled_wrapper(model)
    for _ in range(2):
        with wrapper.optim_context(model):
            loss = model(torch.randn(3, 4)).float().square().mean()
        wrapper.update_params(loss)
    assert wrapper.loss_scaler.get_scale() == 32.  # 8, doubled twice
    state = wrapper.state_dict()
    assert state['loss_scaler']['scale'] == 32.
    assert 'momentum_buffer' in next(iter(state['state'].values()))

    resumed = _scaled_wrapper(model)
    resumed.load_state_dict(state)
    assert resumed.loss_scaler.get_scale() == 32.
    assert resumed.loss_scaler.state_dict() == \
        wrapper.loss_scaler.state_dict()
