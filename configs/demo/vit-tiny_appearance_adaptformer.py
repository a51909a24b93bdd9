# Stage 2 of the CPU transfer study, AdaptFormer: the frozen stage-1 backbone
# with an AdaptMLP (bottleneck 8) parallel to every block's MLP; only the
# adapters, fc_norm and the BN+Linear head train. Same data, schedule and
# budget as vit-tiny_appearance_full-finetune.py. Adapter-only checkpoints.
# The scale is 0.5 rather than the paper's 0.1: in 20 short epochs the
# zero-initialised adapters move too little at 0.1 (measured in the README's
# study: 73-79% top-1 at 0.1, level with the linear probe).
# The study passes the stage-1 checkpoint with --pretrained PATH.
_base_ = ['./vit-tiny_appearance_full-finetune.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        backbone={{_base_.model.backbone}},
        adapter=dict(bottleneck=8, scale=0.5, dropout=0.)))

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='adaptformer',
        extra_trainable=[r'^backbone\.fc_norm\.'],
        adapter_only_checkpoint=True)
]
