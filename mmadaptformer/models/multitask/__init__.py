# Copyright (c) mmadaptformer contributors. All rights reserved.
from .meta_build import parameters_on_meta
from .split_points import STEM, holds_block, split_point_of
from .task_streams import (MultiTaskAdaptMLP, TaskModules, TaskRoutedModule,
                           TaskStreams)

__all__ = [
    'MultiTaskAdaptMLP', 'STEM', 'TaskModules', 'TaskRoutedModule',
    'TaskStreams', 'holds_block', 'parameters_on_meta', 'split_point_of'
]
