# Food-101 (101 classes) for the AdaptFormer image recipe: annotation lists
# written by tools/data/food101 (see its README) from the files the owners
# distribute. Train: RandomResizedCrop 224 + horizontal flip; test: resize
# 256, center crop 224.
# CheckedImageDataset: mmpretrain's CustomDataset whose `classes` file is
# under data_root, as ann_file is (see mmadaptformer/datasets). The owners'
# class list names the labels (label i: line i + 1), so that
# dataset.metainfo and the checkpoints carry the class names. In training it
# replaces a broken image by another sample (logged; counted per epoch by
# DataHealthHook); test_mode=True keeps evaluation strict: a broken image is
# an error naming it, never a silently dropped sample.
dataset_type = 'CheckedImageDataset'
data_root = 'data/food-101'
num_classes = 101
class_file = 'meta/classes.txt'

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
        ann_file='annotations/train.txt',
        data_prefix='images',
        classes=class_file,
        num_classes=num_classes,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/test.txt',
        data_prefix='images',
        classes=class_file,
        num_classes=num_classes,
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
