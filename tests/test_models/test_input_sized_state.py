# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A host whose forward rebuilds state for the input's size (EVA-02's
rotary embedding) keeps the state it was loaded with under AdaptFormer.

EVA-02 built for one image size and fed another (which mmpretrain allows)
re-registered its ``rope.freqs_cos``/``freqs_sin`` buffers for the new patch
grid. Before, AdapterHook then stopped training after the first epoch
("frozen tensors changed ... something other than the optimizer updated
them"), and a full checkpoint no longer fitted its config's model."""
import copy

import torch
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, write_config
from mmengine.registry import MODELS

from mmadaptformer.models import AdaptFormer, remove_adapters
from mmadaptformer.models.adapters.input_sized_state import HOOK_ATTR

# Built for a 2 x 2 patch grid; the inputs below are 4 x 4.
EVA02 = dict(
    type='mmpretrain.ViTEVA02',
    arch=dict(
        embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
    img_size=32,
    patch_size=16,
    final_norm=False,
    out_type='avg_featmap')


def _state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def _assert_same_state(before, after):
    assert list(before) == list(after)
    for key, value in before.items():
        assert after[key].shape == value.shape, key
        assert torch.equal(after[key], value), key


def test_eva02_state_stays_as_loaded_for_inputs_of_another_size():
    torch.manual_seed(0)
    stock = MODELS.build(copy.deepcopy(EVA02))
    stock.init_weights()
    stock.train()
    model = AdaptFormer(backbone=copy.deepcopy(EVA02)).train()
    model.allow_trained_host = True  # the backward below reaches the host
    model.load_state_dict(stock.state_dict(), strict=False)
    before = _state(model.backbone)
    assert any(k.endswith('rope.freqs_cos') for k in before)
    x = torch.randn(2, 3, 64, 64)
    # The zero-initialised adapters leave the stock output: the forward
    # still computes with the tables for a 4 x 4 grid.
    expected = stock(x)[0]
    out = model(x)[0]
    torch.testing.assert_close(out, expected)
    _assert_same_state(before, _state(model.backbone))
    # Again (rebuilt, not cached wrongly), and back at the built size.
    torch.testing.assert_close(model(x)[0], expected)
    small = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(model(small)[0], stock(small)[0])
    _assert_same_state(before, _state(model.backbone))
    out.sum().backward()


def test_input_sized_state_hook_follows_deepcopy_and_is_removed():
    model = AdaptFormer(backbone=copy.deepcopy(EVA02))
    twin = copy.deepcopy(model)
    before = _state(twin.backbone)
    twin(torch.randn(1, 3, 64, 64))
    _assert_same_state(before, _state(twin.backbone))
    rope = twin.backbone.rope
    assert HOOK_ATTR in rope.__dict__
    remove_adapters(twin.backbone)
    assert HOOK_ATTR not in rope.__dict__
    # Without the hook the host rebuilds its tables, as stock mmpretrain.
    twin(torch.randn(1, 3, 64, 64))
    assert twin.backbone.rope.freqs_cos.shape[0] == 16


_EVA02_RUN = """
model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        backbone=dict(
            type='ViTEVA02',
            arch=dict(
                embed_dims=32, num_layers=2, num_heads=2,
                feedforward_channels=64),
            img_size=16,
            patch_size=16,
            final_norm=False,
            out_type='avg_featmap'),
        adapter=dict(bottleneck=8, init='trunc_normal')),
    head=dict(in_channels=32))
custom_hooks = [dict(type='AdapterHook', allow_random_backbone=True)]
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=10, save_last=False))
"""


def test_adapterhook_trains_eva02_on_images_of_another_size(
        tmp_path, tiny_image_data, clean_loggers):
    """The images (32 x 32) are not the backbone's ``img_size`` (16): the
    frozen-weights check after each epoch passes (before, it raised after
    the first), and the host ends with the tables of its own grid."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    config = write_config(tmp_path / 'eva02.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data) + _EVA02_RUN)
    cfg = Config.fromfile(config)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    host = runner.model.backbone.backbone
    assert host.rope.patch_resolution == (1, 1)
    assert host.rope.freqs_cos.shape[0] == 1


def test_a_forward_that_raises_gives_the_state_back():
    """A forward that replaced its state and then raised (an input the
    module refuses) left the replaced state in place and one saved entry
    behind, per such call: the restoring hook ran only after a forward
    that returned."""
    from torch import nn

    from mmadaptformer.models.adapters.input_sized_state import \
        InputSizedStateHook

    class Sized(nn.Module):

        def __init__(self):
            super().__init__()
            self.register_buffer('table', torch.zeros(2))

        def forward(self, x):
            self.table = torch.ones(len(x))  # recomputed for this input
            if len(x) > 4:
                raise ValueError('too long')
            return x + self.table

    module = Sized()
    own = module.table
    hook = InputSizedStateHook(module, ('table', ))
    for _ in range(3):
        try:
            module(torch.zeros(5))
        except ValueError:
            pass
    assert module.table is own
    assert hook.saved == []
    module(torch.zeros(3))
    assert module.table is own and hook.saved == []
