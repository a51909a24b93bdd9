# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A tiny UniFormer recipe and a pretrained file for it whose batch norms
hold running statistics other than their initial zeros and ones."""
from typing import Dict, Optional

import torch

#: The host of the tiny AdaptFormer video recipe replaced by a tiny
#: UniFormer: its convolution stages hold batch norms, and so does its final
#: ``norm`` (state-dict keys ``backbone.norm.*``).
UNIFORMER_HOST = dict(
    type='UniFormer',
    depth=[1, 1, 1, 1],
    embed_dim=[16, 16, 32, 64],
    head_dim=16,
    img_size=32)


def uniformer_model_cfg(pretrained: Optional[str] = None) -> str:
    """Config lines of the tiny UniFormer recognizer, loading the host from
    ``pretrained`` (a file of :func:`save_uniformer_checkpoint`) if given."""
    host = dict(UNIFORMER_HOST, _delete_=True)
    if pretrained:
        host['init_cfg'] = dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    return (f'model = dict(backbone=dict(backbone={host!r}), '
            "cls_head=dict(_delete_=True, type='I3DHead', in_channels=64, "
            "num_classes=2, average_clips='prob'))\n")


def save_uniformer_checkpoint(path: str) -> Dict[str, torch.Tensor]:
    """Save a stock tiny UniFormer (``backbone.`` keys) whose batch norms'
    running means and variances are random, as a pretrained backbone's are:
    the initial zeros and ones survive any averaging unchanged. Returns its
    state dict, keys without the prefix."""
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope('mmaction')
    torch.manual_seed(0)
    host = MODELS.build(dict(UNIFORMER_HOST))
    for module in host.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    state = host.state_dict()
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in state.items()}}, path)
    return state
