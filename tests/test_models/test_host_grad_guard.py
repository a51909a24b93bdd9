# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A wrapper refuses a backward that would train its host unplanned.

A Runner built by hand with AdaptFormer and neither AdapterHook nor
ConfigCheckHook fine-tuned the whole "frozen" backbone, exit 0.
"""
import pytest
import torch
from block_builders import TINY_IMAGE_VIT
from mmengine.config import Config
from mmengine.runner import Runner
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG as TINY

from mmadaptformer.models.adapters.trainable import (apply_trainable,
                                                     plan_trainable)
from mmadaptformer.models.backbones import (VPT, AdaptFormer,
                                            HostTrainingError, host_parameters)
from mmadaptformer.testing import make_stripes_dataset

VIT = TINY_IMAGE_VIT


def _backward(model):
    out = model(torch.randn(1, 3, 32, 32))
    out = out[-1] if isinstance(out, (tuple, list)) else out
    (out * torch.randn_like(out)).sum().backward()


@pytest.mark.parametrize('cls', [AdaptFormer, VPT])
def test_backward_through_an_unfrozen_host_is_refused(cls):
    model = cls(backbone=VIT).train()
    with pytest.raises(
            HostTrainingError,
            match=f'{cls.__name__}: a backward pass would train '
            r'.* AdapterHook'):
        _backward(model)
    # Refused before any of the host's gradients was computed.
    assert all(p.grad is None for p in host_parameters(model))


def test_forward_alone_and_ways_out_are_not_refused():
    """Keeps: a forward in train mode (a fresh wrapper is in it), a frozen
    host, a plan applied and ``allow_trained_host`` all run."""
    model = AdaptFormer(backbone=VIT).train()
    model(torch.randn(1, 3, 32, 32))  # no backward: not refused
    model.allow_trained_host = True
    _backward(model)
    assert all(p.grad is not None for p in host_parameters(model))

    model = AdaptFormer(backbone=VIT).train()
    for p in host_parameters(model):
        p.requires_grad_(False)
    _backward(model)

    model = AdaptFormer(backbone=VIT).train()
    plan = plan_trainable(model, head=[])
    apply_trainable(model, plan)
    assert model.plan_applied
    model.requires_grad_(True)  # the benchmark's --naive-freeze ablation
    _backward(model)


def _tiny_cfg(tmp_path):
    root = str(tmp_path / 'data')
    make_stripes_dataset(root)
    cfg = Config.fromfile(TINY)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_epochs = 1
    cfg.custom_hooks = []
    return cfg


def test_hand_built_runner_without_hooks_is_refused(clean_loggers, tmp_path):
    cfg = _tiny_cfg(tmp_path)
    cfg.default_hooks.pop('config_check')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(HostTrainingError, match='AdaptFormer: a backward'):
        runner.train()
    # At the first step, before any gradient of the host.
    assert runner.iter == 0
    assert all(p.grad is None for p in host_parameters(runner.model.backbone))


def test_allow_trained_host_still_fine_tunes(clean_loggers, tmp_path):
    """Keeps: ``ConfigCheckHook(allow_trained_host=True)`` trains the
    whole model."""
    cfg = _tiny_cfg(tmp_path)
    cfg.default_hooks.config_check = dict(
        type='ConfigCheckHook', allow_trained_host=True)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    runner = Runner.from_cfg(cfg)
    weight = runner.model.backbone.backbone.patch_embed.projection.weight
    before = weight.detach().clone()
    runner.train()
    assert not torch.equal(before, weight.detach())


def test_a_wrapper_pickled_before_the_flags_takes_a_plan():
    """A wrapper saved with ``torch.save(model)`` before ``plan_applied``
    and ``allow_trained_host`` existed has neither in its ``__dict__``:
    the class declares them, so a plan applied after loading marks it and
    its training runs (it raised AttributeError or stayed refused)."""
    model = AdaptFormer(backbone=VIT).train()
    for name in ('plan_applied', 'allow_trained_host'):
        del model.__dict__[name]
    assert model.plan_applied is False and model.allow_trained_host is False
    apply_trainable(model, plan_trainable(model, head=[]))
    assert model.plan_applied is True
    _backward(model)
