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
import os
import os.path as osp

import torch
from mmengine.config import DictAction

import mmadaptformer  # noqa: F401
from mmadaptformer.engine import (ADAPTER_META_KEY, build_model_and_plan,
                                  make_adapter_checkpoint, refusals_exit)
from mmadaptformer.engine.adapter_checkpoint import (HOST_SOURCES_META_KEY,
                                                     check_tensor_entries,
                                                     checkpoint_meta)
from mmadaptformer.models import FROZEN_HOST_KEY, FrozenHostWrapper
from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.config_file import load_config_file, merge_cfg_options
from mmadaptformer.utils.config_mistakes import naming_config_mistakes
from mmadaptformer.utils.fingerprint import state_fingerprints
from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  check_state_dict)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract the trainable parts of a full checkpoint')
    parser.add_argument('config', help='the AdaptFormer config')
    parser.add_argument('checkpoint', help='a full checkpoint')
    parser.add_argument('out', help='the adapter-only checkpoint to write')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, as in tools/train.py')
    return parser.parse_args(argv)


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


def extract(args):
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
    # The full checkpoint replaces every weight: no pretrained file needed.
    # A misspelled type names the config file and key.
    with naming_config_mistakes(cfg, args.config, args.cfg_options):
        model, plan = build_model_and_plan(cfg, init_weights=False)
    # Every key, of the right shape: the checkpoint is a full one for this
    # model (the error names the file and what does not fit).
    check_state_dict(
        model,
        state,
        source=f'{args.checkpoint} (config {args.config})',
        allow_fresh=False,
        hint='Is it a full checkpoint of this config\'s model?')
    model.load_state_dict(state, strict=True)
    # What the record names as the frozen backbone the adapters were
    # trained on: the pretrained file a merged checkpoint kept, else this
    # file, which holds those weights (not "state dict").
    recorded = meta.get(HOST_SOURCES_META_KEY)
    recorded = recorded if isinstance(recorded, dict) else {}
    for name, module in model.named_modules():
        if isinstance(module, FrozenHostWrapper):
            module.host_source = recorded.get(name) or args.checkpoint
    frozen = set(plan.frozen_keys)
    fingerprints = state_fingerprints(
        (k, v) for k, v in model.state_dict().items() if k in frozen)
    out = dict(
        meta=dict(meta, extracted_from=osp.basename(args.checkpoint)),
        state_dict=dict(model.state_dict()))
    make_adapter_checkpoint(out, plan, fingerprints, model=model)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(out, args.out)
    size_in, size_out = osp.getsize(args.checkpoint), osp.getsize(args.out)
    print(f'Wrote {args.out}: {len(out["state_dict"])} of '
          f'{len(plan.saved_keys) + len(plan.frozen_keys)} tensors, '
          f'{plan.count(plan.saved_keys):,} values; '
          f'{size_out / 2**20:.2f} MiB (from {size_in / 2**20:.2f} MiB).')


if __name__ == '__main__':
    main()
