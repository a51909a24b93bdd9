# Stage 2 of the CPU transfer study, full fine-tuning: the stage-1 backbone
# (pre-trained on 'direction'), transferred to the synthetic 'appearance'
# task (2 classes, a single frame cannot solve it) with every parameter
# training. It is also the base of the AdaptFormer and linear-probe runs,
# which use the same data, schedule and budget: SGD (momentum 0.9, no weight
# decay), lr 0.1 for 2 processes x 8 clips, 2 warm-up epochs then cosine,
# 20 epochs, the BN+Linear head of the paper's recipes.
# The stage-1 checkpoint is the pretrained backbone; the study passes its
# path with --pretrained PATH.
_base_ = ['./vit-tiny_direction_pretrain.py']

data_root = 'data/demo/appearance'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/demo/stage1/epoch_30.pth',
            prefix='backbone.')),
    cls_head=dict(
        _delete_=True,
        type='BNLinearHead',
        num_classes=2,
        in_channels=64,
        init_std=0.01,
        average_clips='prob'))

train_dataloader = dict(
    dataset=dict(
        num_classes=2,
        ann_file=f'{data_root}/sthv2_train_list_videos.txt',
        data_prefix=dict(video=f'{data_root}/videos')))
val_dataloader = dict(
    dataset=dict(
        num_classes=2,
        ann_file=f'{data_root}/sthv2_val_list_videos.txt',
        data_prefix=dict(video=f'{data_root}/videos')))
test_dataloader = dict(
    dataset=dict(
        num_classes=2,
        ann_file=f'{data_root}/sthv2_val_list_videos.txt',
        data_prefix=dict(video=f'{data_root}/videos')))

train_cfg = dict(max_epochs=20, val_interval=1)
optim_wrapper = dict(
    optimizer=dict(
        _delete_=True, type='SGD', lr=0.1, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=2,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=18,
        eta_min=0.,
        by_epoch=True,
        begin=2,
        end=20,
        convert_to_iter_based=True)
]
