# Full fine-tuning baseline, Food-101: the MAE ViT-B/16 (IN-1k self-supervised)
# with every parameter training (the official code's --fulltune), with the
# AdaptFormer recipe's head, data and schedule: 8 GPUs x 128 images = 1024 per
# step (lr 0.4 = 0.1 x 1024 / 256; auto_scale_lr rescales it to your batch),
# 100 epochs. Checkpoints hold the whole model. It is also the base of the
# AdaptFormer, linear-probe and VPT configs of this task.
#   tools/dist_train.sh configs/baselines/full-finetune_vitb_food101.py 8
_base_ = [
    '../_base_/models/mae_vit-b_224.py',
    '../_base_/datasets/food101_224.py',
    '../_base_/schedules/sgd_linprobe_100e_image.py',
    'mmpretrain::_base_/default_runtime.py'
]

custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)

model = dict(
    head=dict(num_classes=101),
    data_preprocessor=dict(num_classes=101))

default_hooks = dict(
    checkpoint=dict(interval=5, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=50),
    # Average the BN head's running statistics over the ranks after every
    # epoch, so that all ranks and checkpoints agree.
    sync_buffers=dict(type='SyncNormStatsHook'),
    # Stop at the first NaN/inf loss; refuse a checkpoint of another
    # architecture and a head whose num_classes differs from the data's.
    non_finite_loss=dict(type='NonFiniteLossHook'),
    checkpoint_check=dict(type='CheckpointCheckHook'),
    config_check=dict(type='ConfigCheckHook'))
