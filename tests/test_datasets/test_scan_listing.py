# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The WARNINGs of the test-mode scan name at most ``max_listed`` videos,
then how many more, in the words of the build-time checks' errors.

Guard of kept behaviour: the scan wrote its own two copies of the listing
(``SOURCE: FILE: WHY`` lines and ``... and N more``) beside the one of
``listed_files``; they are now that one."""
from broken_videos import BROKEN, video_path, write_list
from checked_videos import build_checked, dataset_warnings, tiny_pipeline


def test_skip_broken_names_max_listed_videos_then_the_count(
        tmp_path, video_files, log_records):
    good = video_files['good']
    broken = [BROKEN['text'], BROKEN['empty'], BROKEN['trunc_avi']]
    ann = write_list(tmp_path / 'val.txt',
                     [f'{n} 1' for n in broken] + [f'{n} 0' for n in good])
    dataset = build_checked(
        ann,
        video_files,
        pipeline=tiny_pipeline('val_pipeline'),
        test_mode=True,
        skip_broken=True,
        max_listed=1)
    assert len(dataset) == len(good)
    warnings = dataset_warnings(log_records)
    assert len(warnings) == 1
    lines = warnings[0].split('\n')
    assert lines[0] == (
        f'CheckedVideoDataset: skip_broken=True dropped 3 of 7 videos of '
        f'{ann}; evaluation uses 4:')
    assert lines[1].startswith(
        f'  {ann}:1: {video_path(video_files, BROKEN["text"])}: ')
    assert lines[2:] == ['  ... and 2 more']


def test_short_skip_names_max_listed_videos_then_the_count(
        tmp_path, video_files, log_records):
    short = video_path(video_files, video_files['short'])
    ann = write_list(tmp_path / 'val.txt', [f'{video_files["short"]} 1'] * 3 +
                     [f'{n} 0' for n in video_files['good']])
    build_checked(
        ann,
        video_files,
        pipeline=tiny_pipeline('val_pipeline'),
        test_mode=True,
        short_videos='skip',
        max_listed=2)
    warnings = dataset_warnings(log_records)
    assert warnings == [
        f"CheckedVideoDataset: short_videos='skip' dropped 3 of 7 videos of "
        f'{ann}, shorter than a clip (min_frames=10); evaluation uses 4:\n'
        f'  {ann}:1: {short}: 1 frames\n  {ann}:2: {short}: 1 frames\n'
        '  ... and 1 more'
    ]
