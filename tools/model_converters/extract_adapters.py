# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Full checkpoint -> adapter-only checkpoint.

Usage:
    python tools/model_converters/extract_adapters.py CONFIG FULL_CKPT OUT

CONFIG is the AdaptFormer config the checkpoint was trained with (its
``AdapterHook`` says what is trainable). OUT holds only the trainable parts
and the fingerprint of the frozen weights in FULL_CKPT, so it loads (with
``tools/test.py CONFIG OUT`` or ``merge_adapters.py``) only on a backbone
with exactly those frozen weights. It names as their source the pretrained
file that ``merge_adapters.py`` kept in a merged FULL_CKPT's meta, else
FULL_CKPT itself.
"""
import argparse
import os.path as osp
import re
import time
from typing import List, Optional, Tuple

import torch
from mmengine.logging import MMLogger

import mmadaptformer  # noqa: F401
from mmadaptformer.engine import (ADAPTER_META_KEY, build_model_and_plan,
                                  make_adapter_checkpoint, refusals_exit)
from mmadaptformer.engine.adapter_checkpoint import (HOST_SOURCES_META_KEY,
                                                     check_tensor_entries,
                                                     checkpoint_meta,
                                                     frozen_host_sources)
from mmadaptformer.models import (FROZEN_HOST_KEY, FrozenHostWrapper,
                                  own_loading_hint_of_cfg)
from mmadaptformer.utils import safe_torch_load, set_pretrained_backbone
from mmadaptformer.utils.atomic_save import atomic_torch_save
from mmadaptformer.utils.cfg_options import ConfigOptions
from mmadaptformer.utils.config_file import load_config_file, merge_cfg_options
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.converter_cli import parse_converter_args
from mmadaptformer.utils.fingerprint import state_fingerprints
from mmadaptformer.utils.local_files import is_local
from mmadaptformer.utils.output_file import output_file_problem
from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  check_state_dict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Extract the trainable parts of a full checkpoint')
    parser.add_argument('config', help='the AdaptFormer config')
    parser.add_argument('checkpoint', help='a full checkpoint')
    parser.add_argument('out', help='the adapter-only checkpoint to write')
    parser.add_argument(
        '--pretrained',
        metavar='CHECKPOINT',
        help='pretrained weights of the frozen backbone the adapters were '
        'trained on, which the tensors the config leaves frozen must equal '
        '(default: the one a merged checkpoint records; without either, '
        'nothing is compared and the tool says so)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=ConfigOptions,
        help='override settings in the config, as in tools/train.py')
    return parser


def parse_args(argv=None):
    return parse_converter_args(build_parser(), argv, 'out',
                                [('config', 'config'),
                                 ('checkpoint', 'checkpoint'),
                                 ('pretrained', '--pretrained backbone')])


#: What a full checkpoint is, for the errors about one that is not.
EXPECTED = ("Expected a full checkpoint: a dict with a 'state_dict' of "
            'tensors (and optionally a \'meta\' dict), as tools/train.py '
            'saves it, or a bare state dict.')


def full_state_dict(checkpoint: dict, filename: str) -> dict:
    """The state dict of a loaded full checkpoint: its ``'state_dict'``, or
    the checkpoint itself when it is a bare state dict.

    Args:
        checkpoint (dict): What :func:`safe_torch_load` returned.
        filename (str): The checkpoint's path, for the error.

    Returns:
        dict: The state dict.

    Raises:
        StateDictMismatchError: If that is not a non-empty dict of
            tensors; the message names ``filename`` and the entries that
            are not tensors.
    """
    where = "its 'state_dict'" if 'state_dict' in checkpoint else 'it'
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict) or not state:
        what = 'empty' if isinstance(state, dict) else \
            f'a {type(state).__name__}'
        raise StateDictMismatchError(
            f'{filename}: {where} is {what}, not a state dict of tensors. '
            f'{EXPECTED}')
    # A merged checkpoint's record of the adapters' settings is checked
    # where the model loads it.
    check_tensor_entries(
        state,
        filename,
        where,
        EXPECTED,
        ignore=lambda key: key.endswith(FROZEN_HOST_KEY))
    return state


def main(argv=None):
    args = parse_args(argv)
    # Bad input ends with its message on one line, not a traceback.
    with refusals_exit():
        extract(args)


def reference_backbone(args,
                       meta: dict) -> Tuple[Optional[str], Optional[str]]:
    """The pretrained file whose tensors the config's frozen ones must
    equal: ``--pretrained``, else the one a merged checkpoint records
    (merge_adapters.py verified it); else None, and why nothing is
    compared."""
    if args.pretrained is not None:
        return args.pretrained, None
    recorded = meta.get(HOST_SOURCES_META_KEY)
    sources = set(recorded.values()) if isinstance(recorded, dict) else set()
    if len(sources) != 1:
        return None, 'it records no pretrained backbone'
    source = sources.pop()
    if not is_local(source) or osp.isfile(source):
        return source, None
    return None, f'the pretrained backbone it records, {source}, is not there'


def trainable_patterns(keys: List[str]) -> str:
    """``extra_trainable`` patterns that match the modules of ``keys``."""
    modules = dict.fromkeys(key.rsplit('.', 1)[0] for key in keys)
    return ', '.join(f"r'^{re.escape(m)}\\.'" for m in modules)


def refuse_dropped_trained(args, reference: str, frozen: List[str],
                           differ: List[str]) -> None:
    """End with a command-line error: the config leaves frozen (and the
    adapter-only checkpoint would drop) tensors that differ from the
    pretrained backbone, i.e. that were trained."""
    shown = ', '.join(differ[:5]) + (', ...' if len(differ) > 5 else '')
    build_parser().error(
        f'{len(differ)} of the {len(frozen)} tensors that the AdapterHook '
        f'of {args.config} leaves frozen differ from the pretrained '
        f'backbone {reference} in {args.checkpoint} ({shown}): they were '
        'trained, and the adapter-only checkpoint would drop them. Keep '
        'them with extra_trainable=[' + trainable_patterns(differ) +
        '] in that AdapterHook (the config they were trained with), or, '
        f'if {reference} is not the backbone the adapters were trained on, '
        'give that one with --pretrained.')


def extract(args):
    # A logger of its own becomes MMEngine's current one: warnings only, so
    # loading the pretrained backbone does not print every tensor.
    MMLogger.get_instance(
        f'extract_adapters_{time.time_ns()}', log_level='WARNING')
    cfg = load_config_file(args.config)
    merge_cfg_options(cfg, args.cfg_options)
    checkpoint = safe_torch_load(args.checkpoint, map_location='cpu')
    meta = checkpoint_meta(checkpoint, args.checkpoint, EXPECTED)
    if ADAPTER_META_KEY in meta:
        raise SystemExit(
            f'Error: {args.checkpoint} is already an adapter-only checkpoint '
            f'(its meta has {ADAPTER_META_KEY!r}); merge_adapters.py makes a '
            'full one from it.')
    state = full_state_dict(checkpoint, args.checkpoint)
    reference, uncompared = reference_backbone(args, meta)
    if reference is not None:
        problem = output_file_problem(args.out, 'out',
                                      [(reference, 'pretrained backbone')])
        if problem:
            build_parser().error(problem)
        set_pretrained_backbone(
            cfg, reference, own_loading_hint=own_loading_hint_of_cfg)
    # Without a backbone to compare with, the full checkpoint replaces
    # every weight: no pretrained file needed. A misspelled type names the
    # config file and key.
    with naming_config_mistakes(cfg, args.config, args.cfg_options):
        model, plan = build_model_and_plan(
            cfg, init_weights=reference is not None)
    # What the record will name as the frozen backbone; loading the full
    # state dict next renames it.
    compared = frozen_host_sources(model)
    frozen = set(plan.frozen_keys)
    pretrained = {
        k: v.clone()
        for k, v in model.state_dict().items() if k in frozen
    } if reference is not None else {}
    # Every key, of the right shape: the checkpoint is a full one for this
    # model (the error names the file and what does not fit).
    check_state_dict(
        model,
        state,
        source=f'{args.checkpoint} (config {args.config})',
        allow_fresh=False,
        hint='Is it a full checkpoint of this config\'s model?')
    model.load_state_dict(state, strict=True)
    loaded = model.state_dict()
    differ = [
        k for k, v in pretrained.items() if not torch.equal(v, loaded[k])
    ]
    if differ:
        refuse_dropped_trained(args, reference, sorted(frozen), differ)
    # What the record names as the frozen backbone the adapters were
    # trained on: the pretrained file just compared, else the one a merged
    # checkpoint kept, else this file, which holds those weights (not
    # "state dict").
    recorded = meta.get(HOST_SOURCES_META_KEY)
    recorded = recorded if isinstance(recorded, dict) else {}
    for name, module in model.named_modules():
        if isinstance(module, FrozenHostWrapper):
            module.host_source = compared.get(name) or recorded.get(
                name) or args.checkpoint
    fingerprints = state_fingerprints(
        (k, v) for k, v in loaded.items() if k in frozen)
    out = dict(
        meta=dict(meta, extracted_from=osp.basename(args.checkpoint)),
        state_dict=dict(model.state_dict()))
    make_adapter_checkpoint(out, plan, fingerprints, model=model)
    if uncompared:
        # After every refusal (no AdapterHook, a checkpoint of another
        # model): the note is about the file about to be written.
        print(f'Note: the frozen tensors of {args.checkpoint} are not '
              f'compared with a pretrained backbone ({uncompared}): a '
              'trained one the config leaves frozen would be dropped. Give '
              '--pretrained to check.')
    # Read before writing: the output may replace a file of that name.
    size_in = osp.getsize(args.checkpoint)
    # Killed while writing, it leaves any old file of that name as it was,
    # not a truncated checkpoint that a later test would read.
    size_out = atomic_torch_save(out, args.out)
    print(f'Wrote {args.out}: {len(out["state_dict"])} of '
          f'{len(plan.saved_keys) + len(plan.frozen_keys)} tensors, '
          f'{plan.count(plan.saved_keys):,} values; '
          f'{size_out / 2**20:.2f} MiB (from {size_in / 2**20:.2f} MiB).')


if __name__ == '__main__':
    main()
