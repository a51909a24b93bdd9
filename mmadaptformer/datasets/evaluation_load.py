# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Load a validation or test sample (``test_mode=True``) of the checked
datasets: evaluation must not silently drop samples, so a file the
pipeline cannot load, or a sample it rejects, is an error naming the file.

:class:`~mmadaptformer.datasets.CheckedVideoDataset` and
:class:`~mmadaptformer.datasets.CheckedImageDataset` load their test-mode
samples through :func:`load_evaluation_sample`; their training samples
through :func:`~.training_refetch.load_training_sample`.
"""
from typing import Callable, Optional, Tuple, Type

from mmadaptformer.utils.transform_steps import evaluation_pipeline
from .training_refetch import SampleFiles

__all__ = ['load_evaluation_sample']

#: What :func:`load_evaluation_sample` calls for a sample it cannot load:
#: the error, from the sample's index and what loading it raised.
LoadError = Callable[[int, Exception], Exception]
#: Errors that :func:`load_evaluation_sample` raises as they are.
Passes = Tuple[Type[Exception], ...]


def load_evaluation_sample(idx: int,
                           prepare: Callable[[int], Optional[dict]],
                           describe: Callable[[int], str],
                           load_error: LoadError,
                           files: SampleFiles,
                           passes: Passes = ()) -> dict:
    """Load sample ``idx`` for evaluation, or raise naming its file.

    Args:
        idx (int): Index of the sample.
        prepare (Callable): The dataset's ``prepare_data``.
        describe (Callable): The sample's file (and annotation line), for
            the error.
        load_error (Callable): The error for a sample ``prepare`` raised on,
            from its index and what it raised.
        files (SampleFiles): The dataset's files; ``files.error`` is raised
            when the pipeline rejects the sample.
        passes (tuple[type]): Errors raised as they are, which already say
            what is wrong (a short video, a process that cannot decode
            PNG). Defaults to ``()``.

    Returns:
        dict: The pipeline's output.
    """
    try:
        data = prepare(idx)
    except passes:
        raise
    except Exception as e:
        raise load_error(idx, e) from e
    if data is None:
        stage, _ = evaluation_pipeline()
        raise files.error(f'The {stage} pipeline rejected {describe(idx)}')
    return data
