# Full fine-tuning baseline, Food-101: the MAE ViT-B/16 (IN-1k self-supervised)
# with every parameter training (the official code's --fulltune), with the
# AdaptFormer recipe's head, data and schedule: 8 GPUs x 128 images = 1024 per
# step (lr 0.4 = 0.1 x 1024 / 256; auto_scale_lr rescales it to your batch),
# 100 epochs. Checkpoints hold the whole model. It is also the base of the
# AdaptFormer, linear-probe and VPT configs of this task.
#   tools/dist_train.sh configs/baselines/full-finetune_vitb_food101.py 8
_base_ = [
    '../_base_/models/mae_vit-b_224.py', '../_base_/datasets/food101_224.py',
    '../_base_/schedules/sgd_linprobe_100e_image.py',
    '../_base_/default_runtime_image.py'
]

custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)

model = dict(
    head=dict(num_classes=101), data_preprocessor=dict(num_classes=101))
