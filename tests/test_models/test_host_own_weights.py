# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A host that loads the weights it names itself (Swin3D's ``pretrained``,
with or without 2D inflation) under AdaptFormer: they count as loaded and
are named, so AdapterHook does not refuse the backbone as random and an
adapter-only checkpoint records them. A file whose keys do not fit loaded
nothing, with a warning only, and was reported as loaded: now refused. A 2D
file is read and inflated once, not again by the wrapper's own
``init_weights()`` with the adapters attached."""
import pytest
import torch
from mmengine.registry import MODELS, init_default_scope
from plain_hosts import swin3d_as_2d

from mmadaptformer.models import AdaptFormer, FrozenBackboneMismatchError
from mmadaptformer.models.backbones.frozen_host_entries import \
    frozen_host_entry
from mmadaptformer.models.backbones.frozen_host_record import \
    verify_frozen_host
from mmadaptformer.utils.fingerprint import state_fingerprints
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

SWIN3D = dict(
    type='SwinTransformer3D',
    arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
    window_size=(2, 4, 4),
    drop_path_rate=0.,
    pretrained2d=False)


def test_weights_a_host_loads_itself_count_as_loaded(tmp_path):
    init_default_scope('mmaction')
    torch.manual_seed(0)
    stock = MODELS.build(SWIN3D)
    stock.init_weights()
    path = str(tmp_path / 'swin3d.pth')
    torch.save({'state_dict': stock.state_dict()}, path)

    torch.manual_seed(1)
    model = AdaptFormer(backbone=dict(SWIN3D, pretrained=path))
    model.init_weights()
    # AdapterHook refuses a wrapper whose host_source is None as random.
    assert model.host_source == path
    assert model.pretrained_key == 'model.backbone.backbone.pretrained'
    state = model.backbone.state_dict()
    for key, value in stock.state_dict().items():
        assert torch.equal(state[key], value), key
    # The Pretrained entry Swin3D set itself is not left behind.
    assert model.backbone.init_cfg is None or 'checkpoint' not in str(
        model.backbone.init_cfg)

    # Adapters trained on it record it; on a random backbone the error
    # names it and the config key that sets it.
    entry = frozen_host_entry(
        model,
        state_fingerprints((k, v)
                           for k, v in model.backbone.state_dict().items()
                           if k in set(model.host_keys)))
    assert entry['pretrained'] == path
    random = AdaptFormer(backbone=SWIN3D)
    random.init_weights()
    assert random.host_source is None
    with pytest.raises(FrozenBackboneMismatchError) as info:
        verify_frozen_host(random, entry)
    assert f'The adapters were trained on {path}.' in str(info.value)


WINDOW = (2, 4, 4)


def _swin3d(**own):
    return dict(
        type='AdaptFormer',
        adapter=dict(bottleneck=4),
        backbone=dict(
            type='SwinTransformer3D',
            arch=dict(embed_dims=16, depths=[1, 1], num_heads=[1, 2]),
            window_size=WINDOW,
            out_indices=(1, ),
            **own))


def _stock_state(seed=0):
    init_default_scope('mmaction')
    torch.manual_seed(seed)
    cfg = _swin3d(pretrained=None, pretrained2d=False)['backbone']
    return MODELS.build(cfg).state_dict()


def test_own_weights_that_load_nothing_are_refused(tmp_path, clean_loggers):
    stock = _stock_state()
    recognizer = str(tmp_path / 'recognizer.pth')
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in stock.items()}}, recognizer)
    init_default_scope('mmaction')
    model = MODELS.build(_swin3d(pretrained=recognizer, pretrained2d=False))
    with pytest.raises(
            StateDictMismatchError,
            match=rf'^SwinTransformer3D names its own weights {recognizer} '
            r'\(model\.backbone\.backbone\.pretrained\), but none of its '
            r'\d+ parameters \(patch_embed\.proj\.weight, \.\.\.\) is in it '
            'under that name: the frozen backbone would stay random.*'
            'as --pretrained'):
        model.init_weights()
    assert model.host_source is None

    # The backbone's own checkpoint loads, and counts as loaded.
    own = str(tmp_path / 'backbone.pth')
    torch.save({'state_dict': stock}, own)
    model = MODELS.build(_swin3d(pretrained=own, pretrained2d=False))
    model.init_weights()
    assert model.host_source == own
    host = model.backbone.state_dict()
    assert all(torch.equal(host[k], v) for k, v in stock.items())


def test_a_2d_file_is_inflated_once(tmp_path, monkeypatch, clean_loggers):
    import mmaction.models.backbones.swin as swin
    file2d = str(tmp_path / 'swin2d.pth')
    torch.save({'model': swin3d_as_2d(_stock_state(seed=1), WINDOW[1:])},
               file2d)
    reads = []
    real = swin._load_checkpoint

    def counted(path, *args, **kwargs):
        reads.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(swin, '_load_checkpoint', counted)
    init_default_scope('mmaction')
    own = dict(pretrained=file2d, pretrained2d=True)
    torch.manual_seed(7)
    stock = MODELS.build(_swin3d(**own)['backbone'])
    stock.init_weights()
    assert reads == [file2d]
    torch.manual_seed(7)
    model = MODELS.build(_swin3d(**own))
    model.init_weights()
    assert reads == [file2d] * 2, reads  # once for each model
    assert model.host_source == file2d
    host = model.backbone.state_dict()
    for key, value in stock.state_dict().items():
        assert torch.equal(host[key], value), key


def test_a_2d_vit_file_as_init_cfg_of_timesformer_loads_converted(
        tmp_path, clean_loggers):
    """TimeSformer converts a 2D ViT file through its own ``pretrained``;
    given as the wrapper's init_cfg (--pretrained) the file was refused
    with advice to set that key instead. Now the wrapper gives it to the
    host as its own ``pretrained``, which converts it (see
    test_timesformer_2d_init_cfg.py)."""
    init_default_scope('mmaction')
    tiny = dict(
        type='TimeSformer',
        num_frames=4,
        img_size=32,
        patch_size=16,
        embed_dims=32,
        num_heads=2,
        num_transformer_layers=2)
    vit2d = {
        k.replace('attentions.0.norm', 'norms.0'): v
        for k, v in MODELS.build(tiny).state_dict().items()
        if 'attentions.1' not in k and 'temporal_fc' not in k
        and k != 'time_embed'
    }
    path = str(tmp_path / 'vit2d.pth')
    torch.save({'state_dict': vit2d}, path)
    model = AdaptFormer(
        backbone=dict(tiny, init_cfg=dict(type='Pretrained', checkpoint=path)))
    model.init_weights()
    assert model.host_source == path
    host = model.backbone.state_dict()
    for key, value in vit2d.items():
        own = key.replace('norms.0', 'attentions.0.norm')
        assert torch.equal(host[own], value), key
        if 'attentions.0' in own:  # copied into the other attention
            assert torch.equal(
                host[own.replace('attentions.0', 'attentions.1')], value), key


def test_a_built_host_and_its_config_get_the_same_own_loading_advice(tmp_path):
    """The refusal of a built host (a wrapper's init_cfg) and of its config
    (``--pretrained``) tell how to give the host its own ``pretrained`` in
    one text: the config's names the file, the host's says ``FILE``."""
    from mmengine.config import Config

    from mmadaptformer.models.backbones.own_loading_hint import (
        own_loading_hint, own_loading_hint_of_cfg)
    from mmadaptformer.utils.pretrained_backbone import (
        PretrainedFileError, set_pretrained_backbone)
    init_default_scope('mmaction')
    swin = dict(SWIN3D, pretrained=None, pretrained2d=True)
    path = str(tmp_path / 'swin2d.pth')
    torch.save({'model': {'patch_embed.proj.weight': torch.zeros(1)}}, path)
    cfg = Config(
        dict(model=dict(backbone=dict(type='AdaptFormer', backbone=swin))))
    with pytest.raises(PretrainedFileError) as refused:
        set_pretrained_backbone(
            cfg, path, own_loading_hint=own_loading_hint_of_cfg)
    hint = own_loading_hint(MODELS.build(swin), 'model.backbone.backbone')
    assert hint.startswith('SwinTransformer3D reads checkpoints itself')
    assert 'model.backbone.backbone.pretrained2d=True' in hint
    assert str(refused.value).endswith(' ' +
                                       hint.replace('=FILE', f'={path!r}'))


MVIT = dict(
    type='MViT',
    arch=dict(embed_dims=16, num_layers=3, num_heads=1, downscale_indices=[1]),
    spatial_size=32,
    temporal_size=4)
VIDEOMAE_VIT = dict(
    type='VisionTransformer',
    img_size=32,
    patch_size=16,
    embed_dims=32,
    depth=3,
    num_heads=2,
    num_frames=4)


@pytest.mark.parametrize(
    'host', [MVIT, VIDEOMAE_VIT], ids=['mvit', 'videomae_vit'])
def test_a_host_whose_pretrained_it_does_not_read_gets_no_advice(
        host, tmp_path):
    """MViT's ``pretrained`` only becomes its ``init_cfg`` (VideoMAE's ViT
    ignores its own): the config's refusal told both to set
    ``pretrained=FILE`` instead, which sends the file back to the same
    refusal. As the built host's (``own_loading_hint``), it says nothing."""
    from mmengine.config import Config

    from mmadaptformer.models.backbones.own_loading_hint import (
        own_loading_hint, own_loading_hint_of_cfg)
    from mmadaptformer.utils.pretrained_backbone import (
        PretrainedFileError, set_pretrained_backbone)
    init_default_scope('mmaction')
    host = dict(host, pretrained='http://127.0.0.1:9/stock.pth')
    path = str(tmp_path / 'official.pth')
    torch.save({'model': {'patch_embed.proj.weight': torch.zeros(1)}}, path)
    cfg = Config(
        dict(model=dict(backbone=dict(type='AdaptFormer', backbone=host))))
    with pytest.raises(PretrainedFileError) as refused:
        set_pretrained_backbone(
            cfg, path, own_loading_hint=own_loading_hint_of_cfg)
    message = str(refused.value)
    assert message.startswith(
        f"{path} cannot be loaded as a backbone's pretrained weights: its "
        "weights are nested under 'model' (1 tensors, e.g. "
        "'patch_embed.proj.weight'), as the official training code")
    # The advice is the file's conversion, never the host's own
    # ``pretrained``, which would send the file back to this refusal.
    assert 'pretrained=' not in message
    if host['type'] == 'MViT':
        assert message.endswith(
            "Give --pretrained weights in MViT's own key layout (e.g. the "
            "toolbox's model-zoo checkpoint); if the nested weights already "
            "are, save them as {'state_dict': WEIGHTS}.")
    else:
        assert message.endswith(
            f'python tools/model_converters/convert_official.py {path} '
            'CONVERTED.pth --type videomae for a video backbone, --type mae '
            'for an image one, and give CONVERTED.pth as --pretrained.')
    assert own_loading_hint(
        MODELS.build(dict(host, pretrained=None)),
        'model.backbone.backbone') == ''


def test_the_config_side_advice_finds_its_host_by_name_or_class():
    from mmaction.models.backbones.swin import SwinTransformer3D
    from mmaction.models.backbones.timesformer import TimeSformer

    from mmadaptformer.models.backbones.own_loading_hint import \
        own_loading_hint_of_cfg
    key = 'model.backbone'
    for swin in ('SwinTransformer3D', 'mmaction.SwinTransformer3D',
                 SwinTransformer3D):
        hint = own_loading_hint_of_cfg(dict(type=swin), key, 'a.pth')
        assert hint.startswith('SwinTransformer3D reads checkpoints itself')
        assert hint.endswith("set model.backbone.pretrained='a.pth' and "
                             'model.backbone.pretrained2d=True in the config '
                             'instead of giving --pretrained.')
    # Converts, does not inflate.
    hint = own_loading_hint_of_cfg(dict(type=TimeSformer), key)
    assert 'pretrained=FILE in the config' in hint
    assert 'pretrained2d' not in hint
    for other in ('MViT', 'mmaction.MViT', 'VisionTransformer',
                  'mmpretrain.VisionTransformer', 'NotAHost', None):
        assert own_loading_hint_of_cfg(dict(type=other), key) == '', other
