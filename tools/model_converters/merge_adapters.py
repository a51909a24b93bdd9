# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Pretrained backbone + adapter-only checkpoint -> one full checkpoint.

Usage:
    python tools/model_converters/merge_adapters.py CONFIG ADAPTER_CKPT OUT \\
        [--pretrained BACKBONE.pth]

The frozen weights come from the config's pretrained path (the backbone's
``init_cfg``) or ``--pretrained``, exactly as in training and
``tools/test.py``; the adapter checkpoint's fingerprint must match them.
OUT is a plain full checkpoint for deployment: it loads ``strict=True``
into the config's model and needs neither the pretrained file nor the
AdapterHook. Its meta keeps that pretrained path (``frozen_host_sources``)
for ``extract_adapters.py``.
"""
import argparse
import os
import os.path as osp
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger

import mmadaptformer  # noqa: F401
from mmadaptformer.engine import (ADAPTER_META_KEY, build_model_and_plan,
                                  complete_adapter_checkpoint, refusals_exit)
from mmadaptformer.engine.adapter_checkpoint import (HOST_SOURCES_META_KEY,
                                                     frozen_host_sources)
from mmadaptformer.utils import safe_torch_load, set_pretrained_backbone


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Merge an adapter-only checkpoint into its backbone')
    parser.add_argument('config', help='the AdaptFormer config')
    parser.add_argument('checkpoint', help='an adapter-only checkpoint')
    parser.add_argument('out', help='the full checkpoint to write')
    parser.add_argument(
        '--pretrained',
        metavar='CHECKPOINT',
        help='pretrained weights of the frozen backbone, as in '
        'tools/train.py and tools/test.py (default: the config\'s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, as in tools/train.py')
    return parser.parse_args(argv)


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
    cfg = Config.fromfile(args.config)
    if args.pretrained is not None:
        set_pretrained_backbone(cfg, args.pretrained)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    checkpoint = safe_torch_load(args.checkpoint, map_location='cpu')
    if ADAPTER_META_KEY not in checkpoint.get('meta', {}):
        raise SystemExit(
            f'Error: {args.checkpoint} is not an adapter-only checkpoint (its '
            f'meta has no {ADAPTER_META_KEY!r}); it needs no merging.')
    model, plan = build_model_and_plan(cfg)
    complete_adapter_checkpoint(model, checkpoint, plan)
    # The pretrained files just verified to be the adapters' backbone, for
    # extract_adapters.py to record again (the merged file is none).
    sources = frozen_host_sources(model)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    meta = {
        k: v
        for k, v in checkpoint['meta'].items() if k != ADAPTER_META_KEY
    }
    meta['merged_from'] = osp.basename(args.checkpoint)
    meta[HOST_SOURCES_META_KEY] = sources
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    state = model.state_dict()
    torch.save(dict(meta=meta, state_dict=state), args.out)
    print(f'Wrote {args.out}: {len(state)} tensors, '
          f'{osp.getsize(args.out) / 2**20:.2f} MiB.')


if __name__ == '__main__':
    main()
