# The official AdaptFormer video schedule: SGD (momentum 0.9, no weight
# decay), lr = 0.1 x total batch / 256, 90 epochs with 10 linear warm-up
# epochs then cosine to 0, updated every iteration, mixed precision, no
# gradient clipping. The configs that inherit this set the total batch size;
# with auto_scale_lr enabled, MMEngine rescales the lr linearly to the batch
# a new run actually runs, which is the same rule (a --resume goes on at
# the checkpoint's lr, and warns on another number of GPUs).
# Mixed precision through mmadaptformer's AdaptAmpOptimWrapper: float16
# with dynamic loss scaling on a GPU, as MMEngine's AmpOptimWrapper, in
# torch 2's spelling and with mmaction2's heads taking bfloat16 scores
# (optim_wrapper.dtype=bfloat16). It refuses a CPU unless tools/train.py
# --amp (optim_wrapper.cpu_bf16=True) asks for bfloat16 autocast there.
optim_wrapper = dict(
    type='AdaptAmpOptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.),
    clip_grad=None)
param_scheduler = [
    # The official warm-up starts at 0; LinearLR needs a factor > 0.
    dict(
        type='LinearLR',
        start_factor=1e-4,
        end_factor=1.0,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=80,
        eta_min=0.,
        by_epoch=True,
        begin=10,
        end=90,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=90, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# lr 0.05 is 0.1 x 128 / 256: 8 GPUs x 16 clips.
auto_scale_lr = dict(enable=True, base_batch_size=128)
