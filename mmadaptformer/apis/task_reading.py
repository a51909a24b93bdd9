# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What :meth:`~mmadaptformer.apis.shared_backbone.SharedBackbone.add_task`
does before it takes the engine's lock: read and check a task's config
(its test pipeline built under the process-wide
:data:`~mmadaptformer.utils.default_scope_lock.SCOPE_LOCK`, briefly), and
read its checkpoint and a first task's pretrained backbone without a lock
(a download may take minutes).

Only what does not change the engine is done here, so that the engine's
calls on the tasks already loaded, and every other inferencer's call, are
answered meanwhile. Checks that depend on the tasks loaded are made here
against what was loaded when the read began, to refuse a task early (before
its download), and made again under the lock against the tasks loaded then
(another thread may have added or removed tasks meanwhile). See
``docs/multitask.md``.
"""
import contextlib
from dataclasses import dataclass
from typing import Collection, Iterator, Optional, Union

from mmengine.config import Config

from mmadaptformer.datasets.label_map import LabelMapError
from mmadaptformer.utils.default_scope_lock import SCOPE_LOCK
from mmadaptformer.utils.recognizer_check import check_inference_cfg
from .backbone_match import backbone_signature, check_same_model
from .checkpoint_read import read_api_files, read_checkpoint
from .inputs import TestInputs, toolbox_of
from .label_maps import check_label_map_file
from .multitask_tasks import (Task, TaskError, TaskLoadError, check_servable,
                              pipeline_group_key)

__all__ = ['TaskLabelMapError', 'as_task_error', 'ReadTask', 'read_task']


class TaskLabelMapError(TaskLoadError, LabelMapError):
    """A task's ``label_map`` was refused: a :class:`LabelMapError` as for
    one model, and a :class:`TaskLoadError` caused by it."""


@contextlib.contextmanager
def as_task_error(name: str) -> Iterator[None]:
    """Raise what fails in adding the task ``name`` as a :class:`TaskError`
    naming it: a ``TaskError`` as it is, a refused label map as a
    :class:`TaskLabelMapError`, anything else as a :class:`TaskLoadError`,
    the error as its ``__cause__``."""
    try:
        yield
    except TaskError:
        raise
    except Exception as e:
        error = (
            TaskLabelMapError
            if isinstance(e, LabelMapError) else TaskLoadError)
        raise error(f'Task {name!r}: {type(e).__name__}: {e}') from e


@dataclass
class ReadTask:
    """A task's files, read and checked, ready to be attached.

    Attributes:
        name (str): The task.
        cfg (Config): Its config.
        source (str): How its config is named (its file).
        toolbox (str): ``'mmaction'`` or ``'mmpretrain'``.
        signature (dict): Its backbone's signature
            (:func:`~mmadaptformer.apis.backbone_match.backbone_signature`).
        checkpoint (str): Its checkpoint, as given.
        loaded (dict): The checkpoint, as read.
        label_map (str, optional): Its class names file.
        group_key (str): Its :class:`~.multitask_tasks.PipelineGroup`'s key.
        inputs (TestInputs, optional): Its test pipeline, built where no
            loaded task had its group when it was read; None otherwise.
    """
    name: str
    cfg: Config
    source: str
    toolbox: str
    signature: dict
    checkpoint: str
    loaded: dict
    label_map: Optional[str]
    group_key: str
    inputs: Optional[TestInputs]


def read_task(name: str, config: Union[str, Config], checkpoint: str,
              label_map: Optional[str], first: Optional[Task],
              first_toolbox: Optional[str], first_signature: Optional[dict],
              groups: Collection[str]) -> ReadTask:
    """Read and check a task's files and read its checkpoint, in the order
    ``add_task`` always refused them, without taking the engine's lock.

    Args:
        name (str): The task.
        config (str | Config): Its config.
        checkpoint (str): Its checkpoint file or address.
        label_map (str, optional): Its class names file.
        first (Task, optional): The first task loaded when the read began;
            None if there was none.
        first_toolbox (str, optional): Its toolbox.
        first_signature (dict, optional): Its backbone's signature.
        groups (Collection[str]): Keys of the pipeline groups loaded then.

    Returns:
        ReadTask: What :meth:`SharedBackbone.add_task` attaches.

    Raises:
        TaskError: If the task cannot be served with the first task.
        Exception: What reading a file raised (a missing label map, config
            or checkpoint, a checkpoint that does not load).
    """
    check_label_map_file(label_map)
    # The checkpoint named in this API's terms; init_model would name it in
    # its own. MMEngine's config reading, which is not thread-safe, takes
    # its own lock (utils/config_read_lock.py).
    call = 'add_task(name, config, checkpoint)'
    cfg, source, order = read_api_files(call, config, checkpoint)
    toolbox = toolbox_of(cfg, source)
    signature = backbone_signature(cfg, toolbox)
    if first is not None:
        check_same_model(name, source, toolbox, signature, first,
                         first_toolbox, first_signature)
    check_servable(name, cfg, source)
    group_key = pipeline_group_key(cfg, source, toolbox)
    inputs = None
    # Building the pipeline and checking the model's config set the
    # process's default scope: another thread may be building a model of
    # the other toolbox.
    with SCOPE_LOCK:
        if group_key not in groups:
            inputs = TestInputs(cfg, source)
        check_inference_cfg(cfg, source)
    # An address goes to MMEngine's CheckpointLoader, whose schemes all load
    # with weights_only, as init_model's read does.
    loaded = read_checkpoint(checkpoint, order)
    return ReadTask(
        name=name,
        cfg=cfg,
        source=source,
        toolbox=toolbox,
        signature=signature,
        checkpoint=checkpoint,
        loaded=loaded,
        label_map=label_map,
        group_key=group_key,
        inputs=inputs)
