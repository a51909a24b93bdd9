# Stage 1 of the CPU transfer study (tools/demo/transfer_study.py): a small
# VideoMAE-style ViT trained from scratch, every parameter, on the synthetic
# 'direction' task (4 classes, SSv2 format). It stands in for the published
# self-supervised checkpoint, which cannot be downloaded here.
#   tools/dist_train.sh configs/demo/vit-tiny_direction_pretrain.py 2
# It runs the recipes' hooks (configs/_base_/default_hooks.py), so stage 2's
# --pretrained stage-1 checkpoint is checked as the recipes check theirs: one
# of another architecture stops the run instead of training on random weights.
_base_ = ['../_base_/default_runtime_video.py']

custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)

data_root = 'data/demo/direction'
num_classes = 4
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='VisionTransformer',
        img_size=32,
        patch_size=8,
        embed_dims=64,
        depth=4,
        num_heads=4,
        mlp_ratio=2,
        qkv_bias=True,
        num_frames=8,
        tubelet_size=2,
        use_mean_pooling=True,
        norm_cfg=dict(type='LN', eps=1e-6)),
    cls_head=dict(
        type='TimeSformerHead',
        num_classes=num_classes,
        in_channels=64,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[114.75, 114.75, 114.75],
        std=[57.375, 57.375, 57.375],
        format_shape='NCTHW'))

dataset_type = 'CheckedVideoDataset'
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(
        type='SampleFrames',
        clip_len=8,
        frame_interval=2,
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
        clip_len=8,
        frame_interval=2,
        num_clips=2,
        test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='ThreeCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        ann_file=f'{data_root}/sthv2_train_list_videos.txt',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        ann_file=f'{data_root}/sthv2_val_list_videos.txt',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        ann_file=f'{data_root}/sthv2_val_list_videos.txt',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=test_pipeline,
        test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=29,
        eta_min=0.,
        by_epoch=True,
        begin=1,
        end=30,
        convert_to_iter_based=True)
]
# 2 processes x 8 clips.
auto_scale_lr = dict(enable=False, base_batch_size=16)
# The recipes' hooks, with the demo's own logging and checkpoints: every 10
# iterations, and only the last epoch's checkpoint (the study loads
# epoch_N.pth), no best_*.pth.
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        interval=-1, max_keep_ckpts=-1, save_last=True, save_best=None))
