# The minimal diff that turns a stock MMPretrain config into AdaptFormer:
# inherit it, import this package, wrap the backbone, add the hook.
# The frozen backbone needs pretrained weights (the stock config has none,
# and AdapterHook refuses to train adapters on a random one), e.g. a
# converted MAE checkpoint (README, "Converting the official checkpoints"):
#   tools/dist_train.sh configs/examples/adaptformer_vit-b_in1k.py 8 \
#       --pretrained checkpoints/mae_vit-b_in1k-pretrain.pth
# The stock head (VisionTransformerClsHead with a 3072-wide hidden layer,
# 5.4 M parameters) trains with the adapters (1.2 M): 7.2% of the model,
# not the recipes' under 2%, whose head is a BatchNorm and one Linear.
_base_ = ['mmpretrain::vision_transformer/vit-base-p16_64xb64_in1k.py']
custom_imports = dict(imports=['mmadaptformer'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        backbone={{_base_.model.backbone}},
        adapter=dict(bottleneck=64, scale=0.1)))
custom_hooks = [dict(type='AdapterHook', adapter_only_checkpoint=True)]
# The recipes' checks: a NaN or inf loss stops the run, a checkpoint of
# another architecture is refused instead of part-loaded, the head's
# num_classes must be the data's, and a resume must be able to continue
# the run.
default_hooks = dict(
    non_finite_loss=dict(type='NonFiniteLossHook'),
    checkpoint_check=dict(type='CheckpointCheckHook'),
    config_check=dict(type='ConfigCheckHook'),
    resume_check=dict(type='ResumeCheckHook'))
