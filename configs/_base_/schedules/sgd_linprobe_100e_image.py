# The official AdaptFormer image schedule: SGD (momentum 0.9, no weight
# decay), lr = 0.1 x total batch / 256, 100 epochs with 20 linear warm-up
# epochs then cosine to 0, updated every iteration, mixed precision, no
# gradient clipping. With auto_scale_lr enabled, MMEngine rescales the lr
# linearly to the batch a new run actually runs, which is the same rule
# (a --resume goes on at the checkpoint's lr, and warns on another number
# of GPUs).
# Mixed precision through mmadaptformer's AdaptAmpOptimWrapper: float16
# with dynamic loss scaling on a GPU, as MMEngine's AmpOptimWrapper, in
# torch 2's spelling and with mmaction2's heads taking bfloat16 scores
# (optim_wrapper.dtype=bfloat16). It refuses a CPU unless tools/train.py
# --amp (optim_wrapper.cpu_bf16=True) asks for bfloat16 autocast there.
optim_wrapper = dict(
    type='AdaptAmpOptimWrapper',
    optimizer=dict(type='SGD', lr=0.4, momentum=0.9, weight_decay=0.),
    clip_grad=None)
param_scheduler = [
    # The official warm-up starts at 0; LinearLR needs a factor > 0.
    dict(
        type='LinearLR',
        start_factor=1e-4,
        end_factor=1.0,
        by_epoch=True,
        begin=0,
        end=20,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=80,
        eta_min=0.,
        by_epoch=True,
        begin=20,
        end=100,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=5)
val_cfg = dict()
test_cfg = dict()
# lr 0.4 is 0.1 x 1024 / 256: 8 GPUs x 128 images.
auto_scale_lr = dict(enable=True, base_batch_size=1024)
