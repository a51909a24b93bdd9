# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``merge_adapters.py`` and ``extract_adapters.py`` on an AdaptFormer
over mmpretrain's ``SwinTransformerV2``, whose load pre-hook deletes its
relative position tables from every state dict (it keeps the ones its
``window_size`` gives): the tools' ``strict=True`` load refused every
checkpoint of it with a traceback (``Missing key(s) in state_dict:
"backbone.stages.0.blocks.0.attn.w_msa.relative_coords_table", ...``).
A key the file really lacks, of the backbone or of the adapters, is still
refused."""
import pytest
import torch
from adapter_only_files import adapter_only_as_written
from config_writers import write_config
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils import StateDictMismatchError

HOST = dict(
    type='SwinTransformerV2',
    arch=dict(
        embed_dims=16,
        depths=[1, 1, 2, 1],
        num_heads=[1, 1, 2, 2],
        extra_norm_every_n_blocks=0),
    img_size=64,
    window_size=[2, 2, 2, 2])
SWINV2 = (f'model = dict(backbone=dict(backbone=dict({HOST!r}, '
          '_delete_=True)), '
          "neck=dict(_delete_=True, type='GlobalAveragePooling'), "
          'head=dict(in_channels=128))\n')
TABLE = 'backbone.stages.0.blocks.0.attn.w_msa.relative_coords_table'
ADAPTER = 'backbone.stages.0.blocks.0.adaptmlp.down_proj.weight'
BACKBONE = 'backbone.stages.0.blocks.0.attn.w_msa.qkv.weight'


@pytest.fixture
def swinv2(tmp_path):
    """The config, the pretrained backbone, the adapter-only checkpoint
    of a model on it and that model's full checkpoint."""
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
    adapters = str(tmp_path / 'adapters.pth')
    torch.save(adapter_only_as_written(model, plan), adapters)
    full = str(tmp_path / 'full.pth')
    state = model.state_dict()
    assert TABLE in state
    torch.save(dict(state_dict=state, meta={}), full)
    return config, pretrained, adapters, full


def test_swinv2_adapters_merge_and_extract(swinv2, tmp_path):
    config, pretrained, adapters, full = swinv2
    merged = tmp_path / 'merged.pth'
    run_tool([
        'model_converters/merge_adapters.py', config, adapters, merged,
        '--pretrained', pretrained
    ],
             cwd=tmp_path)
    state = torch.load(merged, weights_only=True)['state_dict']
    assert torch.equal(state[ADAPTER],
                       torch.load(adapters)['state_dict'][ADAPTER])
    for source, out in ((full, 'from_full.pth'), (merged, 'from_merged.pth')):
        run_tool([
            'model_converters/extract_adapters.py', config, source,
            tmp_path / out, '--pretrained', pretrained
        ],
                 cwd=tmp_path)
        extracted = torch.load(tmp_path / out, weights_only=True)
        assert ADAPTER in extracted['state_dict']
        assert BACKBONE not in extracted['state_dict']


@pytest.mark.parametrize('key', [ADAPTER, BACKBONE])
def test_swinv2_checkpoint_lacking_a_key_is_refused(swinv2, tmp_path, key):
    """Guards kept behaviour: a full checkpoint without one adapter or
    backbone tensor is refused, not extracted."""
    config, pretrained, _, full = swinv2
    checkpoint = torch.load(full)
    del checkpoint['state_dict'][key]
    torch.save(checkpoint, full)
    out = tmp_path / 'out.pth'
    proc = run_tool([
        'model_converters/extract_adapters.py', config, full, out,
        '--pretrained', pretrained
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout
    assert 'Traceback' not in proc.stdout
    assert key in proc.stdout
    assert not out.exists()


def _swinv2_host():
    """The bare host: the wrapper's own load path refuses a missing key
    before the tools' load would."""
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope('mmpretrain')
    return MODELS.build(HOST)


@pytest.mark.parametrize('key', [BACKBONE, TABLE])
def test_a_missing_key_the_state_dict_lacks_is_refused(key):
    """Only the keys the state dict holds and the host's pre-hook takes out
    are let through: one it lacks is refused, as ``strict=True`` does,
    even a position table the host would rebuild."""
    from mmadaptformer.utils.full_load import load_full_state_dict
    model = _swinv2_host()
    state = model.state_dict()
    load_full_state_dict(model, state, 'full.pth')
    key = key[len('backbone.'):]
    del state[key]
    with pytest.raises(
            StateDictMismatchError,
            match=rf'^full\.pth does not fit the model in full: missing '
            rf'\(1\): {key}\. '):
        load_full_state_dict(model, state, 'full.pth')


def test_an_unexpected_key_is_refused():
    from mmadaptformer.utils.full_load import load_full_state_dict
    model = _swinv2_host()
    state = dict(model.state_dict(), extra=torch.zeros(1))
    with pytest.raises(
            StateDictMismatchError, match=r'unexpected \(1\): extra\. '):
        load_full_state_dict(model, state, 'full.pth')
