# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Pretrained backbone + adapter-only checkpoint -> one full checkpoint.

Usage:
    python tools/model_converters/merge_adapters.py CONFIG ADAPTER_CKPT OUT \\
        [--pretrained BACKBONE.pth]

The frozen weights come from the config's pretrained path (the backbone's
``init_cfg``) or ``--pretrained``, exactly as in training and
``tools/test.py``; the adapter checkpoint's fingerprint must match them.
One that lost its meta alone (its state dict saved again) is merged as
``tools/test.py`` loads it: checked against its state dict's record of
the frozen backbone, the fingerprint of each tensor.
ADAPTER_CKPT may be an address (``https://...``), downloaded and loaded
with ``weights_only=True`` as ``load_checkpoint`` does.
OUT is a plain full checkpoint for deployment: it fills every key of the
config's model (``strict=True``, but for the tensors a host's load pre-hook
drops and rebuilds: SwinTransformerV2's position tables) and needs neither
the pretrained file nor the AdapterHook. Its meta keeps that pretrained
path (``frozen_host_sources``) for ``extract_adapters.py``. Its state
dict keeps the settings the adapters were trained with
(``<wrapper>.frozen_host_fingerprints``, a record without fingerprints:
see ``trained_settings_entries``), so that a model built with other ones
(another ``adapter.scale``, ``placement``, ``block_types``...) refuses it
on every loading path, as it refuses the adapter-only one.
"""
import argparse
import os.path as osp
import time
from typing import Any, Optional

from mmengine.logging import MMLogger

import mmadaptformer  # noqa: F401
from mmadaptformer.engine import (ADAPTER_META_KEY, build_model_and_plan,
                                  complete_adapter_checkpoint, refusals_exit)
from mmadaptformer.engine.adapter_checkpoint import (HOST_SOURCES_META_KEY,
                                                     frozen_host_sources)
from mmadaptformer.engine.adapter_checkpoint.layout import (
    check_adapter_record, check_tensor_entries, checkpoint_meta,
    checkpoint_state_dict)
from mmadaptformer.engine.adapter_checkpoint.state_record import \
    complete_from_state_record
from mmadaptformer.models import FROZEN_HOST_KEY, set_host_pretrained
from mmadaptformer.models.backbones.frozen_host_entries import \
    trained_settings_entries
from mmadaptformer.models.backbones.load_refusals import completing_recorded
from mmadaptformer.utils.adapter_record import frozen_record_key
from mmadaptformer.utils.atomic_save import atomic_torch_save
from mmadaptformer.utils.cfg_options_merge import (CfgOptionsError,
                                                   merge_cfg_options)
from mmadaptformer.utils.checkpoint_source import frozen_records
from mmadaptformer.utils.cli_types import read_config_arg
from mmadaptformer.utils.config_inputs import config_file_problem
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.converter_cli import (adapter_tool_parser,
                                               parse_adapter_tool_args,
                                               read_converter_checkpoint)
from mmadaptformer.utils.full_load import load_full_state_dict
from mmadaptformer.utils.head_fit import (WRITTEN_AT_INIT, check_holds_head,
                                          head_part_keys)
from mmadaptformer.utils.output_file import output_file_problem
from mmadaptformer.utils.recordless_adapters import recordless_adapters_cause
from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  check_state_dict)
from mmadaptformer.utils.trained_part_fit import (added_part_keys,
                                                  trained_part_name)


def build_parser() -> argparse.ArgumentParser:
    return adapter_tool_parser(
        'Merge an adapter-only checkpoint into its backbone',
        checkpoint='an adapter-only checkpoint (a file, or an http(s):// '
        'address, loaded with weights_only=True as load_checkpoint does)',
        out='the full checkpoint to write',
        pretrained='pretrained weights of the frozen backbone, as in '
        'tools/train.py and tools/test.py (default: the config\'s)')


def parse_args(argv=None):
    return parse_adapter_tool_args(build_parser(), argv)


#: What an adapter-only checkpoint is, for the errors about one that is
#: not.
EXPECTED = ("Expected an adapter-only checkpoint: a dict with a 'meta' dict "
            "and a 'state_dict' of tensors, as extract_adapters.py or "
            'training with AdapterHook writes it.')


def _full_checkpoint_advice(checkpoint: Any,
                            model: Optional[Any] = None) -> str:
    """What to do with a checkpoint that is not adapter-only: nothing if
    it holds the model's adapters (a full checkpoint), else give the one
    training wrote: a stock model's file or a backbone has none to merge."""
    keys = added_part_keys(model) if model is not None else []
    state = checkpoint.get('state_dict')
    if not keys or not isinstance(state, dict) or \
            any(key in state for key in keys):
        return 'it needs no merging.'
    part = trained_part_name(model)
    return (f'it holds none of the model\'s {len(keys)} {part} tensors '
            f'either (e.g. {keys[0]}): it is a checkpoint of a model without '
            f'them (a stock or fully fine-tuned model, or a pretrained '
            f'backbone), so there are no {part}s to merge. Give as '
            f'CHECKPOINT the adapter-only file that this config\'s training '
            f'wrote (its work dir\'s epoch_N.pth), and a backbone as '
            f'--pretrained.')


def _check_lost_record(checkpoint: dict, filename: str,
                       model: Optional[Any]) -> None:
    """Refuse an adapter-only checkpoint that lost every record of its
    frozen backbone, its tensors alone kept
    (:func:`~mmadaptformer.utils.recordless_adapters.
    recordless_adapters_cause`), named as such: nothing can check which
    backbone its adapters were trained on."""
    state = checkpoint.get('state_dict', checkpoint)
    cause = None if model is None or not isinstance(state, dict) else \
        recordless_adapters_cause(model, state)
    if cause is not None:
        raise StateDictMismatchError(
            f'{filename} is not an adapter-only checkpoint as written: '
            f'{cause}. Nothing was written.')


def check_adapter_only_layout(checkpoint: Any,
                              filename: str,
                              model: Optional[Any] = None) -> bool:
    """Refuse a loaded ``checkpoint`` not laid out as an adapter-only one.

    An adapter-only checkpoint is a dict with a ``'meta'`` dict holding the
    adapter record (``meta['adapter_checkpoint']``: a dict with
    ``saved_keys`` and ``frozen_digest``) and a ``'state_dict'`` of tensors.
    Whether its adapters fit the model and the frozen backbone is checked
    afterwards, by :func:`complete_adapter_checkpoint`, which takes that
    layout for granted.

    One that lost its meta record alone (a checkpoint without it, or its
    state dict saved bare) still holds, in its state dict, each wrapper's
    record of its frozen backbone, which ``tools/test.py`` and
    ``tools/infer.py`` check as they load it: it is taken too, for
    :func:`~mmadaptformer.engine.adapter_checkpoint.state_record.
    complete_from_state_record` to check against that record.

    Args:
        checkpoint (Any): What :func:`safe_torch_load` returned.
        filename (str): The checkpoint's path, for the error.
        model (nn.Module, optional): The model built from the config, for
            naming a checkpoint without its adapters (a stock model's, a
            backbone) as such rather than as a full one. Defaults to None.

    Raises:
        StateDictMismatchError: If it is not a dict, its ``'meta'`` is not a
            dict, its ``'state_dict'`` is not a dict of tensors by name
            (and the frozen backbone's records) or its adapter record is
            not one; the message names ``filename``.
        SystemExit: If it is a full checkpoint, which needs no merging, or
            one without the model's adapters, which has none to merge.

    Returns:
        bool: True if it holds its meta record; False if its state dict's
        records of the frozen backbone are all that record it.
    """
    meta = checkpoint_meta(checkpoint, filename, EXPECTED, 'write')
    if ADAPTER_META_KEY not in meta:
        if frozen_record_key(checkpoint) is not None:
            state = checkpoint_state_dict(checkpoint, filename, EXPECTED)
            check_tensor_entries(
                state,
                filename,
                "its 'state_dict'" if 'state_dict' in checkpoint else 'it',
                EXPECTED,
                ignore=lambda key: key.endswith(FROZEN_HOST_KEY))
            return False
        _check_lost_record(checkpoint, filename, model)
        raise SystemExit(
            f'Error: {filename} is not an adapter-only checkpoint (its '
            f'meta has no {ADAPTER_META_KEY!r}); '
            f'{_full_checkpoint_advice(checkpoint, model)}')
    state = checkpoint_state_dict(
        checkpoint, filename, EXPECTED, adapter_only=True)
    # The frozen backbone's records are checked where they are read.
    check_tensor_entries(
        state,
        filename,
        "its 'state_dict'",
        EXPECTED,
        ignore=lambda key: key.endswith(FROZEN_HOST_KEY))
    check_adapter_record(meta[ADAPTER_META_KEY], filename, EXPECTED)
    return True


def main(argv=None):
    args = parse_args(argv)
    # Bad input ends with its message on one line, not a traceback.
    with refusals_exit():
        merge(args)


def merge(args):
    # A logger of its own becomes MMEngine's current one: warnings only, so
    # initialising the model does not print every tensor's initialisation.
    MMLogger.get_instance(
        f'merge_adapters_{time.time_ns()}', log_level='WARNING')
    # One that cannot be read (not Python, a missing _base_) is a mistake
    # of the command line: exit status 2, as in train.py and infer.py.
    cfg = read_config_arg(build_parser(), args.config)
    if args.pretrained is not None:
        set_host_pretrained(cfg, args.pretrained)
    try:
        merge_cfg_options(cfg, args.cfg_options)
    except CfgOptionsError as e:
        # A mistake of the command line, as in train.py: exit 2.
        build_parser().error(str(e))
    checkpoint = read_converter_checkpoint(args.checkpoint)
    # A whole model the adapter-only checkpoint records as its frozen
    # backbone (a run fine-tuned from it) is taken as --pretrained. (A
    # checkpoint without a state dict is refused after the build.)
    records = frozen_records(checkpoint).values()
    # A misspelled type names the config file and key.
    with naming_config_mistakes(cfg, args.config, args.cfg_options), \
            completing_recorded(records):
        model, plan = build_model_and_plan(cfg)
    if check_adapter_only_layout(checkpoint, args.checkpoint, model):
        complete_adapter_checkpoint(
            model, checkpoint, plan, source=args.checkpoint, purpose='write')
    else:
        # Its meta lost alone: checked as tools/test.py loads it, against
        # its state dict's fingerprints of each frozen tensor.
        if 'state_dict' not in checkpoint:  # its state dict saved bare
            checkpoint = dict(state_dict=checkpoint)
        checkpoint['meta'] = checkpoint.get('meta') or {}
        complete_from_state_record(
            model, checkpoint['state_dict'], plan, source=args.checkpoint)
    # The pretrained files just verified to be the adapters' backbone, for
    # extract_adapters.py to record again (the merged file is none).
    sources = frozen_host_sources(model)
    # The config's own pretrained path is known only now.
    problem = output_file_problem(args.out, 'out',
                                  [(source, 'pretrained backbone')
                                   for source in sources.values()])
    if problem:
        build_parser().error(problem)
    # Neither may it be a file the config's run reads (a _base_,
    # load_from, ...) or the download cache's place for an address the
    # config names, which a later load of the config would be handed the
    # output for. After the backbone's check, whose message is the
    # more specific one for the backbone's own file.
    problem = config_file_problem(args.out, 'out', args.config, cfg)
    if problem:
        build_parser().error(problem)
    source = f'{args.checkpoint} (config {args.config})'
    # A head-less input is a backbone, said so, not "damaged" (one with
    # a head of another kind is named by the check below).
    if not any(key in checkpoint['state_dict']
               for key in head_part_keys(model)):
        check_holds_head(
            model,
            checkpoint['state_dict'],
            source,
            before_load=True,
            outcome=WRITTEN_AT_INIT,
            purpose='merge')
    # Adapters of another task (another head) are named, not a traceback.
    check_state_dict(
        model,
        checkpoint['state_dict'],
        source=source,
        allow_fresh=False,
        hint='Is it an adapter-only checkpoint of this config\'s model?')
    # strict=True would refuse the tensors a host's load pre-hook drops
    # and rebuilds (SwinV2's position tables); this refuses the rest.
    load_full_state_dict(model, checkpoint['state_dict'], source)
    meta = {
        k: v
        for k, v in checkpoint['meta'].items() if k != ADAPTER_META_KEY
    }
    meta['merged_from'] = osp.basename(args.checkpoint)
    meta[HOST_SOURCES_META_KEY] = sources
    state = model.state_dict()
    tensors = len(state)
    # The settings the adapters were just loaded with: those they trained
    # with, where the adapter-only checkpoint records them (checked above).
    state.update(trained_settings_entries(model))
    # Killed while writing, it leaves any old file of that name as it was,
    # not a truncated checkpoint that a later test would read.
    size = atomic_torch_save(dict(meta=meta, state_dict=state), args.out)
    print(f'Wrote {args.out}: {tensors} tensors, {size / 2**20:.2f} MiB.')


if __name__ == '__main__':
    main()
