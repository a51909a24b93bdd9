# Copyright (c) mmadaptformer contributors. All rights reserved.
from .images import make_stripes_dataset
from .rawframes import make_moving_square_rawframes
from .videos import make_moving_square_dataset, write_video

__all__ = [
    'make_moving_square_dataset', 'make_moving_square_rawframes',
    'make_stripes_dataset', 'write_video'
]
