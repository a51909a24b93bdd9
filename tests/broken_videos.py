# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Names of the broken video kinds and small helpers of the dataset tests."""
import os.path as osp
from typing import Dict, List

# Kinds of broken files, by the name they get in the video folder.
BROKEN = {
    'text': 'text.avi',  # a text file renamed .avi
    'trunc_webm': 'trunc.webm',  # the first 30% of a real webm
    'trunc_avi': 'trunc.avi',  # the first 30% of a real avi
    'empty': 'empty.mp4',  # zero bytes
    'zero_frames': 'zero_frames.avi',  # a valid container without frames
}


def write_list(path, lines: List[str]) -> str:
    """Write an annotation list, one line each."""
    with open(path, 'w') as f:
        f.write(''.join(f'{line}\n' for line in lines))
    return str(path)


def video_path(files: Dict[str, str], name: str) -> str:
    """The full path of a video of ``files``."""
    return osp.join(files['videos'], name)
