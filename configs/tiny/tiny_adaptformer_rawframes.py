# AdaptFormer on the tiny CPU video config (`tiny_adaptformer_video.py`),
# reading extracted frames instead of video files: mmaction2's
# RawframeDataset (lines `<frame_dir> <total_frames> <label>`, frames
# `img_00001.jpg` on in `rawframes/<frame_dir>/`) and RawFrameDecode in
# place of DecordInit/DecordDecode, as mmaction2's own rawframe configs do.
# Same tiny model, clips and sizes. Point `data_root` at a folder with
# `rawframes/`, `train.txt` and `val.txt`; give the backbone the adapters
# run on with `--pretrained PATH`, as for `tiny_adaptformer_video.py`.
_base_ = ['./tiny_adaptformer_video.py']

dataset_type = 'RawframeDataset'
data_root = 'data/tiny_rawframes'
train_pipeline = [
    dict(type='SampleFrames', clip_len=4, frame_interval=3, num_clips=1),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(
        type='SampleFrames',
        clip_len=4,
        frame_interval=3,
        num_clips=1,
        test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
# Multi-view testing: 2 temporal clips x 3 spatial crops, scores averaged.
test_pipeline = [
    dict(
        type='SampleFrames',
        clip_len=4,
        frame_interval=3,
        num_clips=2,
        test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='ThreeCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        ann_file=f'{data_root}/train.txt',
        pipeline=train_pipeline,
        data_prefix=dict(img=f'{data_root}/rawframes'),
        filename_tmpl='img_{:05}.jpg',
        num_classes=_base_.num_classes))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        ann_file=f'{data_root}/val.txt',
        pipeline=val_pipeline,
        test_mode=True,
        data_prefix=dict(img=f'{data_root}/rawframes'),
        filename_tmpl='img_{:05}.jpg',
        num_classes=_base_.num_classes))
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        ann_file=f'{data_root}/val.txt',
        pipeline=test_pipeline,
        test_mode=True,
        data_prefix=dict(img=f'{data_root}/rawframes'),
        filename_tmpl='img_{:05}.jpg',
        num_classes=_base_.num_classes))
