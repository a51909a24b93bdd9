# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read official checkpoint files and write converted ones."""
import argparse
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Optional, Tuple

import torch
from torch import Tensor

from mmadaptformer.utils.atomic_save import atomic_torch_save
from mmadaptformer.utils.checkpoint_source import FROZEN_HOST_FORMAT
from mmadaptformer.utils.converter_cli import read_converter_checkpoint
from mmadaptformer.utils.weights_nesting import (NESTING_KEYS, nesting_keys,
                                                 tensor_keys)
from ..backbones.trained_host import SETTINGS_FORMAT
from .common import ConversionError, ConversionResult

#: What this package's own records in a state dict say the file is.
OWN_RECORDS = {
    FROZEN_HOST_FORMAT:
    'an adapter-only checkpoint of this package (tools/train.py with '
    'AdapterHook(adapter_only_checkpoint=True))',
    SETTINGS_FORMAT:
    'a full checkpoint of this package, its adapters merged into their '
    'backbone (merge_adapters.py)',
}


def load_official_checkpoint(filename: str) -> Any:
    """Load an official checkpoint file with ``weights_only=True``.

    The official training scripts save their ``argparse.Namespace`` next to
    the weights (``{'model': ..., 'optimizer': ..., 'args': args}``), so
    ``argparse.Namespace`` is allowed while this file is read, on top of
    :func:`mmadaptformer.utils.safe_torch_load`'s allow-list. A Namespace
    only holds attributes; ``weights_only`` stays on.

    Args:
        filename (str): Path to the checkpoint, or its address
            (``https://...``), downloaded and loaded as safely (see
            :mod:`mmadaptformer.utils.converter_cli`).

    Returns:
        Any: The loaded object, on the CPU.
    """
    with torch.serialization.safe_globals([argparse.Namespace]):
        return read_converter_checkpoint(filename)


def strip_module_prefix(state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Drop the ``module.`` that DDP/DeepSpeed wrappers put before keys,
    once, as MMEngine's ``load_checkpoint`` does (``revise_keys``): a
    second one (a model wrapped twice) stays.

    Args:
        state_dict (dict): A state dict.

    Returns:
        dict: The same tensors under the stripped keys.
    """
    out: Dict[str, Tensor] = OrderedDict()
    for key, value in state_dict.items():
        new_key = key[len('module.'):] if key.startswith('module.') else key
        if new_key in out:
            raise ConversionError(
                f'The checkpoint has both {new_key!r} and {key!r}; cannot '
                'tell which one to convert.')
        out[new_key] = value
    return out


def _chosen_key(checkpoint: dict, key: str) -> Tuple[Dict[str, Tensor], str]:
    """The dict of tensors under ``key``, looked for at the top level, then
    under ``'state_dict'`` (where ``key`` holds a whole checkpoint, the
    tensors under its ``'state_dict'``); refused, naming the keys that hold
    weights, where neither has it."""
    for node, where in ((checkpoint, 'checkpoint'),
                        (checkpoint.get('state_dict'),
                         "checkpoint['state_dict']")):
        if isinstance(node, dict) and isinstance(node.get(key), dict):
            inner = node[key]
            if not tensor_keys(inner) and tensor_keys(inner.get('state_dict')):
                # A whole checkpoint saved under the key: its weights.
                return inner['state_dict'], \
                    f"{where}[{key!r}]['state_dict']"
            return inner, f'{where}[{key!r}]'
    held = nesting_keys(checkpoint)
    if isinstance(checkpoint.get('state_dict'), dict):
        held += [
            f'state_dict.{k}' for k in nesting_keys(checkpoint['state_dict'])
        ]
    raise ConversionError(
        f'--key {key!r}: the checkpoint has no dict under {key!r}, at its '
        "top level or under 'state_dict'. The keys that hold weights are "
        f'{held or "none"}; the top-level keys are {list(checkpoint)[:10]}.')


def _check_one_nesting(held: list, where: str) -> None:
    """Refuse weights nested under several keys (``held``, from
    :func:`nesting_keys`) none of which is a known one
    (:data:`NESTING_KEYS`, which come first), e.g. DINO's ``'student'`` and
    ``'teacher'``: picking one by the file's order would convert the wrong
    model without a word."""
    if len(held) > 1 and held[0] not in NESTING_KEYS:
        raise ConversionError(
            f'{where} holds weights under several keys, {held}, and none is '
            f'one of {list(NESTING_KEYS)}: name the one to convert with '
            f'--key (e.g. --key {held[0]}).')


def unwrap_checkpoint(
        checkpoint: Any,
        key: Optional[str] = None) -> Tuple[Dict[str, Tensor], str]:
    """Find the state dict in a loaded checkpoint.

    ``{'state_dict': ...}``, ``{'model': ...}``, ``{'module': ...}`` (looked
    for in this order) and a bare state dict are accepted; the keys are
    returned as stored (a wrapper's ``module.`` is stripped by the
    conversion, once: :func:`strip_module_prefix`). Where the dict found
    holds no tensor but nests them one level deeper (``{'state_dict':
    {'model': ...}}``, ``{'model_ema': ...}``), the weights are read from
    there: the key :func:`~mmadaptformer.utils.weights_nesting.nesting_key`
    names, as the refusals of ``tools/test.py``, ``load_from`` and
    ``--pretrained`` do before they send such a file here. Where that dict
    nests weights under several keys, none of them a known one (DINO's
    ``'student'`` and ``'teacher'``), the file is refused unless ``key``
    names one.

    Args:
        checkpoint (Any): What :func:`load_official_checkpoint` returned.
        key (str, optional): The key the weights are nested under, looked
            for at the top level, then under ``'state_dict'``. Defaults to
            None: found as described above.

    Returns:
        tuple[dict, str]: The state dict and where it was found, e.g.
        ``"checkpoint['model']"`` or ``"checkpoint['state_dict']['model']"``.
    """
    if not isinstance(checkpoint, dict):
        raise ConversionError(
            f'Expected a checkpoint dict, but got {type(checkpoint).__name__}.'
        )
    if key is not None:
        inner, where = _chosen_key(checkpoint, key)
    else:
        for wrapper in ('state_dict', 'model', 'module'):
            inner = checkpoint.get(wrapper)
            if isinstance(inner, dict):
                where = f'checkpoint[{wrapper!r}]'
                break
        else:
            inner, where = checkpoint, 'checkpoint'
        held = [] if tensor_keys(inner) else nesting_keys(inner)
        if held:
            _check_one_nesting(held, where)
            inner, where = inner[held[0]], f'{where}[{held[0]!r}]'
    bad = [k for k, v in inner.items() if not isinstance(v, Tensor)]
    _refuse_own_checkpoint(inner, bad, where)
    if bad or not inner:
        # An empty dict has no non-tensor entry to name.
        holds = (f'it holds non-tensor entries {bad[:5]}'
                 if bad else 'it is empty, with no tensors')
        raise ConversionError(
            f'{where} is not a state dict: {holds}. Expected a bare state '
            'dict or one wrapped as '
            "{'state_dict': ...}, {'model': ...} or {'module': ...}, or "
            "one more level deep (e.g. {'state_dict': {'model': ...}}); "
            f'the top-level keys are {list(checkpoint)[:10]}.')
    return inner, where


def _refuse_own_checkpoint(inner: dict, bad: list, where: str) -> None:
    """Refuse a checkpoint this package wrote, named by the record among
    its non-tensor entries ``bad``: a trained model that needs no
    conversion, not a damaged file."""
    for key in bad:
        record = inner[key]
        kind = OWN_RECORDS.get(
            record.get('format') if isinstance(record, dict) else None)
        if kind is not None:
            raise ConversionError(
                f'{where} is {kind}: its {key!r} is this package\'s '
                f'record ({record["format"]!r}), no tensor. It needs no '
                'conversion: give it as the checkpoint to the config it was '
                'trained with (tools/test.py CONFIG FILE, tools/infer.py, '
                'load_from).')


def save_converted_checkpoint(result: ConversionResult, filename: str,
                              converted_from: str) -> None:
    """Save a conversion as ``{'state_dict': ..., 'meta': ...}``.

    Args:
        result (ConversionResult): What :func:`convert_state_dict` returned.
        filename (str): Output path; its folder is created if needed. It
            is written atomically: a failed or killed write leaves any
            file there unchanged.
        converted_from (str): The source file; its base name goes to
            ``meta['converted_from']``.
    """
    # A conversion killed while writing leaves any old file of that name as
    # it was, not a truncated checkpoint.
    atomic_torch_save(
        dict(
            state_dict=result.state_dict,
            meta=dict(
                converted_from=osp.basename(converted_from),
                source_type=result.source_type)), filename)
