# VPT-deep baseline (Jia et al., arXiv 2203.12119), SVHN: the backbone, head,
# data and schedule of baselines/full-finetune_vitb_svhn.py, with a learnable
# prompt inserted after the class token (as the official code does) at every
# block and dropped after it. The prompts and the BN+Linear head train.
# num_prompts=1 is the official AdaptFormer code's default (--vpt_num); raise
# it to compare more tokens.
#   tools/dist_train.sh configs/baselines/vpt-deep_vitb_svhn.py 8
_base_ = ['./full-finetune_vitb_svhn.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='VPT',
        backbone={{_base_.model.backbone}},
        num_prompts=1,
        deep=True))

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='linear_probe',
        extra_trainable=[r'prompt_embeddings'],
        adapter_only_checkpoint=True)
]
