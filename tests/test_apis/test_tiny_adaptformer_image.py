# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The tiny image AdaptFormer (``configs/tiny/tiny_adaptformer_image.py``)
through the tools and mmpretrain's own APIs, on the CPU.

``tools/train.py`` trains it for its two epochs on stripe images, on a
tiny pretrained backbone the test saves (``--pretrained``), as the README
of ``configs/tiny`` says; the adapter-only checkpoint it writes then gives
the trained model's scores through ``get_model``, the Inferencer,
``tools/infer.py``, ``tools/test.py`` and the converters, and is refused
on another backbone. Before, there was no such config: the image recipes'
wrapper, head and hook were tested only through configs the tests wrote.
"""
import contextlib
import os.path as osp
from collections import OrderedDict

import numpy as np
import pytest
import torch
from helpers import (CONFIGS, TINY_IMAGE_CONFIG, load_tool, pretrained_cfg,
                     run_tool, write_config)
from mmengine.config import Config
from mmengine.fileio import load
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import DefaultScope, init_default_scope
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.models import FROZEN_HOST_KEY, FrozenBackboneMismatchError
from mmadaptformer.testing import make_stripes_dataset
from mmadaptformer.utils import safe_torch_load

NAME = 'tiny_adaptformer_image'
KEY = 'model.backbone.backbone.init_cfg.checkpoint'
#: Where the wrapper's fingerprints of its frozen backbone sit.
FINGERPRINTS = f'backbone.{FROZEN_HOST_KEY}'
VAL = 'data/tiny_image/val'  # the config's data_root, under the run's root


def _save_stock_image_checkpoint(path: str, seed: int) -> dict:
    """A full checkpoint of the stock tiny image classifier
    (``tiny_vit_image.py``, mmpretrain's ``backbone.*``/``head.*`` keys),
    random weights: the pretrained backbone the adapters train on."""
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(TINY_IMAGE_CONFIG).model)
    model.init_weights()
    state = model.state_dict()
    torch.save(dict(state_dict=state, meta={}), path)
    return state


def _train_with_the_tool(argv):
    """``tools/train.py``'s ``main`` in this process; the Runner it built,
    whose model is the one it trained."""
    tool = load_tool('train.py')
    runners = []
    build_runner = tool.build_runner

    def keep(cfg, *args, **kwargs):
        runners.append(build_runner(cfg, *args, **kwargs))
        return runners[-1]

    tool.build_runner = keep
    tool.main(argv)
    return runners[0]


def _scores(model, batches):
    """``{img_path: scores}`` of ``model.test_step``, as tools/test.py
    gives them, on the collated test batches."""
    model.eval()
    out = {}
    with torch.no_grad():
        for batch in batches:
            for sample in model.test_step(batch):
                out[sample.img_path] = sample.pred_score.numpy()
    return out


def _assert_same_scores(got, expected):
    assert sorted(got) == sorted(expected)
    for path, scores in expected.items():
        np.testing.assert_allclose(
            got[path], scores, rtol=0, atol=1e-6, err_msg=path)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The tiny image AdaptFormer trained by tools/train.py on ``right.pth``
    (``other.pth``: another stock backbone), the scores of the model it
    left in memory, and the paths."""
    root = str(tmp_path_factory.mktemp('tiny_adaptformer_image'))
    make_stripes_dataset(osp.join(root, 'data', 'tiny_image'))
    paths = dict(
        root=root,
        right=osp.join(root, 'right.pth'),
        other=osp.join(root, 'other.pth'),
        work=osp.join(root, 'work'))
    # Scopes and loggers of this run stay here, not in later tests.
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.chdir(root))
        saved = DefaultScope._instance_dict
        DefaultScope._instance_dict = OrderedDict()
        stack.callback(setattr, DefaultScope, '_instance_dict', saved)
        stocks = {
            name: _save_stock_image_checkpoint(paths[name], seed)
            for name, seed in (('right', 0), ('other', 1))
        }
        runner = _train_with_the_tool([
            TINY_ADAPTFORMER_IMAGE_CONFIG, '--pretrained', paths['right'],
            '--work-dir', paths['work']
        ])
        batches = list(runner.val_loop.dataloader)
        model = runner.model
        scores = _scores(model, batches)
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        trainable = {
            k
            for k, v in model.state_dict(keep_vars=True).items()
            if isinstance(v, torch.nn.Parameter) and v.requires_grad
        }
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    # Scores that tell the images apart, so that equal scores mean the
    # same model.
    assert len({round(float(v[0]), 4) for v in scores.values()}) > 4, scores
    for name in ('right', 'other'):
        paths[f'{name}_cfg'] = write_config(
            osp.join(root, f'{name}.py'), TINY_ADAPTFORMER_IMAGE_CONFIG,
            pretrained_cfg(paths[name]))
    return dict(
        paths=paths,
        ckpt=osp.join(paths['work'], 'epoch_2.pth'),
        stocks=stocks,
        batches=batches,
        scores=scores,
        state=state,
        trainable=trainable)


def test_the_config_is_the_image_recipe_at_tiny_size():
    """The wrapper, adapter, head and hook settings of the image recipe,
    on the stock tiny ViT whose checkpoints are its pretrained files, with
    the recipes' hooks (a guard: a change to either shows here)."""
    tiny = Config.fromfile(TINY_ADAPTFORMER_IMAGE_CONFIG)
    recipe = Config.fromfile(osp.join(CONFIGS, 'adaptformer_vitb_cifar100.py'))
    stock = Config.fromfile(TINY_IMAGE_CONFIG)
    assert tiny.model.backbone.type == recipe.model.backbone.type
    assert tiny.model.backbone.placement == recipe.model.backbone.placement
    for key in ('scale', 'norm'):
        assert tiny.model.backbone.adapter[key] == \
            recipe.model.backbone.adapter[key], key
    # tiny_vit_image.py's ViT; the pretrained file comes with --pretrained.
    assert tiny.model.backbone.backbone == dict(
        stock.model.backbone, init_cfg=None)
    assert tiny.model.head.type == recipe.model.head.type
    assert tiny.custom_hooks == recipe.custom_hooks
    assert tiny.default_hooks == stock.default_hooks
    assert tiny.train_dataloader == stock.train_dataloader
    assert tiny.test_dataloader == stock.test_dataloader


def test_tools_train_writes_an_adapter_only_checkpoint(trained):
    """The work dir's checkpoint holds the trained tensors (adapters and
    head, with the head's BatchNorm statistics) as the model in memory has
    them, and the frozen backbone's fingerprints, but no backbone tensor."""
    ckpt = safe_torch_load(trained['ckpt'])
    assert 'adapter_checkpoint' in ckpt['meta']
    state = ckpt['state_dict']
    assert trained['trainable'] == {
        k
        for k in state if '.adaptmlp.' in k or k.startswith('head.fc.')
    }
    assert set(state) == trained['trainable'] | {
        'head.bn.running_mean', 'head.bn.running_var',
        'head.bn.num_batches_tracked', FINGERPRINTS
    }
    assert {k
            for k in state if '.adaptmlp.' in k} == {
                f'backbone.layers.{i}.adaptmlp.{p}.{w}'
                for i in (0, 1) for p in ('down_proj', 'up_proj')
                for w in ('weight', 'bias')
            }
    stock_backbone = {
        k
        for k in trained['stocks']['right'] if k.startswith('backbone.')
    }
    assert stock_backbone and not stock_backbone & set(state)
    for key, value in state.items():
        if key != FINGERPRINTS:
            assert torch.equal(value, trained['state'][key]), key
    # The frozen backbone in memory is right.pth's, untouched by training.
    for key in stock_backbone:
        assert torch.equal(trained['state'][key],
                           trained['stocks']['right'][key]), key


def test_get_model_and_the_inferencer_give_the_trained_scores(trained):
    """The adapter-only checkpoint, with the backbone its config names
    (a config naming ``right.pth``, or the training run's config copy),
    through mmpretrain's ``get_model`` and ``ImageClassificationInferencer``:
    the scores of the trained model in memory."""
    from mmpretrain import ImageClassificationInferencer, get_model
    paths = trained['paths']
    copy = osp.join(paths['work'], f'{NAME}.py')
    for config in (paths['right_cfg'], copy):
        model = get_model(config, pretrained=trained['ckpt'], device='cpu')
        _assert_same_scores(
            _scores(model, trained['batches']), trained['scores'])
    # Without the checkpoint: other scores (the comparisons can fail).
    untrained = _scores(
        get_model(paths['right_cfg'], device='cpu'), trained['batches'])
    with pytest.raises(AssertionError):
        _assert_same_scores(untrained, trained['scores'])
    inferencer = ImageClassificationInferencer(
        model=paths['right_cfg'], pretrained=trained['ckpt'], device='cpu')
    images = sorted(trained['scores'])
    results = inferencer([osp.join(paths['root'], p) for p in images])
    _assert_same_scores({p: r['pred_scores']
                         for p, r in zip(images, results)}, trained['scores'])
    assert [r['pred_class'] for r in results] == [
        ('horizontal', 'vertical')[int(np.argmax(trained['scores'][p]))]
        for p in images
    ]


def test_tools_infer_and_test_give_the_trained_scores(trained, tmp_path):
    """tools/infer.py's scores, tools/test.py's dumped scores and its top-1
    are the trained model's, from the adapter-only checkpoint and
    ``--pretrained``, as the README of configs/tiny runs them."""
    paths = trained['paths']
    out = str(tmp_path / 'results.json')
    run_tool([
        'infer.py', TINY_ADAPTFORMER_IMAGE_CONFIG, trained['ckpt'], VAL,
        '--pretrained', paths['right'], '--out', out
    ],
             cwd=paths['root'])
    _assert_same_scores(
        {p: np.array(r[NAME]['scores'])
         for p, r in load(out).items()}, trained['scores'])

    metrics, dump = str(tmp_path / 'metrics.json'), str(tmp_path / 'p.pkl')
    run_tool([
        'test.py', TINY_ADAPTFORMER_IMAGE_CONFIG, trained['ckpt'],
        '--pretrained', paths['right'], '--work-dir',
        str(tmp_path / 'test'), '--out', metrics, '--out-item', 'metrics',
        '--dump', dump
    ],
             cwd=paths['root'])
    predictions = load(dump)
    _assert_same_scores(
        {p['img_path']: p['pred_score'].numpy()
         for p in predictions}, trained['scores'])
    labels = {p['img_path']: int(p['gt_label']) for p in predictions}
    right = [
        int(np.argmax(s)) == labels[p] for p, s in trained['scores'].items()
    ]
    assert load(metrics)['accuracy/top1'] == pytest.approx(100 * sum(right) /
                                                           len(right))


def test_adapters_on_another_backbone_are_refused_by_name(trained):
    """The adapter-only checkpoint with a config whose backbone is another
    tiny pretrained file (``other.pth``): refused by ``get_model``, the
    Inferencer and tools/infer.py, naming the checkpoint, the config key,
    the file now there and the one the adapters were trained on (a guard
    of the wrapper's load path on this config)."""
    from mmpretrain import ImageClassificationInferencer, get_model
    paths = trained['paths']
    said = [
        f'The adapter-only checkpoint {trained["ckpt"]} was trained on a '
        'different frozen backbone', f'{KEY}, now {paths["other"]}',
        f'The adapters were trained on {paths["right"]}.'
    ]
    with pytest.raises(FrozenBackboneMismatchError) as refused:
        get_model(paths['other_cfg'], pretrained=trained['ckpt'])
    assert all(s in str(refused.value) for s in said), str(refused.value)
    with pytest.raises(FrozenBackboneMismatchError) as refused:
        ImageClassificationInferencer(
            model=paths['other_cfg'], pretrained=trained['ckpt'], device='cpu')
    assert all(s in str(refused.value) for s in said), str(refused.value)
    proc = run_tool([
        'infer.py', TINY_ADAPTFORMER_IMAGE_CONFIG, trained['ckpt'], VAL,
        '--pretrained', paths['other']
    ],
                    cwd=paths['root'],
                    check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stdout
    assert all(s in proc.stdout for s in said[1:]), proc.stdout


def test_merge_and_extract_round_trip(trained, tmp_path):
    """merge_adapters.py puts the adapters on ``right.pth`` into one full
    checkpoint that needs no pretrained file and gives the trained scores;
    extract_adapters.py takes the same adapter-only tensors back out. On
    ``other.pth`` the merge is refused, naming ``right.pth``."""
    from mmpretrain import get_model
    paths = trained['paths']
    full, again = str(tmp_path / 'full.pth'), str(tmp_path / 'again.pth')
    run_tool([
        'model_converters/merge_adapters.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
        trained['ckpt'], full, '--pretrained', paths['right']
    ],
             cwd=paths['root'])
    merged = safe_torch_load(full)['state_dict']
    for key, value in trained['stocks']['right'].items():
        if key.startswith('backbone.'):
            assert torch.equal(merged[key], value), key
    # The config itself names no pretrained file.
    model = get_model(
        TINY_ADAPTFORMER_IMAGE_CONFIG, pretrained=full, device='cpu')
    _assert_same_scores(_scores(model, trained['batches']), trained['scores'])

    run_tool([
        'model_converters/extract_adapters.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
        full, again, '--pretrained', paths['right']
    ],
             cwd=paths['root'])
    original = safe_torch_load(trained['ckpt'])['state_dict']
    extracted = safe_torch_load(again)['state_dict']
    assert set(extracted) == set(original)
    for key, value in original.items():
        if key != FINGERPRINTS:
            assert torch.equal(extracted[key], value), key
    model = get_model(paths['right_cfg'], pretrained=again, device='cpu')
    _assert_same_scores(_scores(model, trained['batches']), trained['scores'])

    proc = run_tool([
        'model_converters/merge_adapters.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
        trained['ckpt'],
        str(tmp_path / 'wrong.pth'), '--pretrained', paths['other']
    ],
                    cwd=paths['root'],
                    check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stdout
    assert f'trained on {paths["right"]}' in proc.stdout, proc.stdout
    assert not osp.exists(tmp_path / 'wrong.pth')
