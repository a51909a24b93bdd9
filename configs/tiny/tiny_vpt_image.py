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
        backbone=dict(
            type='VisionTransformer',
            arch=dict(
                embed_dims=64,
                num_layers=2,
                num_heads=2,
                feedforward_channels=128),
            img_size=32,
            patch_size=16,
            out_type='cls_token',
            init_cfg=None),
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
