# Copyright (c) mmadaptformer contributors. All rights reserved.
from .images import make_stripes_dataset
from .videos import make_moving_square_dataset, write_video

__all__ = ['make_moving_square_dataset', 'make_stripes_dataset', 'write_video']
