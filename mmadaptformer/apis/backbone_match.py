# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Whether a task was trained on the backbone the loaded tasks share.

A :class:`~mmadaptformer.apis.MultiTaskRecognizer` keeps one frozen backbone
for all its tasks, so a task is refused when its model is another one (another
toolbox, recognizer, backbone config or adapter placement:
:func:`backbone_signature`, :func:`check_same_model`) or when its frozen
tensors differ from the shared ones (:func:`check_same_frozen`). What the
multi-task forward cannot run is refused in
:mod:`mmadaptformer.apis.multitask_tasks`; see ``docs/multitask.md``.
"""
import copy
import inspect
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import MODELS
from torch import nn

from mmadaptformer.models import FrozenHostWrapper
from mmadaptformer.models.backbones.host_init import own_weights
from mmadaptformer.utils.control_characters import escape_controls
from mmadaptformer.utils.fingerprint import same_values
from mmadaptformer.utils.pretrained_init import pretrained_init_cfgs
from .multitask_tasks import Task, TaskError

__all__ = [
    'backbone_signature', 'check_same_model', 'check_same_frozen',
    'pretrained_files', 'named_files', 'shared_backbone_origin'
]


def pretrained_files(model: nn.Module) -> List[Tuple[str, str]]:
    """``(FILE, CONFIG KEY)`` of each file a model's frozen hosts are
    loaded from (their ``Pretrained`` ``init_cfg``, or the weights a host
    names itself), as the model's config names them; read nothing. Errors
    name one as ``'FILE (CONFIG KEY)'``.

    Args:
        model (nn.Module): A model, built (its weights may be on ``meta``).

    Returns:
        list[tuple[str, str]]: One per frozen host that names a file.
    """
    files = []
    for module in model.modules():
        if not isinstance(module, FrozenHostWrapper):
            continue
        cfgs = pretrained_init_cfgs(module.backbone) or \
            pretrained_init_cfgs(module)
        path = cfgs[-1].get('checkpoint') if cfgs else own_weights(
            module.backbone)
        if path:
            files.append((path, module.pretrained_key))
    return files


def named_files(files: List[Tuple[str, str]]) -> str:
    """:func:`pretrained_files`' entries as errors name them:
    ``'FILE (CONFIG KEY), ...'``."""
    return ', '.join(f'{path} ({key})' for path, key in files)


def shared_backbone_origin(name: str, checkpoint: Optional[str],
                           files: Sequence[Tuple[str, str]]) -> str:
    """Where the shared backbone's frozen tensors came from, for errors:
    the first task's checkpoint, and for an adapter-only one the pretrained
    file its config names. It stays true when that task is removed (its
    model still serves the others).

    Args:
        name (str): The first task.
        checkpoint (str, optional): Its checkpoint.
        files (Sequence[tuple[str, str]]): The pretrained files of its
            model, the shared one (:func:`pretrained_files`), for an
            adapter-only checkpoint; empty for another one.

    Returns:
        str: E.g. ``"loaded with task 'a' (a.pth; frozen weights from
        stock.pth (model.backbone.backbone.init_cfg.checkpoint))"``.
    """
    frozen = f'; frozen weights from {named_files(files)}' if files else ''
    return f'loaded with task {name!r} ({checkpoint}{frozen})'


def _with_defaults(backbone: dict, scope: Optional[str]) -> dict:
    """``backbone`` with the constructor defaults of its class (found in
    ``scope``'s registry) for the arguments it leaves out, so that a config
    that writes a default out (the recipes' ``drop_path_rate=0.``,
    ``use_mean_pooling=True``) and one that leaves it to the class (a stock
    MMAction2 config) give the same signature."""
    kind = backbone.get('type')
    if not isinstance(kind, str):
        return backbone
    cls = MODELS.get(kind if '.' in kind or not scope else f'{scope}.{kind}')
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # no class, or no signature to read
        return backbone
    for p in parameters:
        if p.name not in backbone and p.default is not p.empty and \
                p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            # The default object itself: a copy of one that compares by
            # identity (a partial) would differ from itself.
            backbone[p.name] = p.default
    return backbone


def backbone_signature(cfg: Config, scope: Optional[str] = None) -> dict:
    """The host backbone's config without weights or adapter settings.

    Args:
        cfg (Config): The task's config.
        scope (str, optional): Its toolbox (``'mmaction'`` or
            ``'mmpretrain'``), whose registry the host class is read from:
            the arguments the config leaves out are given their defaults.
            Defaults to None (the config's arguments as they are).

    Returns:
        dict: The recognizer type, the host backbone's arguments, the neck
        and the adapter placement.
    """
    backbone = copy.deepcopy(cfg.model.get('backbone', {}))
    backbone = backbone.to_dict() if hasattr(backbone,
                                             'to_dict') else dict(backbone)
    placement = None
    if str(backbone.get('type', '')).split('.')[-1] in ('AdaptFormer', ):
        placement = backbone.get('placement', 'parallel')
        backbone = dict(backbone['backbone'])
    backbone = _with_defaults(backbone, scope)
    for key in ('init_cfg', 'pretrained'):
        backbone.pop(key, None)
    neck = copy.deepcopy(cfg.model.get('neck'))
    if neck is not None:
        neck = neck.to_dict() if hasattr(neck, 'to_dict') else dict(neck)
        neck.pop('init_cfg', None)
    return dict(
        recognizer=cfg.model.get('type'),
        backbone=backbone,
        neck=neck,
        placement=placement)


def check_same_model(name: str, source: str, toolbox: str, signature: dict,
                     first: Task, first_toolbox: str,
                     first_signature: dict) -> None:
    """Refuse a task of another toolbox or backbone than the first task.

    Raises:
        TaskError: Naming both tasks.
    """
    if toolbox != first_toolbox:
        # 'an': both toolboxes' names, mmaction and mmpretrain, are said
        # with a vowel first.
        raise TaskError(f'Task {name!r} ({source}) is an {toolbox} config, '
                        f'but task {first.name!r} is an {first_toolbox} one; '
                        'one backbone serves one toolbox.')
    plain = [(task, config, sig)
             for task, config, sig in ((name, source, signature),
                                       (first.name, first.config,
                                        first_signature))
             if sig['placement'] is None]
    if len(plain) == 1:
        # Compared key by key this read "placement: None vs 'parallel'".
        task, config, sig = plain[0]
        raise TaskError(
            f'Task {name!r} ({source}) has another model than task '
            f'{first.name!r} ({first.config}): task {task!r} ({config}) is '
            'no AdaptFormer model (its model.backbone is '
            f"{sig['backbone'].get('type')!r}, without adapters), the other "
            'is one. Tasks share one frozen backbone through their '
            'adapters; serve a model without them (a stock, fully '
            'fine-tuned or VPT one) alone (ModelInferencer, or '
            'tools/infer.py without --task).')
    if signature != first_signature:
        raise TaskError(
            f'Task {name!r} ({source}) has another model than task '
            f'{first.name!r} ({first.config}): '
            f'{"; ".join(_differences(signature, first_signature))} (this '
            'task vs the first). All tasks must adapt the same backbone '
            '(same recognizer, backbone config and adapter placement).')


def _differences(new: dict, first: dict, prefix: str = '') -> List[str]:
    """``'KEY: NEW vs FIRST'`` for each key whose value differs, nested
    dicts followed down (``'model.backbone.drop_path_rate: 0.1 vs 0.0'``);
    a key one of them lacks reads ``<unset>``."""
    lines = []
    for key in list(new) + [k for k in first if k not in new]:
        a, b = new.get(key, '<unset>'), first.get(key, '<unset>')
        place = f'{prefix}{key}'
        if isinstance(a, dict) and isinstance(b, dict):
            lines.extend(_differences(a, b, f'{place}.'))
        elif a != b:
            lines.append(f'{place}: {a!r} vs {b!r}')
    return lines


def check_same_frozen(name: str,
                      source: str,
                      checkpoint: Optional[str],
                      digest: Optional[str],
                      state: Dict[str, torch.Tensor],
                      specific: Set[str],
                      shared: Dict[str, torch.Tensor],
                      tasks: Mapping[str, Task],
                      trained_extra: Optional[Set[str]] = None,
                      origin: Optional[str] = None) -> None:
    """Refuse a task not trained on the shared frozen backbone.

    Two adapter-only checkpoints' digests are compared only when they cover
    the same frozen tensors (the tasks trained the same backbone modules
    besides adapters and head); otherwise, and always, the loaded frozen
    tensors are compared one by one.

    Args:
        name (str): The new task.
        source (str): Its config file.
        checkpoint (str, optional): Its checkpoint.
        digest (str, optional): Its frozen-backbone digest, if known.
        state (dict): Its model's state dict.
        specific (set[str]): Its keys that are not shared.
        shared (dict): The shared backbone's frozen tensors.
        tasks (Mapping[str, Task]): The tasks already loaded.
        trained_extra (set[str], optional): The keys it trained besides its
            adapters and head (e.g. ``fc_norm``). Defaults to None (empty).
        origin (str, optional): Where the shared backbone came from
            (:func:`shared_backbone_origin`). Defaults to None: the first
            loaded task's checkpoint.

    Raises:
        TaskError: Naming both tasks.
    """
    trained_extra = set(trained_extra or ())
    for other in tasks.values():
        if digest and other.digest and digest != other.digest and \
                set(other.specific_keys) == trained_extra:
            raise TaskError(
                f'Task {name!r} ({checkpoint}) was trained on another '
                f'frozen backbone than task {other.name!r} '
                f'({other.checkpoint}): frozen digests '
                f'{escape_controls(digest[:16])}... and '
                f'{escape_controls(other.digest[:16])}... differ.')
    missing = [k for k in shared if k not in state]
    differ = [
        k for k in shared if k in state and k not in specific
        and not same_values(shared[k], state[k].detach().to(shared[k]))
    ]
    if missing or differ:
        if origin is None:
            first = next(iter(tasks.values()))
            origin = f'loaded with task {first.name!r} ({first.checkpoint})'
        what = [
            f'{len(keys)} of its frozen tensors {how} (e.g. {keys[:3]})'
            for keys, how in ((differ, 'differ'), (missing, 'are missing'))
            if keys
        ]
        raise TaskError(
            f'Task {name!r} ({source}, {checkpoint}) was not trained on '
            f'the shared frozen backbone, which every task runs on '
            f'({origin}): {" and ".join(what)}. Load it on its own '
            'instead.')
