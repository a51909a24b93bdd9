# AdaptFormer-64 (arXiv 2205.13535), Something-Something v2, the official
# recipe: the backbone, head, data and schedule of
# baselines/full-finetune_vitb_ssv2.py, with an AdaptMLP (bottleneck 64, scale
# 0.1, dropout 0.) parallel to every block's MLP. 8 GPUs x 16 clips = 128 per
# step (lr 0.05; auto_scale_lr rescales it to your batch: 0.1 x batch / 256),
# 90 epochs.
#   tools/dist_train.sh configs/adaptformer_vitb_ssv2.py 8
# Trainable: the adapters and the BN+Linear head and fc_norm (AdapterHook);
# checkpoints hold only those (a few MB) and load on the pretrained backbone.
# Paper top-1 (ViT-B, AdaptFormer-64): 59.02.
_base_ = ['./baselines/full-finetune_vitb_ssv2.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='AdaptFormer',
        backbone={{_base_.model.backbone}},
        # The official video model's _init_weights runs over the adapters
        # after they are built: truncated-normal weights (std 0.02), zero
        # biases, not the zero up-projection ('lora') it asks for.
        adapter=dict(
            bottleneck=64,
            scale=0.1,
            dropout=0.,
            norm=None,
            init='trunc_normal'),
        placement='parallel'))

custom_hooks = [
    dict(
        type='AdapterHook',
        mode='adaptformer',
        extra_trainable=[r'^backbone\.fc_norm\.'],
        adapter_only_checkpoint=True)
]
