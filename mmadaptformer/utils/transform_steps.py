# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run a data pipeline's transforms one by one, naming the one that fails.

``Compose`` lets a transform's exception through as it is, so a failure
after a file was read looked like a failure to read it: a test pipeline
whose ``Resize`` no longer matched its ``ThreeCrop`` (``--cfg-options
test_dataloader.dataset.pipeline.3.scale=(-1,64)``) ended ``tools/infer.py``
with ``cannot be decoded as a video (AssertionError: )`` for every input,
and ``tools/test.py`` with an advice to replace each video.
:func:`run_transform` wraps the error in a :class:`TransformError` that
knows the transform, its index and whether it is a loading step (one that
reads the file: ``DecordInit``, ``DecordDecode``, ``SampleFrames``,
``LoadImageFromFile``, ...), so that only a loading step's failure is
reported as a file that cannot be read.
"""
from typing import Any, Optional, Tuple

from mmengine.logging import MessageHub

from .video_containers import one_line_error

__all__ = [
    'TransformError', 'PipelineStepError', 'evaluation_pipeline',
    'run_transform', 'run_transforms'
]


class TransformError(RuntimeError):
    """A transform of a data pipeline raised.

    Args:
        index (int): The transform's index in the pipeline.
        transform (Callable): The transform.
        error (Exception): What it raised.
    """

    def __init__(self, index: int, transform: Any, error: Exception) -> None:
        self.index = index
        self.name = type(transform).__name__
        self.error = error
        # mmaction2's, mmcv's and mmpretrain's loading transforms live in
        # modules named ``loading``; they open and decode the file.
        module = type(transform).__module__ or ''
        self.reads_file = module.rsplit('.', 1)[-1] == 'loading'
        super().__init__(self.describe())

    def describe(self, key: str = 'pipeline') -> str:
        """``'ThreeCrop (KEY[4]) failed: AssertionError: ...'``.

        Args:
            key (str): The pipeline's config key. Defaults to
                ``'pipeline'``.
        """
        return (f'{self.name} ({key}[{self.index}]) failed: '
                f'{one_line_error(self.error)}')


class PipelineStepError(RuntimeError):
    """A transform failed on a sample after the loading ones had read its
    file; the message names the sample and the transform."""

    @classmethod
    def in_evaluation(cls, sample: str,
                      error: TransformError) -> 'PipelineStepError':
        """The error for an evaluation sample (a video or image, as
        ``sample`` names it) whose pipeline failed after its file was read:
        the file is not at fault, the transform's settings are.

        In a Runner's validation or test loop the message names the
        pipeline's config key (:func:`evaluation_pipeline`), e.g.
        ``ThreeCrop (val_dataloader.dataset.pipeline[4])``.
        """
        stage, key = evaluation_pipeline()
        return cls(f'Cannot evaluate {sample}: after it was read, the '
                   f"{stage} pipeline's {error.describe(key)}. Check that "
                   "transform's settings and those of the ones before it.")


#: The dataloader whose dataset's pipeline each of MMEngine's evaluation
#: loop stages runs.
_STAGE_DATALOADERS = dict(val='val_dataloader', test='test_dataloader')


def evaluation_pipeline() -> Tuple[str, str]:
    """The evaluation pipeline that runs now, for errors: ``('val',
    'val_dataloader.dataset.pipeline')`` in a Runner's validation loop,
    ``('test', 'test_dataloader.dataset.pipeline')`` in its test loop, and
    ``('test', 'pipeline')`` outside both (a dataset used directly).

    MMEngine's ``RuntimeInfoHook``, a default hook of every Runner, records
    the loop that runs as the message hub's ``loop_stage``; dataloader
    workers started by that loop inherit it.
    """
    stage = MessageHub.get_current_instance().get_info('loop_stage')
    if stage in _STAGE_DATALOADERS:
        return stage, f'{_STAGE_DATALOADERS[stage]}.dataset.pipeline'
    return 'test', 'pipeline'


def run_transform(index: int, transform: Any, results: dict) -> Any:
    """``transform(results)``, its exception wrapped in a
    :class:`TransformError`.

    Args:
        index (int): The transform's index in the pipeline.
        transform (Callable): The transform.
        results (dict): Its input.

    Returns:
        The transform's output (None when it drops the sample).
    """
    try:
        return transform(results)
    except Exception as e:  # any transform's: they share no base class
        raise TransformError(index, transform, e) from e


def run_transforms(transforms, results: dict) -> Optional[dict]:
    """What ``Compose(transforms)(results)`` returns, raising a
    :class:`TransformError` that names the transform that failed.

    Args:
        transforms (Sequence[Callable]): The pipeline's transforms.
        results (dict): The first one's input.

    Returns:
        dict, optional: The last one's output; None as soon as one drops
        the sample.
    """
    for index, transform in enumerate(transforms):
        results = run_transform(index, transform, results)
        if results is None:
            return None
    return results
