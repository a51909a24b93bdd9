# Full fine-tuning baseline, Something-Something v2: the VideoMAE ViT-B/16
# (K400 self-supervised) with every parameter training (the official code's
# --fulltune), with the AdaptFormer recipe's head, data and schedule: 8 GPUs x
# 16 clips = 128 clips per step (lr 0.05 = 0.1 x 128 / 256; auto_scale_lr
# rescales it to your batch), 90 epochs. Checkpoints hold the whole model. It
# is also the base of the AdaptFormer, linear-probe and VPT configs of this
# task. Paper top-1 (ViT-B, full fine-tuning): 53.97.
#   tools/dist_train.sh configs/baselines/full-finetune_vitb_ssv2.py 8
_base_ = [
    '../_base_/models/videomae_vit-b_8x224.py',
    '../_base_/datasets/ssv2_8x4_linprobe.py',
    '../_base_/schedules/sgd_linprobe_90e_video.py',
    'mmaction::_base_/default_runtime.py'
]

custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)

model = dict(cls_head=dict(num_classes=174))

default_hooks = dict(
    checkpoint=dict(interval=5, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=50),
    # Average the BN head's running statistics over the ranks after every
    # epoch, so that all ranks and checkpoints agree. (mmaction's default
    # SyncBuffersHook would also average the frozen backbone's buffers.)
    sync_buffers=dict(type='SyncNormStatsHook'),
    # Stop at the first NaN/inf loss; refuse a checkpoint of another
    # architecture and a head whose num_classes differs from the data's.
    non_finite_loss=dict(type='NonFiniteLossHook'),
    checkpoint_check=dict(type='CheckpointCheckHook'),
    config_check=dict(type='ConfigCheckHook'),
    # Log how many broken videos training skipped each epoch, and which.
    data_health=dict(type='DataHealthHook'))
