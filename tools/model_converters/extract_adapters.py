# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Full checkpoint -> adapter-only checkpoint.

Usage:
    python tools/model_converters/extract_adapters.py CONFIG FULL_CKPT OUT

CONFIG is the AdaptFormer (or VPT) config the checkpoint was trained with (its
``AdapterHook`` says what is trainable). OUT holds only the trainable parts
and the fingerprint of the frozen weights in FULL_CKPT, so it loads (with
``tools/test.py CONFIG OUT`` or ``merge_adapters.py``) only on a backbone
with exactly those frozen weights. It names as their source the pretrained
file that ``merge_adapters.py`` kept in a merged FULL_CKPT's meta, else
FULL_CKPT itself.

The tensors the config leaves frozen must equal the pretrained backbone's
(else they were trained, and OUT would drop them): ``--pretrained``, else
the one a merged FULL_CKPT records, else the one CONFIG names for its
backbone (its ``init_cfg``'s ``Pretrained`` checkpoint, or its own
``pretrained``), as ``tools/train.py`` loads it, when that is a local file
that is there. Without one, the tool says that nothing was compared and
why. FULL_CKPT may be an address (``https://...``), downloaded and loaded
with ``weights_only=True`` as ``load_checkpoint`` does.
"""
import argparse
import os.path as osp
import re
import time
from typing import List, Optional, Tuple

from mmengine.logging import MMLogger

import mmadaptformer  # noqa: F401
from mmadaptformer.engine import (ADAPTER_META_KEY, build_model_and_plan,
                                  make_adapter_checkpoint, refusals_exit)
from mmadaptformer.engine.adapter_checkpoint import (HOST_SOURCES_META_KEY,
                                                     check_tensor_entries,
                                                     checkpoint_meta,
                                                     frozen_host_sources)
from mmadaptformer.models import (FROZEN_HOST_KEY, FrozenHostWrapper,
                                  set_host_pretrained)
from mmadaptformer.utils.atomic_save import atomic_torch_save
from mmadaptformer.utils.cfg_options_merge import (CfgOptionsError,
                                                   merge_cfg_options)
from mmadaptformer.utils.cli_types import read_config_arg
from mmadaptformer.utils.config_inputs import config_file_problem
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.converter_cli import (adapter_tool_parser,
                                               parse_adapter_tool_args,
                                               read_converter_checkpoint)
from mmadaptformer.utils.fingerprint import changed_keys, state_fingerprints
from mmadaptformer.utils.full_load import load_full_state_dict
from mmadaptformer.utils.head_fit import (WRITTEN_AT_INIT, check_holds_head,
                                          head_part_keys)
from mmadaptformer.utils.local_files import home_expanded, is_local, same_file
from mmadaptformer.utils.output_file import output_file_problem
from mmadaptformer.utils.pretrained_backbone import config_backbone_file
from mmadaptformer.utils.recordless_adapters import (FROZEN_RECORD_SUFFIX,
                                                     RECORD_AGAIN)
from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  check_state_dict)
from mmadaptformer.utils.trained_part_fit import (added_part_keys,
                                                  trained_part_name)


def build_parser() -> argparse.ArgumentParser:
    return adapter_tool_parser(
        'Extract the trainable parts of a full checkpoint',
        checkpoint='a full checkpoint (a file, or an http(s):// address, '
        'loaded with weights_only=True as load_checkpoint does)',
        out='the adapter-only checkpoint to write',
        pretrained='pretrained weights of the frozen backbone the adapters '
        'were trained on, which the tensors the config leaves frozen must '
        'equal (default: the one a merged checkpoint records, else the one '
        'the config names for its backbone when it is a local file that is '
        'there; without any, nothing is compared and the tool says why)')


def parse_args(argv=None):
    return parse_adapter_tool_args(build_parser(), argv)


#: What a full checkpoint is, for the errors about one that is not.
EXPECTED = ("Expected a full checkpoint: a dict with a 'state_dict' of "
            'tensors (and optionally a \'meta\' dict), as tools/train.py '
            'saves it, or a bare state dict.')


def full_state_dict(checkpoint: dict, filename: str) -> dict:
    """The state dict of a loaded full checkpoint: its ``'state_dict'``, or
    the checkpoint itself when it is a bare state dict.

    Args:
        checkpoint (dict): What :func:`read_converter_checkpoint` returned.
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


def reference_backbone(args, meta: dict,
                       cfg) -> Tuple[Optional[str], Optional[str], bool]:
    """The pretrained file whose tensors the config's frozen ones must
    equal: ``--pretrained``, else the one a merged checkpoint records
    (merge_adapters.py verified it), else the local file the config names
    for its backbone (:func:`config_backbone_file`); else None, and why nothing
    is compared. The last item says whether the file is the config's own
    (which the config loads as it is)."""
    if args.pretrained is not None:
        return args.pretrained, None, False
    source = recorded_backbone(meta)
    if source is not None:
        if not is_local(source):
            return source, None, False
        # As the checkpoint loaders read it (with ``~`` expanded).
        if osp.isfile(home_expanded(source)):
            return home_expanded(source), None, False
        why = f'the pretrained backbone it records, {source}, is not there'
    else:
        why = 'it records no pretrained backbone'
    path, why_not = config_backbone_file(cfg, args.config)
    if path is not None:
        return path, None, True
    return None, f'{why}, and {why_not}', False


def trainable_patterns(keys: List[str]) -> str:
    """``extra_trainable`` patterns that match the modules of ``keys``."""
    modules = dict.fromkeys(key.rsplit('.', 1)[0] for key in keys)
    return ', '.join(f"r'^{re.escape(m)}\\.'" for m in modules)


def recorded_backbone(meta: dict) -> Optional[str]:
    """The one pretrained backbone a merged checkpoint records
    (``meta[HOST_SOURCES_META_KEY]``, verified by merge_adapters.py), or
    None."""
    recorded = meta.get(HOST_SOURCES_META_KEY)
    sources = set(recorded.values()) if isinstance(recorded, dict) else set()
    return sources.pop() if len(sources) == 1 else None


def refuse_dropped_trained(args,
                           reference: str,
                           frozen: List[str],
                           differ: List[str],
                           recorded: Optional[str] = None) -> None:
    """End with a command-line error: the config leaves frozen (and the
    adapter-only checkpoint would drop) tensors that differ from the
    pretrained backbone, i.e. that were trained, unless ``--pretrained`` is
    another file than the backbone ``recorded`` in a merged checkpoint:
    that is said first, as the likelier mistake."""
    shown = ', '.join(differ[:5]) + (', ...' if len(differ) > 5 else '')
    keep = ('them with extra_trainable=[' + trainable_patterns(differ) +
            '] in that AdapterHook (the '
            'config they were trained with)')
    if recorded is not None and args.pretrained is not None and \
            not same_file(recorded, args.pretrained):
        build_parser().error(
            f'{len(differ)} of the {len(frozen)} tensors that the '
            f'AdapterHook of {args.config} leaves frozen differ from '
            f'--pretrained {reference} in {args.checkpoint} ({shown}), '
            f'which records that its adapters were trained on {recorded} '
            '(merge_adapters.py verified it): give that one with '
            '--pretrained, or leave --pretrained out to compare with it. '
            f'If {reference} is that backbone, the tensors were trained: '
            f'keep {keep}.')
    build_parser().error(
        f'{len(differ)} of the {len(frozen)} tensors that the AdapterHook '
        f'of {args.config} leaves frozen differ from the pretrained '
        f'backbone {reference} in {args.checkpoint} ({shown}): they were '
        f'trained, and the adapter-only checkpoint would drop them. Keep '
        f'{keep}, or, if {reference} is not the backbone the '
        'adapters were trained on, give that one with --pretrained.')


def refuse_without_trained_part(model, state: dict, source: str) -> None:
    """Refuse a full checkpoint that holds none of the model's adapters (or
    prompts): there is nothing trained to extract.

    Args:
        model (nn.Module): The config's model.
        state (dict): The checkpoint's state dict.
        source (str): The checkpoint and config, for the error.

    Raises:
        StateDictMismatchError: Naming the file, an adapter key and what
            to give instead.
    """
    added = added_part_keys(model)
    if not added or any(key in state for key in added):
        return
    part = trained_part_name(model)
    raise StateDictMismatchError(
        f'{source} holds none of the model\'s {len(added)} {part} tensors '
        f'(e.g. {added[0]}): there are no trained {part}s to extract. It '
        f'is a checkpoint of a model without these {part}s (a stock or '
        'fully fine-tuned model, a converted VideoMAE or MAE checkpoint), '
        'not a full checkpoint of this config\'s training. Evaluate it '
        'with its own config (the stock model\'s); to train the '
        f'{part}s on it, give it to tools/train.py as --pretrained (the '
        'backbone alone) or load_from. This tool takes a full checkpoint '
        'that training this config wrote (AdapterHook with '
        'adapter_only_checkpoint=False) or merge_adapters.py\'s output. '
        'Nothing was written.')


def extract(args):
    # A logger of its own becomes MMEngine's current one: warnings only, so
    # loading the pretrained backbone does not print every tensor.
    MMLogger.get_instance(
        f'extract_adapters_{time.time_ns()}', log_level='WARNING')
    # One that cannot be read (not Python, a missing _base_) is a mistake
    # of the command line: exit status 2, as in train.py and infer.py.
    cfg = read_config_arg(build_parser(), args.config)
    try:
        merge_cfg_options(cfg, args.cfg_options)
    except CfgOptionsError as e:
        # A mistake of the command line, as in train.py: exit 2.
        build_parser().error(str(e))
    checkpoint = read_converter_checkpoint(args.checkpoint)
    meta = checkpoint_meta(checkpoint, args.checkpoint, EXPECTED)
    if ADAPTER_META_KEY in meta:
        state = checkpoint.get('state_dict')
        # Written before the state dict recorded its frozen backbone: the
        # toolboxes' own loads refuse it, and its full checkpoint extracted
        # again records it.
        unrecorded = isinstance(state, dict) and not any(
            isinstance(k, str) and k.endswith(FROZEN_RECORD_SUFFIX)
            for k in state)
        raise SystemExit(
            f'Error: {args.checkpoint} is already an adapter-only checkpoint '
            f'(its meta has {ADAPTER_META_KEY!r}); merge_adapters.py makes a '
            'full one from it.' +
            (' Its state dict does not record its frozen backbone, so the '
             "toolboxes' own loads refuse it; to record it: " +
             RECORD_AGAIN.format(
                 config=args.config,
                 file=args.checkpoint,
                 backbone=args.pretrained or 'BACKBONE.pth') +
             '.' if unrecorded else ''))
    state = full_state_dict(checkpoint, args.checkpoint)
    reference, uncompared, configs_own = reference_backbone(args, meta, cfg)
    if reference is not None:
        problem = output_file_problem(args.out, 'out',
                                      [(reference, 'pretrained backbone')])
        if problem:
            build_parser().error(problem)
    # Neither may it be a file the config's run reads (a _base_,
    # load_from, ...) or the download cache's place for an address the
    # config names (not compared with here, but a later load of the
    # config would be handed the output as that address's file). After
    # the backbone's check, which names the config's own backbone file.
    problem = config_file_problem(args.out, 'out', args.config, cfg)
    if problem:
        build_parser().error(problem)
    if reference is not None and not configs_own:
        set_host_pretrained(cfg, reference)
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
    source = f'{args.checkpoint} (config {args.config})'
    # A head-less input is a backbone, said so, not "damaged" (one with
    # a head of another kind is named by the check below).
    if not any(key in state for key in head_part_keys(model)):
        # Without the adapters too (a backbone alone): both are named.
        added = added_part_keys(model)
        part = trained_part_name(model)
        lacks = '' if not added or any(k in state for k in added) else (
            f', and it holds none of the model\'s {len(added)} {part} '
            f'tensors (e.g. {added[0]}) either: the {part}s and the head are '
            'missing, there is nothing trained to extract')
        check_holds_head(
            model,
            state,
            source,
            before_load=True,
            outcome=WRITTEN_AT_INIT + lacks,
            purpose='extract')
    # One with a head but no adapters is not "damaged": it is of a model
    # without them.
    refuse_without_trained_part(model, state, source)
    check_state_dict(
        model,
        state,
        source=source,
        allow_fresh=False,
        hint='Is it a full checkpoint of this config\'s model?')
    # strict=True would refuse the tensors a host's load pre-hook drops
    # and rebuilds (SwinV2's position tables); this refuses the rest.
    load_full_state_dict(model, state, source)
    loaded = model.state_dict()
    # NaN-aware: a frozen buffer that holds a NaN is not "trained".
    differ = changed_keys(pretrained, loaded)
    if differ:
        refuse_dropped_trained(args, reference, sorted(frozen), differ,
                               recorded_backbone(meta))
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
    # Read before writing: the output may replace a file of that name. An
    # address's download is in the hub cache, whose size is not the point.
    size_in = f'from {osp.getsize(args.checkpoint) / 2**20:.2f} MiB' \
        if is_local(args.checkpoint) else f'from {args.checkpoint}'
    # Killed while writing, it leaves any old file of that name as it was,
    # not a truncated checkpoint that a later test would read.
    size_out = atomic_torch_save(out, args.out)
    print(f'Wrote {args.out}: {len(out["state_dict"])} of '
          f'{len(plan.saved_keys) + len(plan.frozen_keys)} tensors, '
          f'{plan.count(plan.saved_keys):,} values; '
          f'{size_out / 2**20:.2f} MiB ({size_in}).')


if __name__ == '__main__':
    main()
