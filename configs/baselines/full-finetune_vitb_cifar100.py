# Full fine-tuning baseline, CIFAR-100: the MAE ViT-B/16 (IN-1k self-
# supervised) with every parameter training (the official code's --fulltune),
# with the AdaptFormer recipe's head, data and schedule: 8 GPUs x 128 images =
# 1024 per step (lr 0.4 = 0.1 x 1024 / 256; auto_scale_lr rescales it to your
# batch), 100 epochs. Checkpoints hold the whole model. It is also the base of
# the AdaptFormer, linear-probe and VPT configs of this task.
#   tools/dist_train.sh configs/baselines/full-finetune_vitb_cifar100.py 8
_base_ = [
    '../_base_/models/mae_vit-b_224.py', '../_base_/datasets/cifar100_224.py',
    '../_base_/schedules/sgd_linprobe_100e_image.py',
    '../_base_/default_runtime_image.py'
]

custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)

# mmpretrain's CIFAR100 gives the images as RGB arrays (no
# LoadImageFromFile, which reads BGR): no channel swap before the RGB
# ImageNet mean and std, as in the official code's torchvision pipeline.
model = dict(
    head=dict(num_classes=100),
    data_preprocessor=dict(num_classes=100, to_rgb=False))
