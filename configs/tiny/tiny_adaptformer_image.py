# AdaptFormer on the tiny CPU image config, as the image recipes
# (configs/adaptformer_vitb_cifar100.py) wrap ViT-B: the stock mmpretrain
# ViT of `tiny_vit_image.py` with a parallel AdaptMLP (scale 0.1, no norm)
# beside every block's FFN, the recipes' BatchNorm+Linear head, and the
# AdapterHook (frozen backbone, adapter-only checkpoints). Give the backbone
# the adapters run on with `--pretrained PATH` (e.g. a checkpoint of
# tiny_vit_image.py) in tools/train.py, tools/test.py and tools/infer.py;
# adapter-only checkpoints only load on the backbone they were trained on.
_base_ = ['./tiny_vit_image.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        # tiny_vit_*.py's ViT, without its own init: the weights come
        # with --pretrained. (`{{_base_.model.backbone}}` could not add
        # init_cfg: MMEngine puts the base value in after this file runs.)
        backbone=dict(_base_.model.backbone, init_cfg=None),
        # No dropout (the recipe's is 0.1), as tiny_adaptformer_video.py:
        # a few steps on a few images have nothing to regularise.
        adapter=dict(bottleneck=8, scale=0.1, dropout=0., norm=None),
        placement='parallel'),
    head=dict(type='BNLinearHead', topk=(1, )))

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='adaptformer',
        extra_trainable=[],
        adapter_only_checkpoint=True)
]
