# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint trained with adapters in some blocks only (``layers``):
the blocks without one are not reported as missing keys.

Guard of kept behaviour (mutation audit of 2026-12-05): the code
passes; the plausible bug named above fails it."""
from test_converters import (BOTTLENECK, CLASSES, DIMS, FRAMES, IMG, build,
                             convert_state_dict, official_video,
                             video_backbone_cfg)


def test_adapters_in_some_blocks_are_no_gap():
    """``blocks.0`` has no ``adaptmlp`` (the model was trained with
    ``layers=[1]``): nothing is missing, the note says ``layers=[1]``, and
    the result loads into an AdaptFormer built with it."""
    sd = official_video(seed=3)
    for key in [k for k in sd if k.startswith('blocks.0.adaptmlp.')]:
        del sd[key]
    result = convert_state_dict(sd, img_size=IMG, num_frames=FRAMES)
    assert result.missing == []
    assert not result.unmapped
    assert any('layers=[1]' in note for note in result.notes), result.notes
    model = build(
        'mmaction',
        dict(
            type='Recognizer3D',
            backbone=dict(
                type='AdaptFormer',
                backbone=video_backbone_cfg(),
                adapter=dict(bottleneck=BOTTLENECK),
                layers=[1]),
            cls_head=dict(
                type='BNLinearHead', num_classes=CLASSES, in_channels=DIMS)))
    model.load_state_dict(result.state_dict, strict=True)
