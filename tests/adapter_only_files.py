# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Adapter-only checkpoints as AdapterHook writes them, made in memory."""
import torch


def adapter_only_as_written(model, plan) -> dict:
    """The adapter-only checkpoint of ``model`` (its trainable ``plan``'s
    tensors, the frozen ones' fingerprints and the record), as AdapterHook
    writes it."""
    from mmadaptformer.engine import make_adapter_checkpoint
    from mmadaptformer.utils.fingerprint import state_fingerprints
    frozen = set(plan.frozen_keys)
    fingerprints = state_fingerprints(
        (k, v) for k, v in model.state_dict().items() if k in frozen)
    return make_adapter_checkpoint(
        dict(state_dict=model.state_dict(), meta={}),
        plan,
        fingerprints,
        model=model)


def built_with_adapter_only(config: str, seed: int = 0):
    """``(model, plan, checkpoint)``: ``config``'s model built with seed
    ``seed``, its trainable plan and its adapter-only checkpoint
    (:func:`adapter_only_as_written`)."""
    from mmengine.config import Config

    from mmadaptformer.engine import build_model_and_plan
    torch.manual_seed(seed)
    model, plan = build_model_and_plan(Config.fromfile(config))
    return model, plan, adapter_only_as_written(model, plan)
