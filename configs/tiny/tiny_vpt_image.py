# VPT-shallow on the tiny CPU image config: the stock mmpretrain ViT of
# `tiny_vit_image.py` with learnable prompts inserted after the class token
# before the first block and carried through the others, the recipes'
# BatchNorm+Linear head, and the AdapterHook (frozen backbone; the prompts
# and the head train; prompt-only checkpoints). Give the backbone the
# prompts run on with `--pretrained PATH` (e.g. a checkpoint of
# tiny_vit_image.py).
_base_ = ['./tiny_vit_image.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='VPT',
        # tiny_vit_*.py's ViT, without its own init: the weights come
        # with --pretrained. (`{{_base_.model.backbone}}` could not add
        # init_cfg: MMEngine puts the base value in after this file runs.)
        backbone=dict(_base_.model.backbone, init_cfg=None),
        num_prompts=2,
        deep=False),
    head=dict(type='BNLinearHead', topk=(1, )))

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='linear_probe',
        extra_trainable=[r'prompt_embeddings'],
        adapter_only_checkpoint=True)
]
