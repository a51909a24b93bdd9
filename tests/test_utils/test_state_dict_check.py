# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Checkpoints of another architecture fail with the keys and shapes,
through load_from, tools/test.py and the AdaptFormer wrapper's Pretrained
init_cfg; legit partial loads still work."""
import logging
import re

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, image_data_cfg, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _save_model(path, base, seed=0, **overrides):
    """Save the state dict of ``base``'s model with ``overrides``."""
    cfg = Config.fromfile(base)
    cfg.merge_from_dict(overrides)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, str(path))
    return model.state_dict()


def test_load_from_other_depth_and_classes(tmp_path, tiny_image_data,
                                           clean_loggers):
    ckpt = tmp_path / 'deeper_5classes.pth'
    saved = _save_model(
        ckpt, TINY_IMAGE_CONFIG, **{
            'model.backbone.arch.num_layers': 3,
            'model.head.num_classes': 5
        })
    cfg = Config.fromfile(
        write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                     image_data_cfg(tiny_image_data)))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = str(ckpt)
    cfg.default_hooks.checkpoint_check = dict(type='CheckpointCheckHook')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(StateDictMismatchError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith(f'{ckpt} does not fit')
    assert 'head.fc.weight: (5, 64) vs (2, 64)' in message
    assert 'head.fc.bias: (5,) vs (2,)' in message
    assert re.search(r'\d+ unexpected keys .*backbone\.layers\.2\.', message)
    assert 'missing keys' not in message
    # Nothing was loaded, not even the tensors that fit.
    key = 'backbone.patch_embed.projection.weight'
    assert not torch.equal(runner.model.state_dict()[key], saved[key])


def test_tools_test_other_embed_dims(tmp_path, tiny_video_data):
    """tools/test.py with the tiny AdaptFormer config (which has the hook)
    and a full checkpoint of a 96-wide stock ViT."""
    ckpt = tmp_path / 'wide.pth'
    _save_model(
        ckpt, TINY_VIDEO_CONFIG, **{
            'model.backbone.embed_dims': 96,
            'model.cls_head.in_channels': 96
        })
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    proc = run_tool(['test.py', cfg, ckpt, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    out = proc.stdout
    assert proc.returncode != 0
    assert f'StateDictMismatchError: {ckpt} does not fit' in out
    assert 'backbone.patch_embed.projection.weight: (96, 3, 2, 16, 16) vs ' \
           '(64, 3, 2, 16, 16)' in out
    assert re.search(r'(\d+) keys with other shapes', out)
    # More than 20 mismatches: the list is cut, with a count.
    assert re.search(r'\n  \.\.\. and \d+ more', out), out[-3000:]
    assert 'Epoch(test)' not in out


def test_tools_test_names_weights_nested_under_model(tmp_path,
                                                     tiny_video_data):
    """An official release's layout (``{'model': state_dict}``, without the
    ``args`` that identify it) was diagnosed as "probably saved from another
    architecture ... 1 unexpected keys: model"."""
    ckpt = tmp_path / 'official.pth'
    state = _save_model(tmp_path / 'stock.pth', TINY_VIDEO_CONFIG)
    torch.save({'model': state}, str(ckpt))
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    proc = run_tool(['test.py', cfg, ckpt, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode != 0
    # The tensors are a stock recognizer's, in MMAction2's own names: the
    # cause says so, not that official training code or timm saved them.
    assert f'{ckpt} does not fit the model: its weights are nested under ' \
        f"'model' ({len(state)} tensors, e.g. {next(iter(state))!r}), " \
        "named in MMAction2's and MMPretrain's own layout " \
        "('backbone.patch_embed.projection.weight'), not as official " \
        'training code or timm name them (a checkpoint of an MMAction2, ' \
        "MMPretrain or mmadaptformer model, saved under 'model'), where " \
        "MMEngine does not look (it reads 'state_dict' or the top " \
        'level): its tensors already ' \
        "carry the model's own names, so take them out as they are, " \
        'converting nothing: tools/model_converters/convert_official.py ' \
        'SRC DST --key model --unwrap-only.' in proc.stdout
    assert 'another architecture' not in proc.stdout


def _adaptformer_cfg(checkpoint):
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    backbone = cfg.model.backbone
    backbone.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=str(checkpoint), prefix='backbone.')
    return backbone


def test_adaptformer_pretrained_other_depth(tmp_path):
    ckpt = tmp_path / 'shallow.pth'
    _save_model(ckpt, TINY_VIDEO_CONFIG, **{'model.backbone.depth': 1})
    init_default_scope('mmaction')
    # Checked (and loaded) lazily, when the weights are initialised.
    with pytest.raises(StateDictMismatchError) as info:
        MODELS.build(_adaptformer_cfg(ckpt)).init_weights()
    message = str(info.value)
    assert message.startswith(
        f'Pretrained checkpoint {ckpt} of model.backbone.backbone.init_cfg '
        "(prefix='backbone.') does not fit")
    assert re.search(r'missing keys .*: .*blocks\.1\.attn\.', message)
    # A block's norms are missing like its other weights: only the final
    # norms may start as the identity.
    assert 'blocks.1.norm1.weight' in message
    assert "it lacks some of the model's tensors" in message


def test_adaptformer_pretrained_stock_checkpoint_loads(tmp_path, log_records):
    """Legit partial load: a stock backbone checkpoint (prefix='backbone.')
    into AdaptFormer, whose adapters it lacks, and the head left out. The
    adapters' absence is expected of every host checkpoint (and test/infer
    load them next): it is said at INFO level, not warned about."""
    ckpt = tmp_path / 'stock.pth'
    state = save_stock_video_checkpoint(str(ckpt))
    init_default_scope('mmaction')
    model = MODELS.build(_adaptformer_cfg(ckpt))
    model.init_weights()  # loads the backbone lazily
    said = [(r.levelno, r.getMessage()) for r in log_records]
    assert (logging.INFO,
            f'Pretrained checkpoint {ckpt} of model.backbone.backbone.'
            f"init_cfg (prefix='backbone.') does not hold the 8 adapter or "
            f'prompt tensors this package adds; they keep their '
            f'initialisation unless a checkpoint loaded after it holds '
            f'them.') in said
    assert not [m for level, m in said if level >= logging.WARNING]
    loaded = model.state_dict()
    backbone = {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }
    assert all(torch.equal(loaded[k], v) for k, v in backbone.items())
    assert any('adaptmlp' in k for k in loaded)


def test_a_missing_prefix_is_named_not_another_architecture(tmp_path):
    """A whole recognizer's checkpoint loaded without prefix='backbone.'
    (MMAction2's usual init_cfg) has every backbone key under 'backbone.':
    the error says which prefix to give, not 'another architecture'."""
    from mmadaptformer.utils.prefix_shift import prefix_shift
    ckpt = tmp_path / 'stock.pth'
    save_stock_video_checkpoint(str(ckpt))
    init_default_scope('mmaction')
    backbone = _adaptformer_cfg(ckpt)
    del backbone.backbone.init_cfg['prefix']
    with pytest.raises(StateDictMismatchError) as info:
        MODELS.build(backbone).init_weights()
    message = str(info.value)
    assert "carry a prefix 'backbone.' that the model's keys lack" in message
    assert "prefix='backbone.'" in message
    assert 'another architecture' not in message
    # Without the prefix a checkpoint of another depth would not fit either:
    # no prefix is suggested then.
    shallow = tmp_path / 'shallow.pth'
    _save_model(shallow, TINY_VIDEO_CONFIG, **{'model.backbone.depth': 1})
    backbone = _adaptformer_cfg(shallow)
    del backbone.backbone.init_cfg['prefix']
    with pytest.raises(StateDictMismatchError) as info:
        MODELS.build(backbone).init_weights()
    assert 'another architecture' in str(info.value)
    assert 'carry a prefix' not in str(info.value)
    # The other way round, and keys that differ otherwise.
    assert prefix_shift(['backbone.a.w', 'backbone.b.w', 'head.w'],
                        ['a.w', 'b.w']) == ('lacking', 'backbone.')
    assert prefix_shift(['a.w', 'b.w'],
                        ['backbone.a.w', 'backbone.c.w']) is None
    assert prefix_shift([], ['backbone.a.w']) is None


def test_a_pos_embed_of_another_input_size_is_named(tmp_path):
    """A checkpoint made for 8 frames (or converted with the converter's
    default 16) loaded into a 4-frame model differs only in pos_embed: the
    error names the input size and frames, not another architecture."""
    from mmadaptformer.utils.state_dict_check import check_state_dict
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    model = MODELS.build(cfg.model.backbone)
    cfg.model.backbone.num_frames = 8
    state = MODELS.build(cfg.model.backbone).state_dict()
    with pytest.raises(StateDictMismatchError) as info:
        check_state_dict(model, state, source='frames8.pth')
    message = str(info.value)
    assert 'only the position embedding differs in shape' in message
    assert '--num-frames' in message and 'another architecture' not in message


def test_a_neck_is_fresh_as_the_head_is():
    """A classifier checkpoint without a neck (mmpretrain's LinearNeck
    between the ViT and its head) loads into a model with one, the neck at
    its initialisation, as AdapterHook trains it with the head; a missing
    block norm is still refused."""
    from mmadaptformer.utils.model_keys import fresh_keys
    from mmadaptformer.utils.state_dict_check import check_state_dict
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(TINY_IMAGE_CONFIG).model
    cfg.neck = dict(
        type='LinearNeck',
        in_channels=cfg.head.in_channels,
        out_channels=8,
        gap_dim=0)
    cfg.head.in_channels = 8
    model = MODELS.build(cfg)
    neck = {k for k in model.state_dict() if k.startswith('neck.')}
    assert neck and neck <= fresh_keys(model)
    state = {
        k: v
        for k, v in model.state_dict().items() if not k.startswith('neck.')
    }
    check_state_dict(model, state, 'ckpt.pth')
    del state[next(k for k in state if '.ln1.' in k)]
    with pytest.raises(StateDictMismatchError):
        check_state_dict(model, state, 'ckpt.pth')
