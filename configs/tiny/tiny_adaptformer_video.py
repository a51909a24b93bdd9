# AdaptFormer on the tiny CPU video config: the stock VideoMAE-style ViT of
# `tiny_vit_video.py` wrapped with AdaptMLPs, the recipes' BatchNorm+Linear
# head, and the AdapterHook (frozen backbone, adapter-only checkpoints).
# Give the backbone the adapters run on with `--pretrained PATH` (e.g. a
# checkpoint of tiny_vit_video.py) in tools/train.py and tools/test.py;
# adapter-only checkpoints only load on the backbone they were trained on.
_base_ = ['./tiny_vit_video.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        # tiny_vit_*.py's ViT, without its own init: the weights come
        # with --pretrained. (`{{_base_.model.backbone}}` could not add
        # init_cfg: MMEngine puts the base value in after this file runs.)
        backbone=dict(_base_.model.backbone, init_cfg=None),
        adapter=dict(bottleneck=8, scale=0.1, dropout=0.)),
    cls_head=dict(type='BNLinearHead', init_std=0.01))

custom_hooks = [
    dict(
        type='AdapterHook',
        extra_trainable=[r'^backbone\.fc_norm\.'],
        adapter_only_checkpoint=True)
]
