# VPT-deep on the tiny CPU video config, as configs/baselines/vpt-deep_*
# wrap ViT-B: the stock VideoMAE-style ViT of `tiny_vit_video.py` with
# learnable prompts inserted before every block (at the front: VideoMAE has
# no class token) and dropped after it, the recipes' BatchNorm+Linear head,
# and the AdapterHook (frozen backbone; the prompts, fc_norm and head train;
# prompt-only checkpoints). Give the backbone the prompts run on with
# `--pretrained PATH` (e.g. a checkpoint of tiny_vit_video.py).
_base_ = ['./tiny_vit_video.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='VPT',
        # tiny_vit_*.py's ViT, without its own init: the weights come
        # with --pretrained. (`{{_base_.model.backbone}}` could not add
        # init_cfg: MMEngine puts the base value in after this file runs.)
        backbone=dict(_base_.model.backbone, init_cfg=None),
        num_prompts=2,
        deep=True),
    cls_head=dict(type='BNLinearHead', init_std=0.01))

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='linear_probe',
        extra_trainable=[r'prompt_embeddings', r'^backbone\.fc_norm\.'],
        adapter_only_checkpoint=True)
]
