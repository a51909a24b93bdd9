# Full fine-tuning baseline, HMDB51 split 1: the VideoMAE ViT-B/16 (K400 self-
# supervised) with every parameter training (the official code's --fulltune),
# with the AdaptFormer recipe's head, data and schedule: 8 GPUs x 16 clips =
# 128 clips per step (lr 0.05 = 0.1 x 128 / 256; auto_scale_lr rescales it to
# your batch), 90 epochs. Checkpoints hold the whole model. It is also the base
# of the AdaptFormer, linear-probe and VPT configs of this task. Paper top-1
# (ViT-B, full fine-tuning): 46.41.
#   tools/dist_train.sh configs/baselines/full-finetune_vitb_hmdb51.py 8
_base_ = [
    '../_base_/models/videomae_vit-b_8x224.py',
    '../_base_/datasets/hmdb51_8x4_linprobe.py',
    '../_base_/schedules/sgd_linprobe_90e_video.py',
    '../_base_/default_runtime_video.py'
]

custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)

model = dict(cls_head=dict(num_classes=51))
