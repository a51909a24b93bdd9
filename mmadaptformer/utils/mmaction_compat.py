# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Make ``mmaction.models`` importable on the released mmaction2 1.2.0.

The mmaction2 1.2.0 wheel and sdist lack ``mmaction/models/localizers/drn``
because that folder has no ``__init__.py`` (open-mmlab/mmaction2 issue 2714).
``mmaction/models/localizers/__init__.py`` still runs
``from .drn.drn import DRN``, so ``import mmaction.models`` raises
``ModuleNotFoundError`` and MMEngine's registry finds no mmaction2 model.

:func:`patch_mmaction_drn` closes the gap without touching site-packages: when
(and only when) the DRN folder is absent from the installed mmaction package,
it places a stand-in ``drn`` package in ``sys.modules`` whose ``DRN`` raises a
clear error when built. Every other mmaction2 model then imports normally.

:func:`upcast_mmaction_head_scores` closes a second gap for one model at a
time, when it trains, validates or tests under bfloat16 autocast (CPU
``--amp``): mmaction2's heads compute their accuracy, and its
``AccMetric`` the metrics, through numpy, which has no bfloat16.
"""
import importlib.util
import os.path as osp
import sys
import types
from typing import Optional

import torch

UPSTREAM_GAP = (
    'mmaction2 1.2.0 is released without '
    '`mmaction/models/localizers/drn` (the folder has no `__init__.py`, '
    'see open-mmlab/mmaction2 issue 2714), so the DRN localizer is not '
    'available. Install mmaction2 from source, where the folder exists, to '
    'use DRN.')

_DRN_PACKAGE = 'mmaction.models.localizers.drn'


class MissingDRN:
    """Stand-in for mmaction2's DRN localizer when it is not installed.

    Building it raises :class:`ImportError` naming the upstream gap.
    """

    def __init__(self, *args, **kwargs) -> None:
        raise ImportError(f'DRN cannot be built: {UPSTREAM_GAP}')


def _mmaction_root() -> Optional[str]:
    # find_spec on the top-level package does not execute
    # mmaction/models/__init__.py, which is what fails.
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def drn_is_missing() -> bool:
    """Whether the installed mmaction2 lacks its DRN localizer folder.

    Returns:
        bool: True if mmaction2 is installed and
        ``mmaction/models/localizers/drn/drn.py`` does not exist.
    """
    root = _mmaction_root()
    if root is None:
        return False
    return not osp.isfile(
        osp.join(root, 'models', 'localizers', 'drn', 'drn.py'))


def patch_mmaction_drn() -> bool:
    """Register a stand-in DRN package if mmaction2 ships without one.

    Safe to call many times, and a no-op on an mmaction2 that has DRN.

    Returns:
        bool: True if the stand-in is (now) in place.
    """
    if _DRN_PACKAGE in sys.modules:
        return getattr(sys.modules[_DRN_PACKAGE], '__mmadaptformer_stub__',
                       False)
    if not drn_is_missing():
        return False
    package = types.ModuleType(_DRN_PACKAGE, 'Stand-in: ' + UPSTREAM_GAP)
    package.__path__ = []  # mark as a package
    package.__mmadaptformer_stub__ = True
    module = types.ModuleType(_DRN_PACKAGE + '.drn',
                              'Stand-in: ' + UPSTREAM_GAP)
    module.DRN = MissingDRN
    module.__mmadaptformer_stub__ = True
    package.drn = module
    package.DRN = MissingDRN
    sys.modules[_DRN_PACKAGE] = package
    sys.modules[_DRN_PACKAGE + '.drn'] = module
    return True


def register_missing_drn() -> None:
    """Register :class:`MissingDRN` as ``DRN`` in mmaction's MODELS.

    Configs that name ``type='DRN'`` then fail with the upstream gap in the
    message instead of a bare ``KeyError: DRN is not in the registry``.
    """
    from mmaction.registry import MODELS

    # Only for the stand-in: the real DRN registers itself when
    # mmaction.models is imported, which may happen after this call.
    if drn_is_missing() and 'DRN' not in MODELS.module_dict:
        MODELS.register_module(name='DRN', module=MissingDRN)


def _float_scores(module, args, output):
    """Forward hook: bfloat16 class scores -> float32."""
    if isinstance(output, torch.Tensor) and output.dtype == torch.bfloat16:
        return output.float()
    return output


#: Attribute that marks a head whose scores are already upcast.
_UPCAST_MARK = '_mmadaptformer_float_scores'


def upcast_mmaction_head_scores(model: torch.nn.Module) -> int:
    """Let the mmaction2 heads of ``model`` give float32 scores.

    ``mmaction.models.heads.BaseHead.loss_by_feat`` computes the top-k
    accuracy through numpy, which has no bfloat16, so every mmaction2 head
    fails under bfloat16 autocast (``TypeError: Got unsupported ScalarType
    BFloat16``), and so does ``AccMetric`` given the predicted scores in
    validation and testing (``val_cfg``/``test_cfg`` ``fp16``). A forward
    hook on each mmaction2 head of this model (and of no other) turns
    bfloat16 scores into float32 before the loss, the accuracy and the
    predictions see them, as autocast does for the loss itself.
    ``AdaptAmpOptimWrapper`` adds it at the first training step of a model
    under bfloat16 autocast;
    ``mmadaptformer.engine.build_runner`` (the tools' runner) when it
    builds the runner, for evaluation before or without training.
    float16 and float32 scores pass unchanged. Idempotent per head.

    Args:
        model (nn.Module): The model (a DDP wrapper is fine).

    Returns:
        int: How many heads got the hook now.
    """
    from mmaction.models.heads.base import BaseHead
    count = 0
    for module in model.modules():
        if isinstance(module, BaseHead) and \
                not module.__dict__.get(_UPCAST_MARK, False):
            module.register_forward_hook(_float_scores)
            module.__dict__[_UPCAST_MARK] = True
            count += 1
    return count
