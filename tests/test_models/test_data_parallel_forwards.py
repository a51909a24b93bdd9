# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Replaced forwards (``fused_attention``, ``with_cp``) in ``DataParallel``
replicas, in training, after a deep copy and after pickling; and the
router's ``with_cp`` lookup.

A replica is built on the CPU as ``torch.nn.parallel.replicate`` builds
one (see ``test_data_parallel.py``), and run in its own thread.
"""
import copy
import io
import threading

import pytest
import torch
from data_parallel_replicas import data_parallel_replica
from helpers import VIDEO_HOST
from torch import nn

from mmadaptformer.models.adapters.router import AdapterRouter

OPTIONS = [
    dict(),
    dict(with_cp=True),
    dict(fused_attention=False, with_cp=True)
]
IDS = ['fused_attention', 'fused_attention+with_cp', 'with_cp']


def _adaptformer(**options):
    from mmadaptformer.models import AdaptFormer
    torch.manual_seed(0)
    model = AdaptFormer(
        backbone=dict(VIDEO_HOST), adapter=dict(bottleneck=8), **options)
    # The tests' backward passes reach the host too: no plan froze it.
    model.allow_trained_host = True
    return model


def _replica(module, memo):
    """A replica of ``module`` (see :func:`data_parallel_replica`), each
    parameter a changed copy (a leaf that requires a gradient where the
    parameter does); ``memo`` maps ``id(original)`` to its replica."""
    return data_parallel_replica(
        module, memo, lambda p:
        (p.detach() * 1.5 + 0.01).requires_grad_(p.requires_grad))


def _changed_copy(model):
    """A deep copy of ``model`` with the change :func:`_replica` makes."""
    want = copy.deepcopy(model)
    with torch.no_grad():
        for p in want.parameters():
            p.mul_(1.5).add_(0.01)
    return want


def _in_a_thread(fn):
    out = {}
    thread = threading.Thread(target=lambda: out.update(y=fn()))
    thread.start()
    thread.join()
    return out['y']


def _trained(module):
    return [(n, p) for n, p in module.named_parameters() if p.requires_grad]


@pytest.mark.parametrize('options', OPTIONS, ids=IDS)
def test_a_training_replica_runs_and_trains_its_own_replaced_forwards(options):
    """A replica in training (checkpointed blocks recompute in the
    backward pass, which runs in the caller's thread) answers as a deep
    copy with the same change, and its trained tensors (adapters
    included) get that copy's gradients; the original's get none."""
    model = _adaptformer(**options).train()
    memo = {}
    replica = _replica(model, memo)
    want = _changed_copy(model)
    x = torch.rand(2, 3, 4, 32, 32)
    torch.manual_seed(1)  # the same adapter dropout in both
    y = _in_a_thread(lambda: replica(x))
    torch.manual_seed(1)
    expected = want(x)
    torch.testing.assert_close(y, expected)
    weights = torch.linspace(-1, 1, y.numel()).view_as(y)
    (y * weights).sum().backward()
    (expected * weights).sum().backward()
    mine = dict(_trained(want))
    assert any('adaptmlp' in n for n in mine)
    for name, param in model.named_parameters():
        assert param.grad is None, name
        if name in mine:
            module_path, _, attr = name.rpartition('.')
            tensor = getattr(memo[id(model.get_submodule(module_path))], attr)
            torch.testing.assert_close(tensor.grad, mine[name].grad)


@pytest.mark.parametrize('options', OPTIONS, ids=IDS)
def test_replicas_of_a_deep_copy_and_of_a_pickled_model_run_their_own(options):
    """A deep copy (EMA) and a ``torch.save``/``torch.load`` round trip of
    the whole model replicate as the model does: each replica runs its own
    tensors, not those of the model it was copied from."""
    model = _adaptformer(**options).eval()
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    x = torch.rand(1, 3, 4, 32, 32)
    for copied in (copy.deepcopy(model), loaded):
        replica = _replica(copied, {})
        with torch.no_grad():
            expected = _changed_copy(copied)(x)
            torch.testing.assert_close(
                _in_a_thread(lambda: replica(x)), expected)


def test_replaced_forwards_keep_the_class_and_state_dict_keys():
    """A guard of kept behaviour: the fused and checkpointed modules keep
    their class (and its ``qualname``) and the model its state-dict keys;
    a second ``fuse_attention`` is still refused."""
    from mmaction.models.backbones.vit_mae import Attention, Block

    from mmadaptformer.models import fuse_attention
    plain = _adaptformer(fused_attention=False)
    model = _adaptformer(with_cp=True)
    assert list(model.state_dict()) == list(plain.state_dict())
    types = {type(m) for m in model.modules()}
    assert {Attention, Block} <= types
    assert not any(
        t.__module__.startswith('mmadaptformer.models.utils') for t in types)
    with pytest.raises(ValueError, match='fuse_attention was called twice'):
        fuse_attention(model)


class _Checkpointed(nn.Module):
    """A block that records whether its input requires a gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(8)
        self.mlp = nn.Linear(8, 8)
        self.adaptmlp = nn.Linear(8, 8)
        self.seen = None

    def forward(self, x):
        self.seen = x.requires_grad
        return x + self.mlp(self.norm(x))


class _ClassValue(_Checkpointed):
    with_cp = True


class _ClassProperty(_Checkpointed):

    @property
    def with_cp(self) -> bool:
        return True


class _InstanceFalse(_ClassValue):

    def __init__(self) -> None:
        super().__init__()
        self.with_cp = False


def _instance_true():
    block = _Checkpointed()
    block.with_cp = True
    return block


@pytest.mark.parametrize(
    'make, with_cp', [(_Checkpointed, False), (_instance_true, True),
                      (_ClassValue, True), (_ClassProperty, True),
                      (_InstanceFalse, False)],
    ids=['none', 'instance', 'class', 'property', 'instance-over-class'])
def test_the_router_finds_with_cp_where_hosts_define_it(make, with_cp):
    """A guard of kept behaviour: a block's ``with_cp`` set in
    ``__init__`` (as every mmaction2/mmpretrain host does), defined on
    its class, or a property makes the router hand the block an input
    that requires a gradient (reentrant checkpointing gives none
    otherwise); a block without one, or with it False, gets its input as
    it is. Under ``no_grad`` nothing changes."""
    block = make()
    AdapterRouter(block, block.norm, block.mlp, 'parallel', 'norm', 'mlp')
    x = torch.rand(2, 3, 8)
    y = block(x)
    assert block.seen is with_cp
    assert y.requires_grad
    with torch.no_grad():
        block(x)
    assert block.seen is False


def test_a_replica_made_with_checkpointing_off_is_not_checkpointed():
    """A replica made while ``checkpointing_off`` (the FLOP counter's)
    has taken the checkpointed forwards off runs its blocks' own forward,
    as the model does then; one made after runs the checkpointed one,
    bound to the replica."""
    from mmaction.models.backbones.vit_mae import Block

    from mmadaptformer.benchmark.flops import checkpointing_off
    from mmadaptformer.models.utils.activation_checkpointing import \
        checkpointed_forward
    model = _adaptformer(fused_attention=False, with_cp=True)
    blocks = [m for m in model.modules() if isinstance(m, Block)]
    with checkpointing_off(model) as switched:
        assert switched and len(blocks) == 2
        memo = {}
        _replica(model, memo)
    for block in blocks:
        forward = memo[id(block)].forward
        assert forward.__func__ is Block.forward
        assert forward.__self__ is memo[id(block)]
    memo = {}
    _replica(model, memo)
    for block in blocks:
        forward = memo[id(block)].forward
        assert forward.func is checkpointed_forward
        assert forward.args == (memo[id(block)], )
