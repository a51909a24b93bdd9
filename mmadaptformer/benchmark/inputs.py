# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What the training benchmark builds from a config: the input shape, the
model of each mode, a synthetic batch and the optimizer wrapper."""
import copy
from typing import Optional, Tuple

from ..utils import HEAD_NAMES
from ..utils.pretrained_init import is_pretrained_cfg
from .options import ADAPTFORMER_TYPES, AMP_DTYPES, WRAPPER_TYPES


def load_config(args):
    """The config of ``args.config`` with ``args.cfg_options`` merged.

    A config that does not load (not valid Python, a bad
    ``--cfg-options``) or has no ``model`` dict ends the command line with
    ``parser.error`` (exit status 2), naming the file.

    Args:
        args (argparse.Namespace): The benchmark's options.

    Returns:
        Config: The config.
    """
    from .cli import load_model_config
    from .options import build_parser
    return load_model_config(build_parser(), args.config, args.cfg_options)


def _pipeline(cfg) -> list:
    dataset = cfg.get('train_dataloader', {}).get('dataset', {})
    while 'pipeline' not in dataset and isinstance(
            dataset.get('dataset'), dict):
        dataset = dataset['dataset']  # RepeatDataset and alike
    return list(dataset.get('pipeline', []))


def _hw(value) -> Optional[Tuple[int, int]]:
    if isinstance(value, int) and value > 0:
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2 and \
            all(isinstance(v, int) and v > 0 for v in value):
        return value[1], value[0]  # (w, h) in OpenMMLab transforms
    return None


#: How ``benchmark_train.py``'s command line names the input's overrides.
OVERRIDE_FLAGS = dict(size='--img-size', frames='--num-frames')


def input_spec(cfg, args, flags: Optional[dict] = None) -> dict:
    """Batch size and per-sample input shape, from flags or the config.

    Args:
        cfg (Config): The config.
        args (argparse.Namespace): The benchmark's options
            (``batch_size``, ``num_frames``, ``img_size`` override).
        flags (dict, optional): How the command line names the ``size``
            and ``frames`` overrides, for ``sources`` (``get_flops.py``'s
            ``--shape`` gives both). Defaults to None:
            :data:`OVERRIDE_FLAGS`.

    Returns:
        dict: ``batch_size``, ``sample_shape`` (one sample's uint8 input as
        the data preprocessor takes it), ``video`` and ``sources`` (where
        the size, the frames and the batch size came from).
    """
    model = cfg.model
    preprocessor = model.get('data_preprocessor') or {}
    backbone = model.backbone
    if backbone.get('type') in WRAPPER_TYPES:
        backbone = backbone.backbone
    video = cfg.get('default_scope') == 'mmaction'

    frames, clips, size = None, 1, None
    for transform in _pipeline(cfg):
        kind = transform.get('type', '')
        if frames is None and 'clip_len' in transform:
            frames = transform['clip_len']
            clips = transform.get('num_clips', 1)
        if kind in ('Resize', 'RandomResizedCrop') and \
                not transform.get('keep_ratio', False):
            size = _hw(transform.get('scale')) or size
        for key in ('crop_size', 'input_size'):
            size = _hw(transform.get(key)) or size
    flags = dict(OVERRIDE_FLAGS, **(flags or {}))
    sources = dict(size='train pipeline')
    if size is None:
        size = backbone.get('img_size', 224)
        size = (size, size) if isinstance(size, int) else tuple(size)
        sources['size'] = 'backbone img_size'
    if args.img_size:
        size = (args.img_size[0], args.img_size[-1])
        sources['size'] = flags['size']
    if video:
        sources['frames'] = 'train pipeline'
        if frames is None:
            frames = backbone.get('num_frames', 1)
            sources['frames'] = 'backbone num_frames'
        if args.num_frames:
            frames = args.num_frames
            sources['frames'] = flags['frames']

    batch_size = (cfg.get('train_dataloader') or {}).get('batch_size')
    sources['batch_size'] = 'train_dataloader.batch_size'
    if batch_size is None:
        batch_size, sources['batch_size'] = 1, 'none in the config'
    if args.batch_size:
        batch_size, sources['batch_size'] = args.batch_size, '--batch-size'
    fmt = preprocessor.get('format_shape', 'NCTHW' if video else 'NCHW')
    if not video:
        shape = (3, *size)
    elif fmt == 'NCTHW':
        shape = (clips, 3, frames, *size)
    else:
        shape = (clips * frames, 3, *size)
    return dict(
        batch_size=batch_size,
        sample_shape=list(shape),
        video=video,
        sources=sources)


def _drop_pretrained(node) -> None:
    """Load no checkpoint: speed and memory do not depend on the values."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if is_pretrained_cfg(init):
            node['init_cfg'] = None
        elif isinstance(init, (list, tuple)):
            kept = [c for c in init if not is_pretrained_cfg(c)]
            node['init_cfg'] = kept or None
        if node.get('pretrained'):
            node['pretrained'] = None
        for value in node.values():
            _drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_pretrained(value)


def _resize_backbone(backbone: dict, args) -> None:
    """Build the host backbone for ``--num-frames`` and ``--img-size``.

    The inputs of :func:`input_spec` follow these flags; a backbone built
    for the config's clip fails on them (mmaction2's VideoMAE ViT
    interpolates its position table over space, not over time:
    ``The size of tensor a (4) must match the size of tensor b (16)``).
    Only keys the backbone config already has are changed, and
    ``img_size`` only to a square (mmaction2's takes an int; both hosts
    interpolate their position tables to another grid).
    """
    frames = getattr(args, 'num_frames', None)
    if frames and 'num_frames' in backbone:
        backbone['num_frames'] = frames
    size = getattr(args, 'img_size', None)
    if size and size[0] == size[-1] and 'img_size' in backbone:
        backbone['img_size'] = size[0]


def model_cfg_for(cfg, mode: str, args) -> Tuple[dict, bool]:
    """The model config of ``mode``, and whether adapters were added.

    Args:
        cfg (Config): The config.
        mode (str): One of :data:`MODES`.
        args (argparse.Namespace): The benchmark's options (the fast-path
            switches; ``num_frames`` and ``img_size``, where given, size
            the backbone as they size the inputs).

    Returns:
        tuple[dict, bool]: The model config without pretrained weights, and
        whether the config had no adapters and got AdaptFormer's defaults.
    """
    model = copy.deepcopy(cfg.model.to_dict())
    _drop_pretrained(model)
    backbone = model['backbone']
    # A VPT config's host too: full_ft and linear_probe measure the stock
    # model (a VPT wrapper kept there refuses to train its host unplanned),
    # the adaptformer modes AdaptFormer on that host.
    host = backbone['backbone'] if backbone.get(
        'type') in WRAPPER_TYPES else backbone
    _resize_backbone(host, args)
    has_adapters = backbone.get('type') in ADAPTFORMER_TYPES
    added = False
    if mode.startswith('adaptformer'):
        if not has_adapters:
            backbone = dict(type='AdaptFormer', backbone=host)
            added = True
        plain = mode == 'adaptformer_plain'
        backbone['fused_attention'] = not (plain or args.no_fused_attn)
        backbone['contiguous_tokens'] = not (plain
                                             or args.no_contiguous_tokens)
        backbone['with_cp'] = args.with_cp and not plain
    else:
        backbone = host
    model['backbone'] = backbone
    return model, added


def synthetic_batch(spec: dict, num_classes: int, device: str) -> dict:
    """A batch of random uint8 inputs and labels, as a data loader gives.

    Args:
        spec (dict): The result of :func:`input_spec`.
        num_classes (int): Labels are drawn from ``range(num_classes)``.
        device (str): Where the inputs are put.

    Returns:
        dict: ``inputs`` and ``data_samples``, seeded (the same every call).
    """
    import torch
    generator = torch.Generator().manual_seed(0)
    if spec['video']:
        from mmaction.structures import ActionDataSample as Sample
    else:
        from mmpretrain.structures import DataSample as Sample
    inputs, samples = [], []
    for _ in range(spec['batch_size']):
        inputs.append(
            torch.randint(
                0,
                256,
                spec['sample_shape'],
                dtype=torch.uint8,
                generator=generator).to(device))
        label = int(torch.randint(num_classes, (1, ), generator=generator))
        samples.append(Sample().set_gt_label(label))
    return dict(inputs=inputs, data_samples=samples)


def num_classes_of(model_cfg: dict) -> int:
    """The head's ``num_classes`` of a model config, 2 if it has none."""
    for key in HEAD_NAMES:
        head = model_cfg.get(key) or {}
        if isinstance(head.get('num_classes'), int):
            return head['num_classes']
    return 2


def optim_wrapper_cfg_for(cfg, amp: str, device: str) -> dict:
    """The config's optimizer wrapper, with ``amp``'s wrapper type.

    Args:
        cfg (Config): The config.
        amp (str): ``'none'``, ``'bf16'`` or ``'fp16'``.
        device (str): ``'cpu'`` or ``'cuda'``.

    Returns:
        dict: ``OptimWrapper`` without autocast, else the recipes'
        ``AdaptAmpOptimWrapper`` in ``amp``'s dtype, told to autocast on the
        CPU too (``cpu_bf16=True``).
    """
    optim = copy.deepcopy(cfg.optim_wrapper.to_dict())
    for key in ('loss_scale', 'dtype', 'use_fsdp', 'device_type'):
        optim.pop(key, None)
    if amp == 'none':
        optim['type'] = 'OptimWrapper'
    else:
        # The recipes' wrapper on a GPU; on the CPU a benchmark asks for
        # bfloat16 autocast, which the recipes get only from --amp.
        optim.update(
            type='AdaptAmpOptimWrapper',
            dtype=AMP_DTYPES[amp],
            device_type=device,
            cpu_bf16=True)
    return optim
