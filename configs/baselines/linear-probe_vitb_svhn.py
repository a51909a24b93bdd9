# Linear-probe baseline, SVHN: the backbone, head, data and schedule of
# baselines/full-finetune_vitb_svhn.py; only the BN+Linear head train
# (AdapterHook, mode='linear_probe').
#   tools/dist_train.sh configs/baselines/linear-probe_vitb_svhn.py 8
_base_ = ['./full-finetune_vitb_svhn.py']

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='linear_probe',
        extra_trainable=[],
        adapter_only_checkpoint=True)
]
