# Copyright (c) mmadaptformer contributors. All rights reserved.
from .task_streams import MultiTaskAdaptMLP, TaskRoutedModule, TaskStreams

__all__ = ['MultiTaskAdaptMLP', 'TaskRoutedModule', 'TaskStreams']
