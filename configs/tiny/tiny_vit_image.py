# A ViT small enough to train on a CPU in seconds, on a tiny image folder
# (mmpretrain CustomDataset: `<data_root>/{train,val}/<class>/<image>`),
# e.g. one written by `mmadaptformer.testing.make_stripes_dataset`.
# It runs the recipes' hooks (configs/_base_/default_hooks.py), so a
# checkpoint of another architecture or a NaN loss stops it as it stops them.
_base_ = ['../_base_/default_runtime_image.py']

custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)

num_classes = 2
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch=dict(
            embed_dims=64, num_layers=2, num_heads=2,
            feedforward_channels=128),
        img_size=32,
        patch_size=16,
        out_type='cls_token'),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    data_preprocessor=dict(
        num_classes=num_classes,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))

dataset_type = 'CustomDataset'
data_root = 'data/tiny_image'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.))
# No end and no T_max: MMEngine ends the cosine with training (at
# train_cfg.max_epochs, --cfg-options included) and takes T_max = end - begin,
# so the rate falls every epoch to the last, however long the run is.
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True)]
# The recipe's total batch size is 1 process x 4 images.
auto_scale_lr = dict(enable=False, base_batch_size=4)

# The recipes' hooks, saving every epoch and logging every iteration; no
# best_*.pth (mmpretrain's runtime, which this config had before, saved
# none, and the image tests' work dirs hold epoch_N.pth only).
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best=None))
