# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The mark of the package's own refusals of a load."""

__all__ = ['LoadRefusal']


class LoadRefusal(Exception):
    """Mixed into each error the package raises on purpose to refuse
    weights on a loading path: a checkpoint that does not fit the model
    (:class:`~.state_dict_check.StateDictMismatchError`), adapters trained
    on another frozen backbone
    (:class:`~mmadaptformer.models.FrozenBackboneMismatchError`), a
    pretrained file that holds no weights
    (:class:`~.pretrained_backbone.PretrainedFileError`) or cannot be read
    safely (:class:`~.checkpoint_loading.CheckpointLoadError`).

    Each such class keeps its own bases (``class X(RuntimeError,
    LoadRefusal)``), so callers that catch a :class:`RuntimeError` or a
    :class:`ValueError` still catch it. A check that runs the model's
    loading code on ``meta`` tensors
    (:func:`~.state_dict_diff.diff_state_dict`) lets these through and
    only falls back to a plainer check on other errors: a hook of another
    library that needs real data.
    """
