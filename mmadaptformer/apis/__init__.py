# Copyright (c) mmadaptformer contributors. All rights reserved.
from mmadaptformer.datasets.label_map import LabelMapError
from .adapter_checkpoint_check import check_adapter_checkpoint
from .array_inputs import input_name, named_results
from .config_read import api_order, load_config
from .infer_files import (IMAGE_EXTENSIONS, LIST_EXTENSIONS, VIDEO_EXTENSIONS,
                          InferenceInputError, OtherKindInputError,
                          collect_inputs)
from .input_lists import read_input_list
from .inputs import (RESERVED_NAME, TestInputs, format_scores, progress_bar,
                     toolbox_of)
from .model_inferencer import ModelInferencer
from .model_init import init_model
from .multitask import MultiTaskRecognizer, TaskError, TaskLoadError
from .multitask_tasks import check_task_name
from .pretrained_load import PretrainedLoadError
from .score_classes import class_names
from .shared_backbone import TaskLabelMapError
from .short_inputs import clip_span, short_video_inputs
from .test_pipeline import build_test_pipeline, test_pipeline_cfg
from .visualize import draw_and_report, draw_results

__all__ = [
    'IMAGE_EXTENSIONS', 'LIST_EXTENSIONS', 'RESERVED_NAME', 'VIDEO_EXTENSIONS',
    'InferenceInputError', 'LabelMapError', 'ModelInferencer',
    'MultiTaskRecognizer', 'api_order', 'OtherKindInputError',
    'PretrainedLoadError', 'TaskError', 'TaskLabelMapError', 'TaskLoadError',
    'TestInputs', 'build_test_pipeline', 'check_adapter_checkpoint',
    'check_task_name', 'class_names', 'clip_span', 'collect_inputs',
    'draw_and_report', 'draw_results', 'format_scores', 'init_model',
    'input_name', 'load_config', 'named_results', 'progress_bar',
    'read_input_list', 'short_video_inputs', 'test_pipeline_cfg', 'toolbox_of'
]
