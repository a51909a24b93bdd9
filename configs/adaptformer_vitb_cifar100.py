# AdaptFormer-64 (arXiv 2205.13535), CIFAR-100, the official recipe: the
# backbone, head, data and schedule of
# baselines/full-finetune_vitb_cifar100.py, with an AdaptMLP (bottleneck 64,
# scale 0.1, dropout 0.1) parallel to every block's MLP. 8 GPUs x 128 images =
# 1024 per step (lr 0.4; auto_scale_lr rescales it to your batch: 0.1 x batch /
# 256), 100 epochs.
#   tools/dist_train.sh configs/adaptformer_vitb_cifar100.py 8
# Trainable: the adapters and the BN+Linear head (AdapterHook); checkpoints
# hold only those (a few MB) and load on the pretrained backbone. Paper top-1
# (ViT-B, AdaptFormer-64): 85.90.
_base_ = ['./baselines/full-finetune_vitb_cifar100.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        backbone={{_base_.model.backbone}},
        adapter=dict(bottleneck=64, scale=0.1, dropout=0.1, norm=None),
        placement='parallel'))

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='adaptformer',
        extra_trainable=[],
        adapter_only_checkpoint=True)
]
