# AdaptFormer-64 on a VideoMAE ViT-S/16 (embed 384, depth 12, 6 heads) at
# 8 frames x 112 x 112, batch 4: the model and training step of the video
# recipe (adapters in every block, BN+Linear head, fc_norm trains, SGD) at a
# size a CPU measures in minutes. Used by docs/benchmark.md:
#   python tools/analysis_tools/benchmark_train.py \
#       configs/benchmark/adaptformer_vits_8x112.py --repeat 3
# The benchmark uses synthetic inputs of the train pipeline's shape and
# random weights; the dataset below only documents that shape. Trained with
# tools/train.py, it runs the recipes' hooks (configs/_base_/default_hooks.py)
# and their checkpoint and logging settings, as the video recipes do.
_base_ = ['../_base_/default_runtime_video.py']

custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)

model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='AdaptFormer',
        backbone=dict(
            type='VisionTransformer',
            img_size=112,
            patch_size=16,
            embed_dims=384,
            depth=12,
            num_heads=6,
            mlp_ratio=4,
            qkv_bias=True,
            num_frames=8,
            tubelet_size=2,
            drop_path_rate=0.,
            use_mean_pooling=True,
            norm_cfg=dict(type='LN', eps=1e-6)),
        adapter=dict(bottleneck=64, scale=0.1, dropout=0., norm=None),
        placement='parallel'),
    cls_head=dict(
        type='BNLinearHead',
        num_classes=174,
        in_channels=384,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='adaptformer',
        extra_trainable=[r'^backbone\.fc_norm\.'])
]

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=4, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(112, 112), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='VideoDataset',
        ann_file='data/ssv2/ssv2_train_list_videos.txt',
        data_prefix=dict(video='data/ssv2/videos'),
        pipeline=train_pipeline))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=1)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.))
