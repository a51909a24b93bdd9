# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A file given twice is classified once, whatever the spelling of its
path (``./a.mp4`` beside ``a.mp4``, an absolute path, a ``..`` or linked
folder), as the README says; it was classified once per spelling. A link's
own name stays an input of its own."""
import os
import os.path as osp

from checkpoint_makers import save_stock_video_checkpoint
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer.apis import ModelInferencer, collect_inputs


def test_each_spelling_of_a_file_is_one_input(tmp_path, monkeypatch,
                                              log_records):
    from mmadaptformer.testing import make_moving_square_dataset
    data = make_moving_square_dataset(
        str(tmp_path / 'tiny'), num_per_class=1, splits=('val', ))
    os.symlink(data['videos'], str(tmp_path / 'linked'))
    os.symlink(
        osp.join(data['videos'], 'val_1_0.mp4'),
        osp.join(data['videos'], 'alias.mp4'))
    monkeypatch.chdir(tmp_path)
    first = 'tiny/videos/val_0_0.mp4'
    spellings = [
        first, './tiny/videos/val_0_0.mp4',
        osp.join(str(tmp_path), first), 'tiny/videos/../videos/val_0_0.mp4',
        'linked/val_0_0.mp4'
    ]
    assert collect_inputs(spellings) == [first]
    # A folder given after a file in it, under another spelling, adds the
    # others; the link's own name is kept.
    assert collect_inputs([first, './tiny/videos/']) == [
        first, './tiny/videos/alias.mp4', './tiny/videos/val_1_0.mp4'
    ]

    checkpoint = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    inferencer = ModelInferencer(TINY_VIDEO_CONFIG, checkpoint)
    results = inferencer(spellings + ['tiny/videos/alias.mp4'])
    assert list(results) == [first, 'tiny/videos/alias.mp4']
    assert any(
        'inputs: 4 files were given more than once (e.g. '
        './tiny/videos/val_0_0.mp4, the same file as '
        'tiny/videos/val_0_0.mp4); each is classified once.' in r.getMessage()
        for r in log_records), [r.getMessage() for r in log_records]
