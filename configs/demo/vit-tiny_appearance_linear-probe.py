# Stage 2 of the CPU transfer study, linear probe: the frozen stage-1
# backbone; only fc_norm and the BN+Linear head train. Same data, schedule
# and budget as vit-tiny_appearance_full-finetune.py. Head-only checkpoints.
# The study passes the stage-1 checkpoint with --pretrained PATH.
_base_ = ['./vit-tiny_appearance_full-finetune.py']

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='linear_probe',
        extra_trainable=[r'^backbone\.fc_norm\.'],
        adapter_only_checkpoint=True)
]
