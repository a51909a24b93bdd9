# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Adapters (or prompts) of other settings, loaded through MMEngine's
``load_checkpoint``: the refusal names each setting the tensors show, its
config key and both values, as a record's settings are named; it said
"(layers, bottleneck, norm, learnable scale)" and the tensor shapes."""
import pytest
import torch
from helpers import TINY_ADAPTFORMER_VIDEO_CONFIG
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint

from mmadaptformer.utils.state_dict_check import StateDictMismatchError

LAYERS = 'layers (model.backbone.layers): checkpoint '
BOTTLENECK = 'bottleneck (model.backbone.adapter.bottleneck): checkpoint '
NORM = 'norm (model.backbone.adapter.norm): checkpoint '
SCALE = 'scale (model.backbone.adapter.scale): checkpoint '


def _adaptformer(**overrides):
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.merge_from_dict(
        {f'model.backbone.{k}': v
         for k, v in overrides.items()})
    init_default_scope('mmaction')
    return MODELS.build(cfg.model)


def _vpt(**settings):
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.model.backbone = dict(
        type='VPT', backbone=cfg.model.backbone.backbone, **settings)
    init_default_scope('mmaction')
    return MODELS.build(cfg.model)


def _refusal(saved, loaded, path, adapter_only=False):
    state = saved.state_dict()
    if adapter_only:
        # What an adapter-only file holds: the adapters and the head (a
        # file without the head is refused for that first).
        state = {
            k: v
            for k, v in state.items()
            if 'adaptmlp' in k or k.startswith('cls_head.')
        }
    torch.save({'state_dict': state, 'meta': {}}, str(path))
    with pytest.raises(StateDictMismatchError) as info:
        load_checkpoint(loaded, str(path), map_location='cpu')
    return str(info.value)


@pytest.mark.parametrize(
    'saved, loaded, named',
    [(dict(adapter=dict(bottleneck=16)), {}, [BOTTLENECK + '16, this model 8'
                                              ]),
     ({}, dict(layers=[-1]),
      [LAYERS + '[0, 1] (every block), this model [1] (blocks.1)']),
     (dict(layers=[0], adapter=dict(bottleneck=4)), {}, [
         LAYERS + '[0] (blocks.0), this model [0, 1] (every block)',
         BOTTLENECK + '4, this model 8'
     ]),
     (dict(adapter=dict(norm='in')), {}, [
         NORM + "'in' or 'out' (its adapters have LayerNorm tensors), this "
         'model None'
     ]),
     ({}, dict(adapter=dict(norm='out', scale='learnable')), [
         NORM + 'None (its adapters have no LayerNorm tensors), this model '
         "'out'", SCALE + 'a fixed number (its adapters hold no scale '
         "tensor), this model 'learnable'"
     ]),
     (dict(adapter=dict(scale='learnable')), {}, [
         SCALE + "'learnable' (its adapters hold a scale tensor), this "
         'model 0.1'
     ])],
    ids=[
        'bottleneck', 'layers', 'layers_and_bottleneck', 'norm',
        'norm_and_scale', 'learnable_scale'
    ])
def test_full_checkpoint_of_other_adapter_settings_names_them(
        tmp_path, saved, loaded, named):
    path = tmp_path / 'other.pth'
    text = _refusal(_adaptformer(**saved), _adaptformer(**loaded), path)
    # The file, which MMEngine is loading: a full file records no source.
    assert text.startswith(
        f'The state dict of {path} holds adapter tensors that do not fit '
        'this model\'s '
        'adapters: it was saved with other adapter settings: ' +
        '; '.join(named) + '. '), text
    assert 'learnable scale)' not in text
    # The tensors that show it follow.
    assert 'Load it with the config it was trained with' in text


def test_adapter_only_checkpoint_of_another_bottleneck_names_it(tmp_path):
    text = _refusal(
        _adaptformer(layers=[1], adapter=dict(bottleneck=16)),
        _adaptformer(),
        tmp_path / 'adapters.pth',
        adapter_only=True)
    assert ('it was saved with other adapter settings: ' + LAYERS +
            '[1] (blocks.1), this model [0, 1] (every block); ' + BOTTLENECK +
            '16, this model 8. Missing (4 of 8): '
            'backbone.blocks.0.adaptmlp.') in text, text


def test_prompts_of_other_settings_name_them(tmp_path):
    text = _refusal(
        _vpt(num_prompts=4), _vpt(num_prompts=8), tmp_path / 'vpt.pth')
    assert ('it was saved with other prompt settings: num_prompts '
            '(model.backbone.num_prompts): checkpoint 4, this model 8. '
            'Tensors whose shapes differ (1): backbone.prompt_embeddings: '
            'checkpoint (2, 4, 64) vs model (2, 8, 64).') in text, text
    text = _refusal(
        _vpt(num_prompts=4, deep=False), _vpt(num_prompts=4),
        tmp_path / 'shallow.pth')
    assert ('it was saved with other prompt settings: deep '
            '(model.backbone.deep): checkpoint False (prompts for 1 block), '
            'this model True (for 2).') in text, text
