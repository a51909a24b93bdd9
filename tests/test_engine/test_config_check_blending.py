# Copyright (c) mmadaptformer contributors. All rights reserved.
"""ConfigCheckHook compares the head's ``num_classes`` with those of
MMAction2's batch blendings (``model.data_preprocessor.blending``)."""
import pytest
from helpers import run_tool, write_config
from mmaction.registry import MODELS
from refusal_lines import refused_line

from mmadaptformer.engine.hooks.config_check_hook import blending_num_classes

#: MMAction2's MViT recipe (RandomBatchAugment of MixupBlending and
#: CutmixBlending, both num_classes=400) as an AdaptFormer config, with a
#: tiny MViT and a 2-class head, as a user edits it.
_TINY_MVIT = """
custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        backbone=dict(
            type='MViT',
            arch=dict(embed_dims=16, num_layers=3, num_heads=1,
                      downscale_indices=[1]),
            spatial_size=64,
            temporal_size=8),
        adapter=dict(bottleneck=8, scale=0.1)),
    cls_head=dict(num_classes=2, in_channels=32))
custom_hooks = [dict(type='AdapterHook', allow_random_backbone=True)]
default_hooks = dict(config_check=dict(type='ConfigCheckHook'))
pipe = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
train_dataloader = dict(
    **loader,
    dataset=dict(
        ann_file={train!r},
        data_prefix=dict(video={videos!r}),
        pipeline=pipe))
val_dataloader = dict(
    **loader,
    dataset=dict(
        ann_file={val!r},
        data_prefix=dict(video={videos!r}),
        pipeline=pipe))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
"""

_MVIT = ('mmaction::recognition/mvit/'
         'mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb.py')


def test_stock_blending_classes_stop_training_with_one_line(
        tmp_path, tiny_video_data):
    """Before: the first iteration died in mmaction's accuracy with
    ``ValueError: operands could not be broadcast together with shapes
    (8,2) (8,1,400)``, naming no config key."""
    config = write_config(tmp_path / 'cfg.py', _MVIT,
                          _TINY_MVIT.format(**tiny_video_data))
    proc = run_tool(['train.py', config, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, absent=['Epoch(train)'])
    assert line == (
        f'ConfigError: {config}: model.cls_head.num_classes=2 but '
        'model.data_preprocessor.blending.augments[0].num_classes=400 and '
        'model.data_preprocessor.blending.augments[1].num_classes=400. Set '
        'model.data_preprocessor.blending.augments[0].num_classes and '
        'model.data_preprocessor.blending.augments[1].num_classes to 2 too '
        "(a stock config's values are those of its own dataset), or all of "
        'them to the number of classes of the data.')


@pytest.mark.parametrize('blending, found', [
    (None, []),
    (dict(type='MixupBlending', num_classes=5,
          alpha=.2), [('model.data_preprocessor.blending.num_classes', 5)]),
    (dict(
        type='RandomBatchAugment',
        augments=[
            dict(type='MixupBlending', num_classes=2, alpha=.2),
            dict(type='CutmixBlending', num_classes=3, alpha=1.)
        ],
        probs=[.3, .3]), [
            ('model.data_preprocessor.blending.augments[0].num_classes', 2),
            ('model.data_preprocessor.blending.augments[1].num_classes', 3)
        ]),
])
def test_blending_num_classes_of_built_preprocessors(blending, found):
    """Each augment under its own key (RandomBatchAugment's own
    ``num_classes`` is its first augment's, and the share of no
    augment is a None augment)."""
    preprocessor = MODELS.build(
        dict(type='ActionDataPreprocessor', blending=blending))
    assert blending_num_classes(preprocessor) == found
