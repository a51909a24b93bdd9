# The ViT-B/16 of mmpretrain classifying from the cls token after the final
# norm, with the MAE/MoCo-v3 linear-probe head (BatchNorm1d(affine=False) +
# Linear, std 0.01), as in AdaptFormer's image recipe. The backbone starts
# from the MAE ViT-B/16 ImageNet-1k self-supervised checkpoint, converted with
#   python tools/model_converters/convert_official.py \
#       mae_pretrain_vit_base.pth checkpoints/mae_vit-b_in1k-pretrain.pth \
#       --type mae --final-norm keep
# Point the configs at your converted file with `--pretrained PATH` in
# tools/train.py and tools/test.py (any config; the prefix is detected).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='b',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.,
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/mae_vit-b_in1k-pretrain.pth',
            prefix='backbone.')),
    neck=None,
    head=dict(
        type='BNLinearHead',
        num_classes=100,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),
    data_preprocessor=dict(
        num_classes=100,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))
