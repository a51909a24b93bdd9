# CIFAR-100 for the AdaptFormer image recipe, read by mmpretrain's CIFAR100
# class from the owners' `cifar-100-python` folder (see
# tools/data/cifar100/README.md); nothing is downloaded. Train:
# RandomResizedCrop 224 + horizontal flip; test: resize 256, center crop 224.
dataset_type = 'CIFAR100'
data_root = 'data/cifar100'

train_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
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
        split='train',
        download=False,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        download=False,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
