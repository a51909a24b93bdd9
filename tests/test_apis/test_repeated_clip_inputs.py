# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A clip folder given twice is classified once, and the warning names it,
as the one for files given twice does."""
import pytest

from mmadaptformer.apis.folder_readers import FolderReaders
from mmadaptformer.apis.frame_folders import FrameFolders
from mmadaptformer.apis.infer_files import VIDEO_EXTENSIONS


@pytest.mark.parametrize('readers', ['frames', 'frames and videos'])
def test_a_clip_given_twice_is_named_in_the_warning(tmp_path, log_records,
                                                    readers):
    clip = tmp_path / 'clips' / 'a'
    clip.mkdir(parents=True)
    for i in range(1, 4):
        (clip / f'img_{i:05}.jpg').write_bytes(b'')
    (tmp_path / 'clips' / 'b.mp4').write_bytes(b'')
    naming = FrameFolders()
    if readers == 'frames':
        collect = naming.collect
        expected = [str(clip)]
    else:
        collect = FolderReaders([naming], VIDEO_EXTENSIONS).collect
        expected = [str(clip), str(tmp_path / 'clips' / 'b.mp4')]
    assert collect([str(tmp_path / 'clips'), str(clip)]) == expected
    assert (f'inputs: 1 clip folder or file was given more than once '
            f'(e.g. {clip}); each is classified once.') in [
                r.getMessage() for r in log_records
            ]
