# Copyright (c) mmadaptformer contributors. All rights reserved.
from .inference import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS,
                        InferenceInputError, ModelInferencer, TestInputs,
                        check_adapter_checkpoint, class_names, collect_inputs,
                        format_scores, init_model, progress_bar,
                        test_pipeline_cfg, toolbox_of)
from .multitask import MultiTaskRecognizer, TaskError

__all__ = [
    'IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'InferenceInputError',
    'ModelInferencer', 'MultiTaskRecognizer', 'TaskError', 'TestInputs',
    'check_adapter_checkpoint', 'class_names', 'collect_inputs',
    'format_scores', 'init_model', 'progress_bar', 'test_pipeline_cfg',
    'toolbox_of'
]
