# The minimal diff that turns a stock MMAction2 config into AdaptFormer:
# inherit it, import this package, wrap the backbone, add the hook.
_base_ = [
    'mmaction::recognition/videomae/'
    'vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.py'
]
custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        backbone={{_base_.model.backbone}},
        adapter=dict(bottleneck=64, scale=0.1)))
custom_hooks = [dict(type='AdapterHook', adapter_only_checkpoint=True)]
