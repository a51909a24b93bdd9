# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Checkpoints that tests save; a check that a host's one loads."""
from typing import Optional

from repo_paths import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG


class FailsToPickle:
    """A checkpoint value whose pickling raises, so that ``torch.save``
    fails after writing what comes before it."""

    def __reduce__(self):
        raise RuntimeError('this value cannot be pickled')


def save_stock_video_checkpoint(path: str, seed: int = 0) -> dict:
    """A full checkpoint of the stock tiny video recognizer, in MMAction2's
    key layout (``backbone.*``, ``cls_head.*``), random weights."""
    return _save_stock(TINY_VIDEO_CONFIG, 'mmaction', path, seed)


def save_stock_image_checkpoint(path: str, seed: int = 0) -> dict:
    """A full checkpoint of the stock tiny image classifier (a plain ViT),
    in MMPretrain's key layout (``backbone.*``, ``head.*``), random
    weights."""
    return _save_stock(TINY_IMAGE_CONFIG, 'mmpretrain', path, seed)


def _save_stock(config: str, scope: str, path: str, seed: int) -> dict:
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(config)
    init_default_scope(scope)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = model.state_dict()
    torch.save({'state_dict': state, 'meta': {}}, path)
    return state


def save_as_built_checkpoint(config: str, path: str) -> str:
    """A full checkpoint of ``config``'s model as
    :func:`~mmadaptformer.apis.init_model` builds it (random weights), for
    tests of what the inference APIs do before or around the weights: they
    take no model without a checkpoint."""
    import torch

    from mmadaptformer.apis import init_model
    torch.manual_seed(0)
    model, _ = init_model(config)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def assert_host_loads_pretrained(cfg: dict,
                                 tmp_path,
                                 host_cfg: Optional[dict] = None) -> None:
    """A checkpoint of the stock backbone ``cfg`` (MMEngine layout,
    ``backbone.`` keys) loads into an AdaptFormer on it (on ``host_cfg``,
    if given) through the ``Pretrained`` init_cfg that ``--pretrained``
    sets."""
    import torch
    from mmengine.registry import MODELS

    from mmadaptformer.models import AdaptFormer
    torch.manual_seed(0)
    stock = MODELS.build(cfg)
    stock.init_weights()
    expected = stock.state_dict()
    path = str(tmp_path / 'pretrained.pth')
    torch.save(
        {'state_dict': {f'backbone.{k}': v
                        for k, v in expected.items()}}, path)
    torch.manual_seed(1)
    model = AdaptFormer(
        backbone=dict(
            host_cfg or cfg,
            init_cfg=dict(
                type='Pretrained', checkpoint=path, prefix='backbone.')))
    model.init_weights()
    assert model.host_source == path
    for key in ('pretrained', 'pretrained2d', 'clip_pretrained'):
        if key in (host_cfg or {}):  # the host's own settings are kept
            assert getattr(model.backbone, key) == host_cfg[key], key
    state = model.state_dict()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key


def save_trained_adaptformer(config: str,
                             path,
                             seed: int = 0,
                             num_classes: Optional[int] = None) -> dict:
    """Save a full AdaptFormer checkpoint of ``config``'s (mmaction) model
    whose adapters are not at their (zero) initialisation, with a head of
    ``num_classes`` if given; return its state dict."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(config)
    if num_classes is not None:
        cfg.model.cls_head.num_classes = num_classes
    init_default_scope('mmaction')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = model.state_dict()
    for key, value in state.items():
        if 'adaptmlp' in key:
            state[key] = torch.randn_like(value)
    torch.save({'state_dict': state, 'meta': {}}, str(path))
    return state
