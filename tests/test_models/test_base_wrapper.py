# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The frozen-host wrapper's guarantees, on every loading path.

Real tiny models trained by a real Runner on a backbone loaded from a
checkpoint file the test writes (AdapterHook with adapter-only
checkpoints), then loaded through mmaction2's and mmpretrain's own APIs."""
import logging
import os.path as osp
import pickle
import re
from contextlib import contextmanager

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, image_data_cfg, pretrained_cfg,
                     run_tool, save_stock_video_checkpoint, video_data_cfg,
                     write_config)
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner, load_checkpoint

from mmadaptformer.models import (FROZEN_HOST_KEY, VPT, AdaptFormer,
                                  FrozenBackboneMismatchError, adapter_modules)
from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.checkpoint_source import tag_checkpoint_source
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

KEY = 'model.backbone.backbone.init_cfg.checkpoint'
DIFFER = re.compile(r'(\d+) of (\d+) frozen tensors differ')
IMAGE_ADAPTFORMER = """
model = dict(backbone=dict(
    _delete_=True, type='AdaptFormer',
    backbone=dict(type='VisionTransformer', arch=dict(
        embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128),
        img_size=32, patch_size=16, out_type='cls_token',
        init_cfg=dict(type='Pretrained', checkpoint={path!r},
                      prefix='backbone.')),
    adapter=dict(bottleneck=8)))
custom_hooks = [dict(type='AdapterHook', adapter_only_checkpoint=True)]
train_cfg = dict(max_epochs=1)
"""


@contextmanager
def _captured_log(name):
    """Messages logged to a new current MMLogger while in the block."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_instance(name)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def _text(records):
    return '\n'.join(r.getMessage() for r in records)


def _clear_loggers():
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()


def _train(cfg_path, work_dir):
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model.eval()
    model.cfg = cfg
    return model


def _variant(root, name, base, body):
    return write_config(osp.join(root, f'{name}.py'), base, body)


def _scores(sample):
    return sample.pred_score if hasattr(sample, 'pred_score') else \
        sample.pred_scores.item


@pytest.fixture(scope='module')
def video(tmp_path_factory, tiny_video_data):
    """A tiny AdaptFormer trained for one epoch on ``right.pth``."""
    from mmaction.apis import inference_recognizer
    root = str(tmp_path_factory.mktemp('guard_video'))
    right, other = osp.join(root, 'right.pth'), osp.join(root, 'other.pth')
    save_stock_video_checkpoint(right, seed=0)
    save_stock_video_checkpoint(other, seed=1)
    cfg = _variant(
        root, 'right', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + pretrained_cfg(right) +
        'train_cfg = dict(max_epochs=1)\n')
    model = _train(cfg, osp.join(root, 'work'))
    with open(tiny_video_data['val']) as f:
        name = f.readline().split()[0]
    clip = osp.join(tiny_video_data['videos'], name)
    scores = inference_recognizer(model, clip).pred_score
    run = dict(
        root=root,
        right=right,
        other=other,
        cfg=cfg,
        ckpt=osp.join(root, 'work', 'epoch_1.pth'),
        clip=clip,
        scores=scores,
        state={k: v.clone()
               for k, v in model.state_dict().items()},
        other_cfg=_variant(root, 'other', cfg, pretrained_cfg(other)),
        random_cfg=_variant(
            root, 'random', cfg,
            'model = dict(backbone=dict(backbone=dict(init_cfg=None)))\n'),
        missing_cfg=_variant(root, 'missing', cfg,
                             pretrained_cfg(osp.join(root, 'gone.pth'))))
    _clear_loggers()
    return run


def _frozen_count(ckpt):
    entry = safe_torch_load(ckpt)['state_dict']['backbone.' + FROZEN_HOST_KEY]
    return len(entry['fingerprints'])


def test_init_recognizer_right_backbone_gives_the_runners_scores(video):
    from mmaction.apis import inference_recognizer, init_recognizer
    with _captured_log('guard_init_recognizer') as records:
        model = init_recognizer(video['cfg'], video['ckpt'], device='cpu')
    _clear_loggers()
    # The backbone was loaded lazily, in one line, without MMEngine's
    # per-parameter init report.
    assert f'loaded the frozen backbone VisionTransformer from ' \
           f'{video["right"]}' in _text(records)
    assert ' - torch.Size(' not in _text(records)
    # The adapters trained, so the scores depend on them.
    assert all(a.up_proj.weight.abs().sum() > 0
               for a in adapter_modules(model).values())
    state = model.state_dict()
    for key, value in video['state'].items():
        assert torch.equal(state[key], value), key
    scores = inference_recognizer(model, video['clip']).pred_score
    torch.testing.assert_close(scores, video['scores'], rtol=0, atol=1e-6)


def test_frozen_tensors_left_out_on_purpose_are_not_missing(video, capsys):
    """An adapter-only checkpoint leaves the frozen tensors out; once its
    record matched them, no loading API calls them missing."""
    from mmaction.apis import init_recognizer
    capsys.readouterr()
    model = init_recognizer(video['cfg'], video['ckpt'], device='cpu')
    _clear_loggers()
    # MMEngine's load_checkpoint prints what it could not load.
    assert 'missing keys in source state_dict' not in capsys.readouterr().out
    state = safe_torch_load(video['ckpt'])['state_dict']
    model.load_state_dict(state, strict=True)
    # A trainable tensor left out is refused, by its saved name, even by a
    # non-strict load (see test_a_state_dict_missing_some_adapters...).
    adapter = next(k for k in state if '.adaptmlp.' in k)
    with pytest.raises(
            StateDictMismatchError,
            match=re.escape(f'Missing (1 of 8): {adapter}.')):
        model.load_state_dict({k: v
                               for k, v in state.items() if k != adapter},
                              strict=False)
    # Without the record nothing vouches for the frozen tensors: refused
    # (they were reported missing, and loaded).
    record = 'backbone.' + FROZEN_HOST_KEY
    with pytest.raises(
            StateDictMismatchError,
            match='it looks like an adapter-only checkpoint whose record '
            'was lost'):
        model.load_state_dict({k: v
                               for k, v in state.items() if k != record},
                              strict=False)


def test_init_recognizer_refuses_another_backbone(video):
    from mmaction.apis import init_recognizer
    with pytest.raises(FrozenBackboneMismatchError) as info:
        init_recognizer(video['other_cfg'], video['ckpt'], device='cpu')
    message = str(info.value)
    assert message.startswith(
        f'The adapter-only checkpoint {video["ckpt"]} was trained on a '
        'different frozen backbone')
    total = _frozen_count(video['ckpt'])
    # Every backbone tensor but the adapters and fc_norm (which trained).
    frozen = [
        k for k in video['state'] if k.startswith('backbone.')
        and 'adaptmlp' not in k and 'fc_norm' not in k
    ]
    assert total == len(frozen)
    # Those that differ between the two files (norms start as ones/zeros).
    right, other = (
        safe_torch_load(video[name])['state_dict']
        for name in ('right', 'other'))
    differ = sum(not torch.equal(right[k], other[k]) for k in frozen)
    assert 0 < differ < total
    assert DIFFER.search(message).groups() == (str(differ), str(total))
    assert f'config key {KEY}, now {video["other"]}' in message
    assert f'trained on {video["right"]}' in message


def test_init_recognizer_refuses_a_random_backbone(video):
    from mmaction.apis import init_recognizer
    with pytest.raises(FrozenBackboneMismatchError) as info:
        init_recognizer(video['random_cfg'], video['ckpt'], device='cpu')
    message = str(info.value)
    # The cause (the unset key) comes first, before the tensor count.
    assert message.startswith(
        f'The adapter-only checkpoint {video["ckpt"]} needs the frozen '
        f'backbone its adapters were trained on, but the config key {KEY}, '
        'which names it, is not set (random weights)')
    assert DIFFER.search(message)
    assert f'trained on {video["right"]}' in message


def test_load_checkpoint_refuses_another_backbone_and_names_the_file(video):
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(video['other_cfg']).model)
    with pytest.raises(FrozenBackboneMismatchError, match=DIFFER) as info:
        load_checkpoint(model, video['ckpt'], map_location='cpu')
    # The checkpoint loader tags the record with the file it read, so the
    # model's own load path names it.
    assert f'checkpoint {video["ckpt"]} was trained on' in str(info.value)
    checkpoint = safe_torch_load(video['ckpt'])
    assert checkpoint['state_dict']['backbone.frozen_host_fingerprints'][
        'source'] == str(video['ckpt'])
    assert tag_checkpoint_source(checkpoint, video['ckpt']) == 1
    model = MODELS.build(Config.fromfile(video['other_cfg']).model)
    with pytest.raises(FrozenBackboneMismatchError) as info:
        model.load_state_dict(checkpoint['state_dict'], strict=False)
    assert str(info.value).startswith(
        f'The adapter-only checkpoint {video["ckpt"]} was trained on')

    # The right backbone: loaded lazily, then the adapters on top.
    model = MODELS.build(Config.fromfile(video['cfg']).model)
    load_checkpoint(model, video['ckpt'], map_location='cpu')
    state = model.state_dict()
    for key, value in video['state'].items():
        assert torch.equal(state[key], value), key


def test_mmaction2_inferencer_refuses_and_explains_its_scores(video):
    """MMAction2Inferencer runs one centre-cropped clip where the test
    pipeline runs 2 clips x 3 crops: that is the whole discrepancy."""
    from mmaction.apis import inference_recognizer, init_recognizer
    from mmaction.apis.inferencers import MMAction2Inferencer
    with pytest.raises(FrozenBackboneMismatchError, match=DIFFER):
        MMAction2Inferencer(
            rec=video['other_cfg'], rec_weights=video['ckpt'], device='cpu')

    inferencer = MMAction2Inferencer(
        rec=video['cfg'], rec_weights=video['ckpt'], device='cpu')
    result = inferencer(video['clip'])
    scores = torch.tensor(result['predictions'][0]['rec_scores'][0])
    one_view = Config.fromfile(video['cfg'])
    for step in one_view.test_dataloader.dataset.pipeline:
        if step['type'] == 'SampleFrames':
            step['num_clips'] = 1
        if step['type'] == 'ThreeCrop':
            step['type'] = 'CenterCrop'
    one_view.test_pipeline = one_view.test_dataloader.dataset.pipeline
    model = init_recognizer(one_view, video['ckpt'], device='cpu')
    single = inference_recognizer(model, video['clip']).pred_score
    torch.testing.assert_close(scores, single, rtol=0, atol=1e-6)
    assert not torch.allclose(scores, video['scores'], atol=1e-6)


def test_full_checkpoint_needs_no_pretrained_file(video, tmp_path):
    from mmaction.apis import inference_recognizer, init_recognizer
    full = str(tmp_path / 'full.pth')
    torch.save(dict(state_dict=video['state'], meta={}), full)
    assert not osp.exists(osp.join(video['root'], 'gone.pth'))
    model = init_recognizer(video['missing_cfg'], full, device='cpu')
    scores = inference_recognizer(model, video['clip']).pred_score
    torch.testing.assert_close(scores, video['scores'], rtol=0, atol=1e-6)
    # Adapter-only, it does need the file, and says which.
    with pytest.raises(FileNotFoundError, match='gone.pth'):
        init_recognizer(video['missing_cfg'], video['ckpt'], device='cpu')

    # tools/test.py too; its first prediction is the clip's, with the same
    # test pipeline (2 clips x 3 crops) as inference_recognizer.
    dump = tmp_path / 'preds.pkl'
    run_tool([
        'test.py', video['missing_cfg'], full, '--work-dir', tmp_path / 'work',
        '--dump', dump
    ],
             cwd=tmp_path)
    with open(dump, 'rb') as f:
        first = pickle.load(f)[0]
    torch.testing.assert_close(
        first['pred_score'], video['scores'], rtol=1e-5, atol=1e-6)


def test_building_prints_no_init_report_and_reads_no_file(video):
    with _captured_log('guard_build') as records:
        init_default_scope('mmaction')
        model = MODELS.build(Config.fromfile(video['missing_cfg']).model)
    _clear_loggers()
    text = _text(records)
    assert 'Add AdaptMLP to blocks.0' in text  # the capture works
    assert 'init_weights' not in text and 'TruncNormal' not in text
    assert ' - torch.Size(' not in text
    assert not model.backbone.host_initialized
    assert model.backbone.host_source is None


def test_training_a_random_frozen_backbone_is_refused(tmp_path,
                                                      tiny_video_data,
                                                      clean_loggers):
    cfg = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    config = Config.fromfile(cfg)
    config.work_dir = str(tmp_path / 'work')
    with pytest.raises(RuntimeError) as info:
        Runner.from_cfg(config).train()
    message = str(info.value)
    assert 'was never loaded from a checkpoint' in message
    assert 'model.backbone.backbone.init_cfg' in message
    assert 'AdapterHook(allow_random_backbone=True)' in message
    assert not osp.exists(tmp_path / 'work' / 'epoch_1.pth')

    # The opt-out trains.
    config = Config.fromfile(cfg)
    config.work_dir = str(tmp_path / 'work')
    config.custom_hooks[0]['allow_random_backbone'] = True
    config.train_cfg.max_epochs = 1
    Runner.from_cfg(config).train()
    assert osp.exists(tmp_path / 'work' / 'epoch_1.pth')


def test_linear_probe_on_a_random_plain_backbone_is_refused(
        tmp_path, tiny_video_data, clean_loggers):
    cfg = write_config(
        tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "custom_hooks = [dict(type='AdapterHook', mode='linear_probe')]\n")
    config = Config.fromfile(cfg)
    config.work_dir = str(tmp_path / 'work')
    with pytest.raises(RuntimeError, match=r'model\.backbone\.init_cfg = '):
        Runner.from_cfg(config).train()


def test_vpt_checks_its_pretrained_checkpoint(tmp_path):
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.model.backbone.depth = 1
    shallow = MODELS.build(cfg.model)
    path = str(tmp_path / 'shallow.pth')
    torch.save(dict(state_dict=shallow.state_dict()), path)
    backbone = dict(
        Config.fromfile(TINY_VIDEO_CONFIG).model.backbone,
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    model = VPT(backbone=backbone, num_prompts=2)  # builds: nothing read
    with pytest.raises(StateDictMismatchError, match=r'blocks\.1\.attn'):
        model.init_weights()


def test_adaptformer_init_cfg_leaves_the_adapters_alone():
    model = AdaptFormer(
        backbone=dict(
            type='mmpretrain.VisionTransformer',
            arch='deit-tiny',
            img_size=32,
            patch_size=16,
            init_cfg=dict(type='Constant', layer='Linear', val=0.5)))
    adapters = {
        k: v.clone()
        for k, v in model.state_dict().items() if 'adaptmlp' in k
    }
    qkv = model.backbone.layers[0].attn.qkv.weight
    assert not torch.all(qkv == 0.5)
    model.init_weights()
    assert model.host_initialized and model.host_source is None
    assert torch.all(qkv == 0.5)  # the host's init_cfg ran
    state = model.state_dict()
    for key, value in adapters.items():  # and left the adapters alone
        assert torch.equal(state[key], value), key


@pytest.fixture(scope='module')
def image(tmp_path_factory, tiny_image_data):
    """A tiny image AdaptFormer trained for one epoch on ``right.pth``."""
    root = str(tmp_path_factory.mktemp('guard_image'))
    init_default_scope('mmpretrain')
    paths = {}
    for name, seed in (('right', 0), ('other', 1)):
        torch.manual_seed(seed)
        stock = MODELS.build(Config.fromfile(TINY_IMAGE_CONFIG).model)
        stock.init_weights()
        paths[name] = osp.join(root, f'{name}.pth')
        torch.save(dict(state_dict=stock.state_dict(), meta={}), paths[name])
    cfgs = {
        name: _variant(
            root, name, TINY_IMAGE_CONFIG,
            image_data_cfg(tiny_image_data) +
            IMAGE_ADAPTFORMER.format(path=path))
        for name, path in paths.items()
    }
    model = _train(cfgs['right'], osp.join(root, 'work'))
    with torch.no_grad():
        x = torch.rand(2, 3, 32, 32) * 255
        logits = model(
            model.data_preprocessor({'inputs': x})['inputs'], mode='tensor')
    _clear_loggers()
    return dict(
        cfgs=cfgs,
        paths=paths,
        ckpt=osp.join(root, 'work', 'epoch_1.pth'),
        x=x,
        logits=logits)


def test_mmpretrain_get_model_and_inferencer(image):
    from mmpretrain import ImageClassificationInferencer, get_model
    model = get_model(image['cfgs']['right'], pretrained=image['ckpt'])
    model.eval()
    with torch.no_grad():
        logits = model(
            model.data_preprocessor({'inputs': image['x']})['inputs'],
            mode='tensor')
    torch.testing.assert_close(logits, image['logits'], rtol=0, atol=1e-6)

    with pytest.raises(FrozenBackboneMismatchError) as info:
        get_model(image['cfgs']['other'], pretrained=image['ckpt'])
    assert f'{KEY}, now {image["paths"]["other"]}' in str(info.value)
    with pytest.raises(FrozenBackboneMismatchError, match=DIFFER):
        ImageClassificationInferencer(
            model=image['cfgs']['other'],
            pretrained=image['ckpt'],
            device='cpu')
    # The right backbone through the Inferencer: the trained logits.
    inferencer = ImageClassificationInferencer(
        model=image['cfgs']['right'], pretrained=image['ckpt'], device='cpu')
    with torch.no_grad():
        logits = inferencer.model(
            inferencer.model.data_preprocessor({'inputs':
                                                image['x']})['inputs'],
            mode='tensor')
    torch.testing.assert_close(logits, image['logits'], rtol=0, atol=1e-6)


def test_training_from_a_full_checkpoint_records_its_file(video, tmp_path):
    """``load_from`` reaches the model as a bare state dict; the adapters
    trained on it name that file, not 'state dict'."""
    full = str(tmp_path / 'full.pth')
    torch.save(dict(state_dict=video['state'], meta={}), full)
    config = Config.fromfile(video['cfg'])
    config.work_dir = str(tmp_path / 'work')
    config.load_from = full
    Runner.from_cfg(config).train()
    _clear_loggers()
    saved = safe_torch_load(str(tmp_path / 'work' / 'epoch_1.pth'))
    entry = saved['state_dict']['backbone.' + FROZEN_HOST_KEY]
    assert entry['pretrained'] == full


@pytest.mark.parametrize(
    'setting, expected',
    [('model = dict(backbone=dict(layers=[-1]))\n',
      'layers (model.backbone.layers): checkpoint [0, 1] (every block), this '
      'model [1] (blocks.1). Not in this model (4)'),
     ('model = dict(backbone=dict(adapter=dict(bottleneck=4)))\n',
      'bottleneck (model.backbone.adapter.bottleneck): checkpoint 8, this '
      'model 4. Tensors whose shapes differ (6): '
      'backbone.blocks.0.adaptmlp.down_proj.weight: '
      'checkpoint (8, 64) vs model (4, 64)')],
    ids=['layers', 'bottleneck'])
def test_adapters_of_other_settings_are_refused_not_part_loaded(
        video, setting, expected):
    """MMEngine's load_checkpoint (init_recognizer's, the Inferencers')
    is non-strict: adapters trained with other settings loaded in part,
    with a warning, the rest at their initial values."""
    from mmaction.apis import init_recognizer
    cfg = _variant(video['root'], 'other_adapters', video['cfg'], setting)
    with pytest.raises(StateDictMismatchError) as info:
        init_recognizer(cfg, video['ckpt'], device='cpu')
    text = str(info.value)
    assert text.startswith(f'The state dict of {video["ckpt"]} holds '
                           'adapter tensors'), text
    assert expected in text, text
    # A stock checkpoint holds none of them: refused too, not loaded with
    # the adapters at their initialisation.
    model = MODELS.build(Config.fromfile(cfg).model)
    with pytest.raises(
            StateDictMismatchError, match="holds none of the model's"):
        load_checkpoint(model, video['right'], map_location='cpu')


def test_a_state_dict_missing_some_adapters_is_refused(video):
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(video['cfg']).model)
    state = safe_torch_load(video['ckpt'])['state_dict']
    for key in [k for k in state if k.startswith('backbone.blocks.1.')]:
        del state[key]
    with pytest.raises(
            StateDictMismatchError,
            match=r'Missing \(4 of 8\): '
            r'backbone\.blocks\.1\.adaptmlp\.down_proj\.weight'):
        model.load_state_dict(state, strict=False)


def test_adapters_of_another_architecture_are_not_blamed_on_the_weights(video):
    """An adapter-only checkpoint on a backbone of other widths: no
    pretrained file would fit it, so the error is not "a different frozen
    backbone" with a --pretrained that cannot work; every tool says so."""
    from mmadaptformer.engine import refusal_line
    cfg = _variant(
        video['root'], 'narrow', video['cfg'],
        'model = dict(backbone=dict(backbone=dict(embed_dims=32, '
        'init_cfg=None)), cls_head=dict(in_channels=32))\n')
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(cfg).model)
    with pytest.raises(StateDictMismatchError) as info:
        load_checkpoint(model, video['ckpt'], map_location='cpu')
    text = str(info.value)
    assert text.startswith(
        f'The adapter-only checkpoint {video["ckpt"]} was trained on '
        "another backbone architecture than this model's "
        'VisionTransformer:'), text
    assert 'have other shapes (checkpoint vs model: ' in text, text
    assert '(64,) vs (32,)' in text, text
    assert 'Load it with the config it was trained with.' in text
    assert '--pretrained' not in refusal_line(info.value)
