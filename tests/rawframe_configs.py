# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A training config of one mmaction2 RawframeDataset, for list checks."""
from mmengine.config import Config


def rawframe_train_cfg(ann_file, img_root, **dataset) -> Config:
    """``train_dataloader`` of a ``RawframeDataset`` reading ``ann_file``
    over the frame folders in ``img_root`` (``img_{:05}.jpg``), with 4
    frames sampled and decoded; ``dataset`` adds or replaces arguments."""
    return Config(
        dict(
            default_scope='mmaction',
            train_dataloader=dict(
                batch_size=1,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=dict(
                    dict(
                        type='RawframeDataset',
                        ann_file=str(ann_file),
                        data_prefix=dict(img=str(img_root)),
                        filename_tmpl='img_{:05}.jpg',
                        pipeline=[
                            dict(type='SampleFrames', clip_len=4, num_clips=1),
                            dict(type='RawFrameDecode'),
                        ]), **dataset))))
