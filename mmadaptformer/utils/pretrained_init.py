# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine's ``Pretrained`` ``init_cfg`` entries: find them, and check each
checkpoint with :func:`~mmadaptformer.utils.state_dict_check.check_state_dict`
before MMEngine loads it (non-strictly)."""
import re
from typing import Any, Callable, List, Mapping, Optional

from mmengine.model.weight_init import PretrainedInit
from mmengine.registry import WEIGHT_INITIALIZERS
from torch import nn

from .checkpoint_loading import CheckpointNotFoundError
from .official_vit_keys import unconverted_vit_layout
from .pretraining_extras import pretraining_extras
from .registry_names import registered
from .state_dict_check import check_state_dict

__all__ = [
    'read_init_checkpoint', 'pretrained_init_cfgs', 'is_pretrained_cfg',
    'check_pretrained_init'
]


def pretrained_init_cfgs(module: nn.Module) -> List[dict]:
    """The ``Pretrained`` entries of a module's own ``init_cfg``.

    Args:
        module (nn.Module): Any module.

    Returns:
        list[dict]: The entries, possibly empty.
    """
    init_cfg = getattr(module, 'init_cfg', None)
    if not init_cfg:
        return []
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [dict(cfg) for cfg in cfgs if is_pretrained_cfg(cfg)]


def is_pretrained_cfg(cfg: Any) -> bool:
    """Whether an ``init_cfg`` entry builds MMEngine's pretrained
    initialiser, as ``BaseModule.init_weights`` builds it from
    ``WEIGHT_INITIALIZERS``: ``type='Pretrained'``, a scoped name of it
    (``'mmengine.Pretrained'``), the class ``PretrainedInit`` itself (a
    pure-Python config's) or a subclass registered under another name.

    Args:
        cfg (Any): One entry of an ``init_cfg``.

    Returns:
        bool: True for ``dict(type='Pretrained', ...)`` and the forms above.
    """
    if not isinstance(cfg, dict):
        return False
    cls = registered(WEIGHT_INITIALIZERS, cfg.get('type'), cfg.get('_scope_'))
    return isinstance(cls, type) and issubclass(cls, PretrainedInit)


def read_init_checkpoint(path: str,
                         prefix: Optional[str] = None,
                         map_location: Optional[str] = 'cpu') -> Any:
    """Read the state dict a ``Pretrained`` init_cfg names, as MMEngine's
    ``PretrainedInit`` reads it, without a line on stdout.

    MMEngine's ``_load_checkpoint`` and ``_load_checkpoint_with_prefix``
    load with ``logger=None``, which ``print``s ``Loads checkpoint by local
    backend from path: ...`` to stdout: a line among ``tools/infer.py``'s
    results (it broke ``--out -``'s JSON) and a second one beside the
    ``PretrainedInit``'s own. Checks read the file silently; the load
    itself still logs it.

    Args:
        path (str): The checkpoint (a path or URL).
        prefix (str, optional): Keep only the keys under it, without it,
            as ``Pretrained(prefix=...)`` does. Defaults to None.
        map_location (str, optional): Where to load the tensors. Defaults
            to 'cpu'.

    Returns:
        The checkpoint's ``state_dict`` (or the checkpoint, if it has
        none), the keys under ``prefix`` only if given.

    Raises:
        AssertionError: If no key is under ``prefix``, as MMEngine's
            ``_load_checkpoint_with_prefix`` raises.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    checkpoint = CheckpointLoader.load_checkpoint(
        path, map_location=map_location, logger='silent')
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        checkpoint = checkpoint['state_dict']
    if prefix is None:
        return checkpoint
    if not prefix.endswith('.'):
        prefix += '.'
    state_dict = {
        key[len(prefix):]: value
        for key, value in checkpoint.items() if key.startswith(prefix)
    }
    if not state_dict:
        raise AssertionError(f'{prefix} is not in the pretrained model')
    return state_dict


def check_pretrained_init(module: nn.Module,
                          owner: str = 'init_cfg',
                          map_location: Optional[str] = 'cpu',
                          already_loaded: bool = False,
                          read: Optional[Callable[[Mapping], Any]] = None,
                          screen: Optional[Callable[[Mapping, str],
                                                    None]] = None,
                          hint: str = '') -> int:
    """Check every ``Pretrained`` ``init_cfg`` of ``module`` before it loads.

    Reads each checkpoint as :class:`mmengine.model.PretrainedInit` does
    (the ``prefix`` sub-dict, or the whole ``state_dict``) and applies
    :func:`check_state_dict` to ``module``. Each module is checked once.

    Args:
        module (nn.Module): The module with the ``init_cfg``.
        owner (str): The config key of the module, for the error, e.g.
            ``'model.backbone.backbone'``. Defaults to ``'init_cfg'``.
        map_location (str, optional): Where to load the tensors.
            Defaults to 'cpu'.
        already_loaded (bool): The module's weights were initialised
            already (see :func:`check_state_dict`). Defaults to False.
        read (Callable, optional): Reads an entry's state dict the way the
            module itself loads it, or returns None to read it as
            ``PretrainedInit`` does. Defaults to None.
        screen (Callable, optional): Called with each state dict and its
            file before the check; raises to refuse a file that fits but
            must not be loaded there, e.g. a trained model given as a
            backbone's pretrained weights. Defaults to None.
        hint (str): Said after the advice of a refusal, e.g. how the module
            reads checkpoints of another layout itself. Defaults to ''.

    Returns:
        int: How many checkpoints were checked.

    Raises:
        StateDictMismatchError: If a checkpoint does not fit ``module``.
        CheckpointNotFoundError: If a checkpoint is not there, naming the
            init_cfg.
    """
    if module.__dict__.get('_pretrained_checked'):
        return 0
    checked = 0
    for cfg in pretrained_init_cfgs(module):
        path, prefix = cfg.get('checkpoint'), cfg.get('prefix')
        location = cfg.get('map_location', map_location)
        try:
            state_dict = None if read is None else read(cfg)
            if state_dict is None:
                state_dict = read_init_checkpoint(path, prefix, location)
        except CheckpointNotFoundError as e:
            raise CheckpointNotFoundError(
                f'{e} (the checkpoint of {owner}.init_cfg)') from None
        if screen is not None:
            screen(state_dict, path)
        where = f'{owner}.init_cfg' + (f' (prefix={prefix!r})'
                                       if prefix is not None else '')
        # The converter writes only from the official and timm ViT
        # layouts: a file of another backbone is not sent to it.
        convert = (', or convert it with '
                   'tools/model_converters/convert_official.py'
                   if unconverted_vit_layout(state_dict) else '')
        # A pre-training file's final norm and tokens that the model
        # lacks (mmpretrain's MAE and BEiT fine-tuning recipes drop them).
        extras = pretraining_extras(module, state_dict) if isinstance(
            state_dict, Mapping) else []
        check_state_dict(
            module,
            state_dict,
            source=f'Pretrained checkpoint {path} of {where}',
            allow_unexpected=[f'^{re.escape(key)}$' for key in extras],
            hint='Point init_cfg.checkpoint at a checkpoint of this '
            f'architecture{convert}.' + (f' {hint}' if hint else ''),
            already_loaded=already_loaded,
            source_file=path)
        checked += 1
    module.__dict__['_pretrained_checked'] = True
    return checked
