# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A validation or test pipeline that crops, flips, resizes or augments at
random (``RandomResizedCrop``, ``Flip(flip_ratio=0.5)``, ``ColorJitter``,
``RandAugment``, ...) scored the same input differently on every call, and
only a random frame sampler was warned about. Now ``init_model`` (so
``ModelInferencer``) and the runners name the key, the transform and the
fix, once per pipeline; a transform whose arguments make it deterministic
(``Flip(flip_ratio=0)``, ``RandomFlip(prob=1.)`` in ``TestTimeAug``) and a
top-level pipeline no dataloader runs are not named."""
import copy
import glob
import os
import os.path as osp
import random

import numpy as np
import pytest
from config_writers import write_config
from repo_paths import CONFIGS, TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG

import mmadaptformer  # noqa: F401  (the upstream fixes)

#: The tiny video config's test pipeline, cropped and flipped at random.
RANDOM_TEST = '''test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=4, frame_interval=3, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 40)),
    dict(type='{crop}', {crop_args}),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='Flip', flip_ratio={flip_ratio}),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')]))
'''
ZOO = osp.join(osp.dirname(__import__('mmaction').__file__), '.mim', 'configs')


def _messages(config):
    from mmengine.config import Config

    from mmadaptformer.utils.random_sampling import random_sampling_messages
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    return [
        message
        for _, message in random_sampling_messages(cfg, cfg.filename, (
            'val_dataloader', 'test_dataloader'))
    ]


def test_inference_names_a_random_crop_and_flip(tmp_path, tiny_video_data,
                                                log_records):
    """ModelInferencer on a test pipeline with RandomResizedCrop and Flip
    scores one video differently from call to call, and one warning names
    both steps and both fixes; with CenterCrop and no flip the scores
    repeat and nothing is said."""
    from checkpoint_makers import save_stock_video_checkpoint

    from mmadaptformer.apis import ModelInferencer
    checkpoint = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    video = osp.join(tiny_video_data['videos'],
                     sorted(os.listdir(tiny_video_data['videos']))[0])
    config = write_config(
        tmp_path / 'rand.py', TINY_VIDEO_CONFIG,
        RANDOM_TEST.format(
            crop='RandomResizedCrop', crop_args='', flip_ratio=0.5))
    inferencer = ModelInferencer(config, checkpoint)
    scores = {
        tuple(inferencer(video)[video]['rand']['scores'])
        for _ in range(4)
    }
    assert len(scores) > 1, scores
    said = [
        r.getMessage() for r in log_records
        if 'scores differently' in r.getMessage()
    ]
    assert said == [
        f'{config}: test_dataloader.dataset.pipeline[4] (RandomResizedCrop) '
        'crops at random, and test_dataloader.dataset.pipeline[6] (Flip) '
        'flips at random (flip_ratio=0.5): the same video scores '
        'differently on every call (in tools/test.py and inference). '
        'Resize, then use CenterCrop in place of RandomResizedCrop (ThreeCrop '
        "or TenCrop to score several fixed crops), as mmaction2's own test "
        'pipelines do (e.g. Resize(scale=(-1, 256)), then '
        'CenterCrop(crop_size=224)). Drop Flip (flip only as test-time '
        'augmentation, where each view is flipped always or never).'
    ], said
    fixed = write_config(
        tmp_path / 'fixed.py', TINY_VIDEO_CONFIG,
        RANDOM_TEST.format(
            crop='CenterCrop', crop_args='crop_size=32', flip_ratio=0))
    inferencer = ModelInferencer(fixed, checkpoint)
    first, second = (
        inferencer(video)[video]['fixed']['scores'] for _ in range(2))
    assert first == second
    assert len([
        r for r in log_records if 'scores differently' in r.getMessage()
    ]) == 1


def _video_input():
    frames = np.random.RandomState(0).randint(0, 255, (4, 48, 64, 3))
    return dict(
        imgs=list(frames.astype(np.uint8)),
        img_shape=(48, 64),
        original_shape=(48, 64),
        modality='RGB')


def _image_input():
    image = np.random.RandomState(0).randint(0, 255, (48, 64, 3))
    return dict(
        img=image.astype(np.uint8), img_shape=(48, 64), ori_shape=(48, 64))


def _pixels(out):
    """The images of a transform's output, as bytes (TestTimeAug's: a list
    of them)."""
    if isinstance(out, dict):
        out = out.get('imgs', out.get('img', out.get('inputs')))
    if isinstance(out, (list, tuple)):
        return tuple(_pixels(item) for item in out)
    return (np.asarray(out).shape, np.asarray(out).tobytes())


#: (scope, transform config, random?): what the rules must say, checked
#: against what the real transform does.
CASES = [
    ('mmaction', dict(type='RandomCrop', size=32), True),
    ('mmaction', dict(type='RandomResizedCrop'), True),
    # Its fixed crops are picked at random all the same.
    ('mmaction',
     dict(
         type='MultiScaleCrop',
         input_size=32,
         scales=(1, .875, .75),
         random_crop=False), True),
    ('mmaction', dict(type='RandomRescale', scale_range=(40, 60)), True),
    ('mmaction', dict(type='Flip', flip_ratio=0.5), True),
    ('mmaction', dict(type='Flip', flip_ratio=0), False),
    ('mmaction', dict(type='Flip', flip_ratio=1), False),
    # mmaction2's jitters by default, mmpretrain's does not. (Its default
    # hue fails under NumPy 2 when the draw is negative: not a test of it.)
    ('mmaction', dict(type='ColorJitter', hue=0), True),
    ('mmaction',
     dict(type='ColorJitter', brightness=0, contrast=0, saturation=0,
          hue=0), False),
    ('mmaction', dict(type='CenterCrop', crop_size=32), False),
    ('mmaction', dict(type='ThreeCrop', crop_size=48), False),
    ('mmpretrain', dict(type='RandomFlip', prob=0.5), True),
    ('mmpretrain', dict(type='RandomFlip', prob=1.), False),
    ('mmpretrain', dict(type='RandomFlip', prob=0.), False),
    ('mmpretrain', dict(type='RandomResizedCrop', scale=32), True),
    ('mmpretrain', dict(type='RandomCrop', crop_size=32), True),
    ('mmpretrain', dict(type='ColorJitter'), False),
    ('mmpretrain', dict(type='ColorJitter', brightness=0.4), True),
    ('mmpretrain', dict(type='RandomErasing', erase_prob=1.), True),
    ('mmpretrain', dict(type='RandomErasing', erase_prob=0.), False),
    ('mmpretrain', dict(type='RandomGrayscale', prob=0.5), True),
    ('mmpretrain',
     dict(
         type='RandAugment',
         policies='timm_increasing',
         num_policies=2,
         magnitude_level=9), True),
    # mmpretrain's single augmentations at prob=1: random where the sign
    # of a nonzero magnitude is drawn (random_negative_prob, 0.5 by
    # default), where the magnitude is drawn, and Cutout's position.
    ('mmpretrain', dict(type='Rotate', angle=30., prob=1.), True),
    ('mmpretrain',
     dict(type='Rotate', angle=30., prob=1., random_negative_prob=0.), False),
    ('mmpretrain',
     dict(type='Rotate', angle=30., prob=1., random_negative_prob=1.), False),
    ('mmpretrain', dict(type='Rotate', magnitude_range=(0, 30),
                        prob=1.), True),
    ('mmpretrain',
     dict(
         type='Rotate',
         magnitude_range=(0, 30),
         magnitude_std=.5,
         prob=1.,
         random_negative_prob=0.), True),
    ('mmpretrain',
     dict(
         type='Rotate',
         magnitude_range=(0, 30),
         magnitude_std='inf',
         prob=1.,
         random_negative_prob=0.), True),
    # Uniform(0, level 0) is 0: the angle is 0, whatever its sign.
    ('mmpretrain',
     dict(
         type='Rotate',
         magnitude_range=(0, 30),
         magnitude_level=0,
         magnitude_std='inf',
         prob=1.), False),
    # magnitude_std moves only a magnitude drawn from magnitude_range.
    ('mmpretrain',
     dict(
         type='Rotate',
         angle=30.,
         magnitude_std=.5,
         prob=1.,
         random_negative_prob=0.), False),
    ('mmpretrain', dict(type='Shear', magnitude=.3, prob=1.), True),
    ('mmpretrain', dict(type='Translate', magnitude=.2, prob=1.), True),
    ('mmpretrain', dict(type='Contrast', magnitude=.5, prob=1.), True),
    ('mmpretrain', dict(type='Brightness', magnitude=0., prob=1.), False),
    ('mmpretrain', dict(type='Cutout', shape=8, prob=1.), True),
    ('mmpretrain', dict(type='Cutout', shape=8, prob=0.), False),
    ('mmpretrain', dict(type='Solarize', thr=100, prob=1.), False),
    ('mmpretrain', dict(type='Equalize', prob=1.), False),
    ('mmpretrain', dict(type='GaussianBlur', radius=1, prob=1.), False),
    ('mmpretrain', dict(type='CenterCrop', crop_size=32), False),
    ('mmpretrain', dict(type='ResizeEdge', scale=40), False),
    ('mmpretrain',
     dict(
         type='TestTimeAug',
         transforms=[[
             dict(type='RandomFlip', prob=1.),
             dict(type='RandomFlip', prob=0.)
         ]]), False),
    ('mmpretrain',
     dict(
         type='TestTimeAug',
         transforms=[[dict(type='RandomCrop', crop_size=32)]]), True),
    ('mmpretrain',
     dict(
         type='RandomApply',
         transforms=[dict(type='CenterCrop', crop_size=32)],
         prob=1.), False),
    ('mmpretrain',
     dict(
         type='RandomApply',
         transforms=[dict(type='CenterCrop', crop_size=32)]), True),
    ('mmpretrain',
     dict(
         type='RandomChoice',
         transforms=[[dict(type='RandomFlip', prob=1.)],
                     [dict(type='RandomFlip', prob=0.)]]), True),
]


@pytest.mark.parametrize(
    'scope,step,expected',
    CASES,
    ids=[f'{s}-{c["type"]}-{i}' for i, (s, c, _) in enumerate(CASES)])
def test_rules_agree_with_the_real_transforms(scope, step, expected):
    """Each rule says random exactly where the built transform gives other
    pixels for the same input over 12 calls."""
    from mmengine.registry import TRANSFORMS

    from mmadaptformer.utils.random_transforms import random_transforms
    np.random.seed(0)
    random.seed(0)
    with TRANSFORMS.switch_scope_and_registry(scope) as registry:
        transform = registry.build(copy.deepcopy(step))
        said = list(random_transforms(step, 'k', scope))
    given = _video_input() if scope == 'mmaction' else _image_input()
    outputs = {_pixels(transform(copy.deepcopy(given))) for _ in range(12)}
    assert (len(outputs) > 1) == expected, outputs
    assert bool(said) == expected, said


def test_only_pipelines_a_dataloader_runs_are_read(tmp_path):
    """A top-level test_pipeline with a RandomCrop that no dataloader
    uses is not named; a dataloader whose pipeline is that same list is,
    by its key; an image pipeline's TestTimeAug flips are not."""
    body = ("test_pipeline = [dict(type='DecordInit'),\n"
            "    dict(type='SampleFrames', clip_len=4, test_mode=True),\n"
            "    dict(type='DecordDecode'),\n"
            "    dict(type='RandomCrop', size=32),\n"
            "    dict(type='FormatShape', input_format='NCTHW'),\n"
            "    dict(type='PackActionInputs')]\n")
    unused = write_config(tmp_path / 'unused.py', TINY_VIDEO_CONFIG, body)
    assert _messages(unused) == []
    used = write_config(
        tmp_path / 'used.py', TINY_VIDEO_CONFIG,
        body + 'test_dataloader = dict(dataset=dict(pipeline='
        'test_pipeline))\n')
    assert _messages(used) == [
        f'{used}: test_dataloader.dataset.pipeline[3] (RandomCrop) crops at '
        'random: the same video scores differently on every call (in '
        'tools/test.py and inference). Resize, then use CenterCrop in place '
        'of it (ThreeCrop or TenCrop to score several fixed crops), as '
        "mmaction2's own test pipelines do (e.g. Resize(scale=(-1, 256)), "
        'then CenterCrop(crop_size=224)).'
    ]
    tta = write_config(
        tmp_path / 'tta.py', TINY_IMAGE_CONFIG,
        'val_dataloader = dict(dataset=dict(pipeline=[\n'
        "    dict(type='LoadImageFromFile'),\n"
        "    dict(type='TestTimeAug', transforms=[[\n"
        "        dict(type='RandomFlip', prob=1.),\n"
        "        dict(type='RandomFlip', prob=0.)]]),\n"
        "    dict(type='PackInputs')]))\n"
        'test_dataloader = val_dataloader\n')
    assert _messages(tta) == []
    cropped = write_config(
        tmp_path / 'cropped.py', TINY_IMAGE_CONFIG,
        'val_dataloader = dict(dataset=dict(pipeline=[\n'
        "    dict(type='LoadImageFromFile'),\n"
        "    dict(type='RandomResizedCrop', scale=32),\n"
        "    dict(type='PackInputs')]))\n"
        'test_dataloader = dict(dataset=dict(pipeline=[\n'
        "    dict(type='LoadImageFromFile'),\n"
        "    dict(type='ResizeEdge', scale=36, edge='short'),\n"
        "    dict(type='CenterCrop', crop_size=32),\n"
        "    dict(type='PackInputs')]))\n")
    # mmpretrain's own test pipelines resize the short edge first.
    assert _messages(cropped) == [
        f'{cropped}: val_dataloader.dataset.pipeline[1] (RandomResizedCrop) '
        'crops at random: the same image scores differently on every call '
        '(in validation). Resize, then use CenterCrop in place of it, as '
        "mmpretrain's own test pipelines do (e.g. ResizeEdge(scale=256, "
        "edge='short'), then CenterCrop(crop_size=224))."
    ]
    flipped = write_config(
        tmp_path / 'flipped.py', TINY_IMAGE_CONFIG,
        'val_dataloader = dict(dataset=dict(pipeline='
        '{{_base_.train_pipeline}}))\ntest_dataloader = val_dataloader\n')
    assert _messages(flipped) == [
        f'{flipped}: val_dataloader.dataset.pipeline[1] (RandomFlip) (and '
        'test_dataloader.dataset.pipeline[1], the same pipeline) flips at '
        'random (prob=0.5): the same image scores differently on every call '
        '(in validation and in tools/test.py and inference). Drop it (flip '
        'only as test-time augmentation, where each view is flipped always '
        'or never).'
    ]


def test_our_configs_and_model_zoo_samples_say_nothing_false():
    """Guards kept behaviour: none of our configs is named; of mmaction2's
    model zoo (215 configs, all silent but one pair), a TSN and a VideoMAE
    config are silent and the TPN SlowOnly config is named for the
    ColorJitter its validation pipeline really runs (mmaction2's jitters by
    default: see the rules test)."""
    ours = [
        path
        for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
        if '_base_' not in path
    ]
    assert len(ours) > 30
    for path in ours:
        assert _messages(path) == [], path
    for name in ('tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_'
                 'kinetics400-rgb.py', 'videomae/vit-base-p16_videomae-'
                 'k400-pre_16x4x1_kinetics-400.py'):
        assert _messages(osp.join(ZOO, 'recognition', name)) == [], name
    tpn = osp.join(
        ZOO, 'recognition', 'tpn', 'tpn-slowonly_imagenet-'
        'pretrained-r50_8xb8-8x8x1-150e_kinetics400-rgb.py')
    assert _messages(tpn) == [
        f'{tpn}: val_dataloader.dataset.pipeline[5] (ColorJitter) jitters '
        'colours at random (brightness=0.5, contrast=0.5, saturation=0.5, '
        'hue=0.1): the same video scores differently on every call (in '
        'validation). Drop it (a training augmentation).'
    ]
