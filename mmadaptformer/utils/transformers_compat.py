# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep ``mmaction.models`` and ``mmpretrain.models`` importable next to
transformers 5.

mmaction2 1.2.0 and mmpretrain 1.2.0 import their multimodal models
(VindLU; BLIP, Flamingo, LLaVA, ...) with ``mmaction.models`` and
``mmpretrain.models`` whenever transformers >= 4.28 is installed (and
pycocotools, for mmpretrain): their flag ``WITH_MULTIMODAL`` has no upper
bound. Those modules were written for transformers 4: with transformers 5
(e.g. 5.17, as PyTorch images ship it) ``import mmaction.models`` raises
``ImportError: cannot import name 'apply_chunking_to_forward' from
'transformers.modeling_utils'``, and mmpretrain's raise ``TypeError`` while
their classes are defined. Every model of the two toolboxes was then out of
reach, not only the multimodal ones.

:func:`disable_broken_multimodal` sets both flags to False before anything
imports the models, so the toolboxes register their own placeholders for
the multimodal models instead (building one raises ``ImportError``), and
every other model imports normally.
"""
import importlib.metadata
import importlib.util
import sys
from typing import List, Optional

from mmengine.utils import digit_version

#: The first transformers release whose API the multimodal models of
#: mmaction2 1.2.0 and mmpretrain 1.2.0 cannot import with.
FIRST_BREAKING_TRANSFORMERS = '5.0.0'

#: ``(flag module, models package that reads the flag when imported)``.
_FLAGS = (('mmaction.utils.dependency', 'mmaction.models.multimodal'),
          ('mmpretrain.utils.dependency', 'mmpretrain.models.multimodal'))


def breaking_transformers_version() -> Optional[str]:
    """The installed transformers version if the multimodal models of
    mmaction2 1.2.0 and mmpretrain 1.2.0 cannot import with it.

    The version is read from the package metadata; transformers is not
    imported.

    Returns:
        str | None: The version, or None if transformers is not installed
        or is older than :data:`FIRST_BREAKING_TRANSFORMERS`.
    """
    try:
        version = importlib.metadata.version('transformers')
    except importlib.metadata.PackageNotFoundError:
        return None
    if digit_version(version) < digit_version(FIRST_BREAKING_TRANSFORMERS):
        return None
    return version


def disable_broken_multimodal() -> List[str]:
    """Set ``WITH_MULTIMODAL`` of mmaction2 and mmpretrain to False when
    the installed transformers breaks their multimodal models.

    Must run before anything imports ``mmaction.models`` or
    ``mmpretrain.models``; a toolbox whose models are already imported is
    left as it is. Idempotent.

    Returns:
        list[str]: The flag modules set now (empty if transformers is
        missing or older than 5, or nothing was left to set).
    """
    if breaking_transformers_version() is None:
        return []
    changed = []
    for flag_module, models in _FLAGS:
        if models in sys.modules or \
                importlib.util.find_spec(flag_module.split('.')[0]) is None:
            continue
        module = importlib.import_module(flag_module)
        if module.WITH_MULTIMODAL:
            module.WITH_MULTIMODAL = False
            changed.append(flag_module)
    return changed
