# A VideoMAE-style ViT small enough to train on a CPU in seconds, on a tiny
# set of real video files (CheckedVideoDataset, mmaction2's VideoDataset
# with checks, decoded by decord).
# Tests and the CPU examples in the README use it; point `data_root` at any
# folder with `videos/`, `train.txt` and `val.txt` (lines `<file> <label>`),
# e.g. one written by `mmadaptformer.testing.make_moving_square_dataset`.
# It runs the recipes' hooks (configs/_base_/default_hooks.py), so a
# checkpoint of another architecture or a NaN loss stops it as it stops them.
_base_ = ['../_base_/default_runtime_video.py']

custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)

num_classes = 2
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='VisionTransformer',
        img_size=32,
        patch_size=16,
        embed_dims=64,
        depth=2,
        num_heads=2,
        mlp_ratio=2,
        qkv_bias=True,
        num_frames=4,
        tubelet_size=2,
        norm_cfg=dict(type='LN', eps=1e-6)),
    cls_head=dict(
        type='TimeSformerHead',
        num_classes=num_classes,
        in_channels=64,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))

dataset_type = 'CheckedVideoDataset'
data_root = 'data/tiny_video'
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=4, frame_interval=3, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(
        type='SampleFrames',
        clip_len=4,
        frame_interval=3,
        num_clips=1,
        test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
# Multi-view testing: 2 temporal clips x 3 spatial crops, scores averaged.
test_pipeline = [
    dict(type='DecordInit'),
    dict(
        type='SampleFrames',
        clip_len=4,
        frame_interval=3,
        num_clips=2,
        test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='ThreeCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        ann_file=f'{data_root}/train.txt',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        ann_file=f'{data_root}/val.txt',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        ann_file=f'{data_root}/val.txt',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=test_pipeline,
        test_mode=True))

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.))
# No end and no T_max: MMEngine ends the cosine with training (at
# train_cfg.max_epochs, --cfg-options included) and takes T_max = end - begin,
# so the rate falls every epoch to the last, however long the run is.
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True)]
# The recipe's total batch size is 1 process x 4 clips.
auto_scale_lr = dict(enable=False, base_batch_size=4)

# The recipes' hooks, saving every epoch and logging every iteration.
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=3))
