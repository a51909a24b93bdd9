# The VideoMAE ViT-B/16 of mmaction2 (8 frames, tubelet 2, 224x224, mean
# pooling + fc_norm) with the MAE/MoCo-v3 linear-probe head
# (BatchNorm1d(affine=False) + Linear, std 0.01), as in AdaptFormer's video
# recipe. The backbone starts from the self-supervised VideoMAE K400
# pre-training checkpoint (not a fine-tuned model), converted with
#   python tools/model_converters/convert_official.py \
#       PRETRAIN.pth checkpoints/videomae_vit-b_k400-pretrain_8x224.pth \
#       --type videomae --num-frames 8 --img-size 224
# Point the configs at your converted file with `--pretrained PATH` in
# tools/train.py and tools/test.py (any config; the prefix is detected).
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='VisionTransformer',
        img_size=224,
        patch_size=16,
        embed_dims=768,
        depth=12,
        num_heads=12,
        mlp_ratio=4,
        qkv_bias=True,
        num_frames=8,
        tubelet_size=2,
        drop_path_rate=0.,
        use_mean_pooling=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/videomae_vit-b_k400-pretrain_8x224.pth',
            prefix='backbone.')),
    cls_head=dict(
        type='BNLinearHead',
        num_classes=174,
        in_channels=768,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
