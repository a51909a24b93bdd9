# SVHN (10 classes) for the AdaptFormer image recipe, as an mmpretrain
# CustomDataset: PNGs and annotation lists written by tools/data/svhn (see its
# README) from the owners' .mat files. Train:
# RandomResizedCrop 224 + horizontal flip; test: resize 256, center crop 224.
dataset_type = 'CustomDataset'
data_root = 'data/svhn'
# The name of each label, in label order, for dataset.metainfo and the
# checkpoints: the label is the digit (the owners' y = 10 is the digit 0).
classes = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=256,
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    # As the official code: the BatchNorm head cannot train on a last
    # batch of one sample (SSv2's 168,913 videos at 16 on one GPU).
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix='train',
        classes=classes,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/test.txt',
        data_prefix='test',
        classes=classes,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
