# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``extract_adapters.py`` on an AdaptFormer over mmpretrain's
``SwinTransformerV2`` with ``window_size`` 1, whose frozen
``relative_coords_table`` buffers are NaN (mmpretrain divides by
``window_size - 1``): ``torch.equal`` calls a NaN unequal to itself, so the
tool refused every such checkpoint, exit status 2, with ``5 of the 110
tensors that the AdapterHook ... leaves frozen differ from the pretrained
backbone ... (backbone.stages.0.blocks.0.attn.w_msa.relative_coords_table,
...): they were trained``. A frozen tensor that did change is still
refused."""
import pytest
import torch
from adapter_only_files import adapter_only_as_written
from config_writers import write_config
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils.fingerprint import changed_keys, same_values

HOST = dict(
    type='SwinTransformerV2',
    arch=dict(
        embed_dims=16,
        depths=[1, 1, 2, 1],
        num_heads=[1, 1, 2, 2],
        extra_norm_every_n_blocks=0),
    img_size=64,
    window_size=[1, 1, 1, 1])
SWINV2 = (f'model = dict(backbone=dict(backbone=dict({HOST!r}, '
          '_delete_=True)), '
          "neck=dict(_delete_=True, type='GlobalAveragePooling'), "
          'head=dict(in_channels=128))\n')
TABLE = 'backbone.stages.0.blocks.0.attn.w_msa.relative_coords_table'
ADAPTER = 'backbone.stages.0.blocks.0.adaptmlp.down_proj.weight'
BACKBONE = 'backbone.stages.0.blocks.0.attn.w_msa.qkv.weight'


@pytest.fixture
def swinv2(tmp_path):
    """The config, the pretrained backbone and a full checkpoint of the
    AdaptFormer model on it."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope

    from mmadaptformer.engine import build_model_and_plan
    from mmadaptformer.models import set_host_pretrained
    config = write_config(tmp_path / 'swinv2.py',
                          TINY_ADAPTFORMER_IMAGE_CONFIG, SWINV2)
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    torch.manual_seed(1)
    host = MODELS.build(cfg.model.backbone.backbone)
    host.init_weights()
    pretrained = str(tmp_path / 'pretrained.pth')
    torch.save(
        {
            'state_dict':
            {f'backbone.{k}': v
             for k, v in host.state_dict().items()}
        }, pretrained)
    set_host_pretrained(cfg, pretrained)
    torch.manual_seed(0)
    model, plan = build_model_and_plan(cfg)
    state = model.state_dict()
    # The case itself: the frozen buffer holds NaN.
    assert torch.isnan(state[TABLE]).any()
    full = str(tmp_path / 'full.pth')
    torch.save(dict(state_dict=state, meta={}), full)
    return config, pretrained, full, adapter_only_as_written(model, plan)


def _tensors(state):
    """The tensors of a state dict (not the adapters' settings record)."""
    return {k: v for k, v in state.items() if torch.is_tensor(v)}


def _extract(config, source, out, pretrained, check=True):
    return run_tool([
        'model_converters/extract_adapters.py', config, source, out,
        '--pretrained', pretrained
    ],
                    cwd=out.parent,
                    check=check)


def test_nan_buffers_extract_merge_extract_bit_exact(swinv2, tmp_path):
    config, pretrained, full, written = swinv2
    adapters = tmp_path / 'adapters.pth'
    _extract(config, full, adapters, pretrained)
    extracted = torch.load(adapters, weights_only=True)['state_dict']
    assert BACKBONE not in extracted and TABLE not in extracted
    # What the tool extracts is what AdapterHook would have written.
    assert set(written['state_dict']) == set(extracted)
    assert changed_keys(_tensors(written['state_dict']), extracted) == []
    merged = tmp_path / 'merged.pth'
    run_tool([
        'model_converters/merge_adapters.py', config, adapters, merged,
        '--pretrained', pretrained
    ],
             cwd=tmp_path)
    before = torch.load(full, weights_only=True)['state_dict']
    after = torch.load(merged, weights_only=True)['state_dict']
    assert changed_keys(_tensors(before), after) == []
    again = tmp_path / 'again.pth'
    _extract(config, merged, again, pretrained)
    again_state = torch.load(again, weights_only=True)['state_dict']
    assert changed_keys(_tensors(extracted), again_state) == []


def test_a_trained_frozen_tensor_is_still_refused(swinv2, tmp_path):
    """Guards kept behaviour next to the NaN buffers: a frozen weight that
    changed is named, the NaN tables are not."""
    config, pretrained, full, _ = swinv2
    checkpoint = torch.load(full, weights_only=True)
    checkpoint['state_dict'][BACKBONE] += 1
    torch.save(checkpoint, full)
    out = tmp_path / 'out.pth'
    proc = _extract(config, full, out, pretrained, check=False)
    assert proc.returncode == 2, proc.stdout
    assert '1 of the 110 tensors' in proc.stdout, proc.stdout
    assert BACKBONE in proc.stdout and TABLE not in proc.stdout
    assert not out.exists()


@pytest.mark.parametrize('a, b, same', [
    ([1., float('nan')], [1., float('nan')], True),
    ([1., float('nan')], [2., float('nan')], False),
    ([1., float('nan')], [float('nan'), 1.], False),
    ([float('nan')], [0.], False),
    ([1, 2], [1, 2], True),
    ([1, 2], [1, 3], False),
])
def test_same_values_equates_nan_by_place(a, b, same):
    assert same_values(torch.tensor(a), torch.tensor(b)) is same


def test_same_values_needs_shape_and_dtype():
    assert not same_values(torch.zeros(2), torch.zeros(1, 2))
    assert not same_values(torch.zeros(2), torch.zeros(2).double())
