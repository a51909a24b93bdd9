# The minimal diff that turns a stock MMAction2 config into AdaptFormer:
# inherit it, import this package, wrap the backbone, add the hook.
# MMAction2's VideoMAE configs only test released weights (no training
# part), so the second half of this file adds what training needs, on the
# same Kinetics-400 files: this package's video recipe (SGD, lr 0.1 x total
# batch / 256, warm-up then cosine) and MMAction2's usual K400 pipelines.
#   tools/dist_train.sh configs/examples/adaptformer_videomae-vit-b_k400.py 8 \
#       --pretrained checkpoints/videomae_vit-b_k400-pretrain_16x224.pth
_base_ = [
    'mmaction::recognition/videomae/'
    'vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.py'
]
custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        backbone={{_base_.model.backbone}},
        adapter=dict(bottleneck=64, scale=0.1)))
custom_hooks = [dict(type='AdapterHook', adapter_only_checkpoint=True)]
# The recipes' checks: a NaN or inf loss stops the run, a checkpoint of
# another architecture is refused instead of part-loaded, the head's
# num_classes must be the data's, and a resume must be able to continue
# the run.
default_hooks = dict(
    non_finite_loss=dict(type='NonFiniteLossHook'),
    checkpoint_check=dict(type='CheckpointCheckHook'),
    config_check=dict(type='ConfigCheckHook'),
    resume_check=dict(type='ResumeCheckHook'))

# Training (the stock config above only tests).
dataset_type = 'VideoDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=4, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(
        type='SampleFrames',
        clip_len=16,
        frame_interval=4,
        num_clips=1,
        test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 224)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        test_mode=True))
val_evaluator = dict(type='AccMetric')

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=3)
val_cfg = dict(type='ValLoop')
# 8 GPUs x 16 clips = 128 per step: lr 0.05 = 0.1 x 128 / 256.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=25,
        eta_min=0.,
        by_epoch=True,
        begin=5,
        end=30,
        convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=True, base_batch_size=128)
