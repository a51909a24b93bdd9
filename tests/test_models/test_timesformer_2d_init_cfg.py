# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A wrapped TimeSformer given the 2D ViT it starts from as its
``init_cfg`` (what ``tools/train.py --pretrained`` sets) loads it as the
plain TimeSformer's ``pretrained=`` does: converted by TimeSformer's own
``init_weights()``.

Before, the file (mmcv's transformer layout, ``norms.0`` / ``norms.1``, no
temporal attention, as mmaction2 publishes its ImageNet ViT) was refused
as "probably saved from another architecture", with advice to set the
host's ``pretrained`` instead of giving ``--pretrained``. The 2D ViT here
is a space-only TimeSformer's state dict: that layout.
"""
import torch
from config_writers import video_data_cfg, write_config
from mmengine.registry import MODELS, init_default_scope
from plain_hosts import TIMESFORMER
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.models import AdaptFormer  # noqa: F401 (registers)


def _save_2d_vit(path: str) -> dict:
    """A 2D ViT in mmcv's transformer layout, as TimeSformer's own
    ``pretrained`` takes it."""
    init_default_scope('mmaction')
    torch.manual_seed(1)
    vit = MODELS.build(dict(TIMESFORMER, attention_type='space_only'))
    vit.init_weights()
    state = vit.state_dict()
    assert any('.norms.0.' in key for key in state)
    torch.save({'state_dict': state}, path)
    return state


def _wrapped(init_cfg: dict):
    init_default_scope('mmaction')
    return MODELS.build(
        dict(
            type='AdaptFormer',
            backbone=dict(TIMESFORMER, init_cfg=init_cfg),
            adapter=dict(bottleneck=8)))


def test_the_wrapper_converts_a_2d_vit_as_pretrained_does(tmp_path):
    path = str(tmp_path / 'vit2d.pth')
    _save_2d_vit(path)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    plain = MODELS.build(dict(TIMESFORMER, pretrained=path))
    plain.init_weights()
    torch.manual_seed(2)  # another seed: all that differs is the file's
    wrapper = _wrapped(dict(type='Pretrained', checkpoint=path))
    wrapper.init_weights()
    assert wrapper.host_source == path
    expected = plain.state_dict()
    got = wrapper.backbone.state_dict()
    for key, value in expected.items():
        assert torch.equal(got[key], value), key
    # The temporal attention is the spatial one, as TimeSformer copies it.
    layer = 'transformer_layers.layers.0.attentions'
    assert torch.equal(got[f'{layer}.0.attn.in_proj_weight'],
                       got[f'{layer}.1.attn.in_proj_weight'])


def test_a_file_of_timesformers_own_layout_still_loads_as_it_is(tmp_path):
    """Guards kept behaviour: a divided TimeSformer's own file is not
    handed to TimeSformer's conversion, which would copy its temporal
    attention over its spatial one."""
    init_default_scope('mmaction')
    torch.manual_seed(3)
    host = MODELS.build(dict(TIMESFORMER))
    host.init_weights()
    state = host.state_dict()
    path = str(tmp_path / 'timesformer.pth')
    torch.save({'state_dict': state}, path)
    wrapper = _wrapped(dict(type='Pretrained', checkpoint=path))
    wrapper.init_weights()
    got = wrapper.backbone.state_dict()
    for key, value in state.items():
        assert torch.equal(got[key], value), key


def test_train_pretrained_a_2d_vit_on_a_wrapped_timesformer(
        tmp_path, tiny_video_data):
    """``--pretrained`` with the 2D ViT trains, and tools/test.py tests the
    adapter-only checkpoint on the same file."""
    path = str(tmp_path / 'vit2d.pth')
    _save_2d_vit(path)
    model = dict(backbone=dict(backbone=dict(TIMESFORMER, _delete_=True)))
    config = write_config(
        tmp_path / 'ts.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + f'model = {model!r}\n'
        'train_cfg = dict(max_epochs=1)\n'
        "custom_hooks = [dict(type='AdapterHook', "
        'adapter_only_checkpoint=True)]\n')
    proc = run_tool([
        'train.py', config, '--pretrained', path, '--work-dir', tmp_path / 'w'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (f'{path} (model.backbone.backbone.init_cfg.checkpoint) is in the '
            'layout that TimeSformer converts itself') in proc.stdout
    assert 'Epoch(train) [1]' in proc.stdout
    proc = run_tool([
        'test.py', config, tmp_path / 'w' / 'epoch_1.pth', '--pretrained',
        path, '--work-dir', tmp_path / 't'
    ],
                    cwd=tmp_path)
    assert 'acc/top1' in proc.stdout
