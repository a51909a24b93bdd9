# Linear-probe baseline, Something-Something v2: the backbone, head, data and
# schedule of baselines/full-finetune_vitb_ssv2.py; only the BN+Linear head and
# fc_norm train (AdapterHook, mode='linear_probe'). Paper top-1 (ViT-B, linear
# probe): 29.23.
#   tools/dist_train.sh configs/baselines/linear-probe_vitb_ssv2.py 8
_base_ = ['./full-finetune_vitb_ssv2.py']

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='linear_probe',
        extra_trainable=[r'^backbone\.fc_norm\.'],
        adapter_only_checkpoint=True)
]
