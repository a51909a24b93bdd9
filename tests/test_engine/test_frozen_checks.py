# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The frozen-backbone checks of adapter-only checkpoints tell apart what
their cheaper parts would not: values swapped within a tensor (the
position-weighted sum of a fingerprint), and another plain backbone under
linear probing, which only the record's digest covers (no frozen-host
wrapper carries per-tensor fingerprints there). Guards of kept behaviour
(mutation audit): they fail when the fingerprint drops its weighted sum or
its dtype, or when loading skips the digest check."""
import copy

import pytest
import torch
from adapter_only_files import adapter_only_as_written
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG, TINY_IMAGE_CONFIG

from mmadaptformer.models.backbones.frozen_host_record import \
    FrozenBackboneMismatchError
from mmadaptformer.utils.fingerprint import tensor_fingerprint


@pytest.mark.parametrize('numel', [10, 65521 * 2 + 7])
def test_a_fingerprint_tells_swapped_values_apart(numel):
    """Same shape, dtype and values, two of them in each other's place:
    another tensor (e.g. a backbone with two channels in another order)."""
    tensor = torch.arange(numel, dtype=torch.float32)
    swapped = tensor.clone()
    swapped[[1, numel - 2]] = swapped[[numel - 2, 1]]
    assert tensor_fingerprint(tensor) != tensor_fingerprint(swapped)
    assert tensor_fingerprint(tensor) == tensor_fingerprint(tensor.clone())


def test_a_fingerprint_tells_dtypes_of_equal_bits_apart():
    """Zeros of two dtypes of one element size have equal bits (and sums):
    only the dtype the fingerprint records tells them apart (a buffer kept
    as int32 where the record has float32, a half backbone as bfloat16)."""
    for a, b in [(torch.float32, torch.int32),
                 (torch.float16, torch.bfloat16)]:
        assert tensor_fingerprint(torch.zeros(3, dtype=a)) != \
            tensor_fingerprint(torch.zeros(3, dtype=b))
    assert tensor_fingerprint(torch.zeros(3))[1] == 'float32'


def _built(config: str, seed: int, mode: str = None):
    """A tiny config's model (weights of ``seed``) and its trainable plan;
    ``mode`` overrides the AdapterHook's (linear probing of a plain
    backbone)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    from mmadaptformer.models.adapters.trainable import plan_trainable
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    model.eval()
    plan = plan_trainable(model, mode=mode or 'adaptformer')
    return model, plan


def test_adapter_only_refuses_a_backbone_with_swapped_values():
    """An AdaptFormer model whose frozen qkv weight has two rows in each
    other's place is not the backbone its adapters were trained on."""
    from mmadaptformer.engine import complete_adapter_checkpoint
    model, plan = _built(TINY_ADAPTFORMER_IMAGE_CONFIG, 0)
    checkpoint = adapter_only_as_written(model, plan)
    other = copy.deepcopy(model)
    key = next(k for k in plan.frozen_keys if k.endswith('qkv.weight'))
    with torch.no_grad():
        weight = other.state_dict()[key]
        weight[[0, 1]] = weight[[1, 0]]
    assert not torch.equal(weight, model.state_dict()[key])
    with pytest.raises(FrozenBackboneMismatchError):
        complete_adapter_checkpoint(other, copy.deepcopy(checkpoint), plan)
    # The backbone it was trained on loads it.
    complete_adapter_checkpoint(model, copy.deepcopy(checkpoint), plan)


def test_linear_probe_checkpoint_refuses_another_plain_backbone():
    """Linear probing of a plain ViT: its adapter-only checkpoint (head
    alone) records the frozen backbone only in its digest, which must
    refuse a model of other backbone weights."""
    from mmadaptformer.engine import complete_adapter_checkpoint
    model, plan = _built(TINY_IMAGE_CONFIG, 0, mode='linear_probe')
    checkpoint = adapter_only_as_written(model, plan)
    assert not any(
        k.endswith('frozen_host_fingerprints')
        for k in checkpoint['state_dict'])
    other, _ = _built(TINY_IMAGE_CONFIG, 1, mode='linear_probe')
    with pytest.raises(FrozenBackboneMismatchError) as info:
        complete_adapter_checkpoint(other, copy.deepcopy(checkpoint), plan,
                                    'probe.pth')
    assert 'probe.pth: Adapter-only checkpoint was trained on a different ' \
        'frozen backbone' in str(info.value)
    done = complete_adapter_checkpoint(model, copy.deepcopy(checkpoint), plan)
    assert set(done['state_dict']) >= set(model.state_dict())
