# Copyright (c) mmadaptformer contributors. All rights reserved.
"""AdapterHook keeps the input-sized state of hosts it did not adapt (no
AdaptFormer wrapper) as loaded, as injection does for the hosts it
adapts."""
import torch
from helpers import TINY_IMAGE_CONFIG, image_data_cfg, run_tool, write_config

#: A plain mmpretrain EVA-02 (no AdaptFormer wrapper, so no injection),
#: linear-probed on images (32 x 32) of another size than its img_size
#: (16): its rotary embedding re-registers freqs_cos/freqs_sin per size.
_LINEAR_PROBE_EVA02 = """
model = dict(
    backbone=dict(
        _delete_=True,
        type='ViTEVA02',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2,
            feedforward_channels=64),
        img_size=16,
        patch_size=16,
        final_norm=False,
        out_type='avg_featmap'),
    head=dict(in_channels=32))
custom_hooks = [
    dict(type='AdapterHook', mode='linear_probe', allow_random_backbone=True)
]
train_cfg = dict(max_epochs=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2, save_last=True))
"""


def test_linear_probe_of_plain_eva02_at_another_input_size(
        tmp_path, tiny_image_data):
    """Before: ``RuntimeError: AdapterHook: 6 frozen tensors changed during
    epoch 1 ... ['backbone.layers.0.attn.rope.freqs_cos', ...]``.
    Now both epochs train and the checkpoint holds the tables of the
    backbone's own grid (1 x 1 patches), which a model built from the
    config loads (not those of the last input's 2 x 2)."""
    config = write_config(
        tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
        image_data_cfg(tiny_image_data) + _LINEAR_PROBE_EVA02)
    work = tmp_path / 'w'
    proc = run_tool(['train.py', config, '--work-dir', work],
                    cwd=tmp_path,
                    check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:]
    # The rotary embedding is shared by the blocks: hooked once.
    assert out.count('its state, which its forward rebuilds') == 1, out
    assert 'AdapterHook: backbone.layers.0.attn.rope: its state' in out
    state = torch.load(
        work / 'epoch_2.pth', map_location='cpu',
        weights_only=False)['state_dict']
    tables = {k: v.shape for k, v in state.items() if '.freqs_' in k}
    assert len(tables) == 6, tables  # shared: under each block, and its own
    assert all(shape == (1, 16) for shape in tables.values()), tables
