# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What a frozen-host wrapper records of its trained part's settings, how a
prompt-only checkpoint of VPT-deep is refused by a VPT-shallow model
through mmpretrain's ``get_model``, and the error of a misplaced config
key."""
import pytest
import torch
from helpers import TINY_IMAGE_CONFIG, VIDEO_HOST, write_config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.models import FROZEN_HOST_KEY, VPT, AdaptFormer
from mmadaptformer.models.backbones.frozen_host_entries import \
    frozen_host_entry
from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.fingerprint import tensor_fingerprint
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _adaptformer(**kwargs):
    torch.manual_seed(0)  # one frozen host for all
    return AdaptFormer(backbone=dict(VIDEO_HOST), **kwargs)


def _entry(model):
    """The model's record, as an adapter-only checkpoint of it holds."""
    host = model.backbone.state_dict()
    return frozen_host_entry(
        model, {k: tensor_fingerprint(host[k])
                for k in model.host_keys})


def test_the_record_keeps_the_settings_that_change_the_output():
    entry = _entry(
        _adaptformer(
            adapter=dict(bottleneck=4, scale=0.5, norm='out', dropout=0.1),
            placement='sequential'))
    # Not dropout (off at evaluation), not bottleneck or layers (their
    # tensors are checked).
    assert entry['settings'] == dict(
        placement='sequential', scale=0.5, norm='out', block_types=[KNOWN])
    learnable = _entry(_adaptformer(adapter=dict(scale='learnable')))
    assert learnable['settings'] == dict(
        placement='parallel',
        scale='learnable',
        norm=None,
        block_types=[KNOWN])


#: The wiring of mmaction's VideoMAE ``Block`` the host table knows.
KNOWN = dict(type='Block', norm='norm2', ffn='mlp', branch='drop_path')
#: Another norm, ffn or branch for the same adapters (same tensors).
REWIRED = dict(
    norm=dict(KNOWN, norm='norm1'),
    ffn=dict(KNOWN, ffn='mlp.layers'),
    branch=dict(KNOWN, branch='mlp'))


@pytest.mark.parametrize('part', list(REWIRED))
def test_adapters_wired_otherwise_are_refused(part, tmp_path):
    """Trained with the known wiring of ``Block``, loaded into a model
    that declares another norm, ffn or branch for it: the tensors fit, so
    it loaded without a word, and the adapters read or fed other
    activations."""
    trained = _adaptformer(adapter=dict(bottleneck=4))
    state = dict(trained.state_dict())
    state[FROZEN_HOST_KEY] = _entry(trained)
    # The record is plain data: weights_only loads it, equal.
    path = str(tmp_path / 'adapters.pth')
    torch.save(state, path)
    state = torch.load(path, weights_only=True)
    assert state[FROZEN_HOST_KEY]['settings']['block_types'] == [KNOWN]
    model = _adaptformer(
        adapter=dict(bottleneck=4), block_types=[REWIRED[part]])
    with pytest.raises(StateDictMismatchError) as info:
        model.load_state_dict(dict(state))
    text = str(info.value)
    shown = ', '.join(f'{k}={v!r}' for k, v in REWIRED[part].items())
    assert "with other adapter settings than this model's AdaptFormer: " \
        'block_types (model.backbone.block_types): checkpoint ' \
        "[dict(type='Block', norm='norm2', ffn='mlp', branch='drop_path')], " \
        f'this model [dict({shown})].' in text, text
    # The known wiring declared as it is, by name or by qualname: loads.
    for name in ('Block', 'mmaction.models.backbones.vit_mae.Block'):
        _adaptformer(
            adapter=dict(bottleneck=4),
            block_types=[dict(KNOWN, type=name)]).load_state_dict(dict(state))
    # A record written before the wiring was kept: not compared.
    old = dict(state)
    old[FROZEN_HOST_KEY] = dict(state[FROZEN_HOST_KEY])
    old[FROZEN_HOST_KEY]['settings'] = {
        k: v
        for k, v in old[FROZEN_HOST_KEY]['settings'].items()
        if k != 'block_types'
    }
    model.load_state_dict(old)


def test_a_full_checkpoint_that_lacks_backbone_tensors_is_refused():
    """A merged checkpoint's record has no fingerprints: the backbone
    tensors it lacks would keep this model's values unchecked."""
    from mmadaptformer.models.backbones.frozen_host_entries import \
        trained_settings_entries
    model = _adaptformer(adapter=dict(bottleneck=4))
    state = dict(model.state_dict())
    state.update(trained_settings_entries(model))
    assert set(state) - set(model.state_dict()) == {FROZEN_HOST_KEY}
    _adaptformer(adapter=dict(bottleneck=4)).load_state_dict(dict(state))
    del state['blocks.1.mlp.layers.1.weight']
    with pytest.raises(
            StateDictMismatchError,
            match=r'^The full checkpoint records the adapter settings of a '
            r'merged checkpoint, but lacks 1 of the \d+ tensors of its '
            r'VisionTransformer \(blocks.1.mlp.layers.1.weight\): the file '
            'is damaged.'):
        _adaptformer(adapter=dict(bottleneck=4)).load_state_dict(
            state, strict=False)


def test_another_norm_computes_something_else(randomize_adapters):
    """Why the wiring is a trained setting: the same adapters, fed by
    the norm before attention, give other features."""
    import torch.nn.functional as F
    inputs = torch.rand(1, 3, 4, 32, 32)
    outputs = []
    for block_types in (None, [REWIRED['norm']]):
        model = _adaptformer(
            adapter=dict(bottleneck=4), block_types=block_types)
        randomize_adapters(model)
        model.eval()
        with torch.no_grad():
            outputs.append(model(inputs))
    assert F.l1_loss(outputs[0], outputs[1]) > 1e-3


def test_learnable_scale_is_named_before_its_tensors():
    trained = _adaptformer(adapter=dict(bottleneck=4, scale='learnable'))
    state = dict(trained.state_dict())
    state[FROZEN_HOST_KEY] = _entry(trained)
    model = _adaptformer(adapter=dict(bottleneck=4))
    with pytest.raises(StateDictMismatchError) as info:
        model.load_state_dict(state)
    assert "scale (model.backbone.adapter.scale): checkpoint 'learnable', " \
        'this model 0.1.' in str(info.value)


def test_a_record_of_settings_that_is_not_a_dict_is_named():
    model = _adaptformer(adapter=dict(bottleneck=4))
    state = dict(model.state_dict())
    state[FROZEN_HOST_KEY] = dict(_entry(model), settings=['parallel'])
    with pytest.raises(
            StateDictMismatchError,
            match="keeps 'settings' as a "
            'list, not a dict of the adapter settings'):
        _adaptformer(adapter=dict(bottleneck=4)).load_state_dict(state)


@pytest.fixture
def vpt_configs(tmp_path):
    """Image VPT configs on a one-block ViT (VPT-deep and VPT-shallow
    prompts then have the same shape), on one stock backbone file."""
    from mmengine.config import Config
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    host = dict(
        type='VisionTransformer',
        arch=dict(
            embed_dims=64, num_layers=1, num_heads=2,
            feedforward_channels=128),
        img_size=32,
        patch_size=16,
        out_type='cls_token')
    stock = MODELS.build(host)
    stock.init_weights()
    path = str(tmp_path / 'stock.pth')
    torch.save({'state_dict': stock.state_dict()}, path)
    host['init_cfg'] = dict(type='Pretrained', checkpoint=path)

    def config(deep):
        return Config.fromfile(
            write_config(
                tmp_path / f'deep_{deep}.py', TINY_IMAGE_CONFIG,
                'model = dict(backbone=dict(_delete_=True, type=\'VPT\', '
                f'num_prompts=2, deep={deep}, backbone={host!r}))\n'
                "custom_hooks = [dict(type='AdapterHook', "
                "mode='linear_probe', extra_trainable=[r'prompt_embeddings'], "
                'adapter_only_checkpoint=True)]\n'))

    return config


def test_vpt_deep_prompts_are_refused_by_a_shallow_model(
        vpt_configs, tmp_path, clean_loggers):
    from mmpretrain import get_model

    from mmadaptformer.engine import (build_model_and_plan,
                                      make_adapter_checkpoint)
    from mmadaptformer.utils.fingerprint import state_fingerprints
    model, plan = build_model_and_plan(vpt_configs(True))
    frozen = set(plan.frozen_keys)
    fingerprints = state_fingerprints(
        (k, v) for k, v in model.state_dict().items() if k in frozen)
    path = str(tmp_path / 'prompts.pth')
    torch.save(
        make_adapter_checkpoint(
            dict(state_dict=model.state_dict(), meta={}),
            plan,
            fingerprints,
            model=model), path)
    with pytest.raises(StateDictMismatchError) as info:
        get_model(vpt_configs(False), pretrained=path)
    text = str(info.value)
    assert text.startswith(
        f'The prompt-only checkpoint {path} was trained with other prompt '
        "settings than this model's VPT: deep (model.backbone.deep): "
        'checkpoint True, this model False.'), text
    loaded = get_model(vpt_configs(True), pretrained=path)
    torch.testing.assert_close(loaded.backbone.prompt_embeddings,
                               model.backbone.prompt_embeddings)


@pytest.mark.parametrize('key', ['bottleneck', 'scale'])
def test_an_adapter_setting_given_to_adaptformer_says_where_it_belongs(key):
    init_default_scope('mmaction')
    value = [4, 8] if key == 'bottleneck' else 1.0
    with pytest.raises(ConfigError) as info:
        MODELS.build(
            dict(
                type='AdaptFormer', backbone=dict(VIDEO_HOST), **{key: value}))
    text = str(info.value)
    assert f'AdaptFormer does not take the config key model.backbone.{key}.' \
        in text, text
    assert f"{key} is a setting of AdaptFormer's adapter: it belongs under " \
        f'model.backbone.adapter (set model.backbone.adapter.{key}).' in text
    assert 'It takes backbone, adapter, layers, placement, block_types, ' \
        'fused_attention, contiguous_tokens, with_cp, init_cfg; ' \
        'model.backbone.adapter takes bottleneck, scale, dropout, norm, ' \
        'init.' in text, text
    assert '\n' not in text


def test_a_backbone_setting_given_to_vpt_is_named():
    with pytest.raises(ConfigError) as info:
        VPT(backbone=dict(VIDEO_HOST), num_prompts=2, depth=3)
    text = str(info.value)
    assert text.startswith(
        'VPT does not take the config key model.backbone.depth. It takes '
        'backbone, num_prompts, deep, prompt_dropout, init_cfg. A setting of '
        'the stock backbone (depth, embed_dims, ...) belongs under '
        'model.backbone.backbone.'), text


def test_wrappers_still_copy_and_pickle():
    """Built without keyword arguments by copy and pickle, which call
    ``__new__`` alone."""
    import copy
    import pickle
    model = _adaptformer(adapter=dict(bottleneck=4))
    assert copy.deepcopy(model).adapted_blocks == model.adapted_blocks
    assert pickle.loads(pickle.dumps(model)).adapted_blocks == \
        model.adapted_blocks


#: A tiny mmpretrain (image) ViT: another host than ``VIDEO_HOST``.
IMAGE_HOST = dict(
    type='mmpretrain.VisionTransformer',
    arch=dict(
        embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128),
    img_size=32,
    patch_size=16)


@pytest.mark.parametrize('recorded', [True, False])
def test_adapters_of_another_host_name_the_host_not_the_settings(recorded):
    """Image adapters (mmpretrain ViT) loaded into a video AdaptFormer
    (mmaction ViT): the cause is the host, not block_types (which differ
    too), whether the record names its host or, written before it did,
    only fingerprints tensors this host lacks."""
    torch.manual_seed(0)
    image = AdaptFormer(backbone=dict(IMAGE_HOST), adapter=dict(bottleneck=4))
    entry = _entry(image)
    assert entry['host'] == \
        'mmpretrain.models.backbones.vision_transformer.VisionTransformer'
    if not recorded:
        del entry['host']
    state = {
        k: v
        for k, v in image.state_dict().items() if k not in image.host_keys
    }
    state[FROZEN_HOST_KEY] = entry
    with pytest.raises(StateDictMismatchError) as info:
        _adaptformer(adapter=dict(bottleneck=4)).load_state_dict(
            state, strict=False)
    text = str(info.value)
    assert 'is of another model: its adapters were trained on ' in text, text
    if recorded:
        assert 'trained on mmpretrain VisionTransformer (mmpretrain.models.' \
            'backbones.vision_transformer.VisionTransformer)' in text, text
    else:
        assert 'trained on another host backbone (its record names frozen ' \
            'tensors such as cls_token, pos_embed that VisionTransformer ' \
            'does not have)' in text, text
    assert "this model's AdaptFormer wraps mmaction VisionTransformer " \
        '(mmaction.models.backbones.vit_mae.VisionTransformer)' in text, text
    assert 'Use the config it was trained with' in text
    assert 'block_types' not in text
