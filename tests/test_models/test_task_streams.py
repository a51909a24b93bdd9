# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The hooks of :class:`TaskStreams` on plain blocks: a task that splits
after the last block (its own ``fc_norm``, no adapter) gets its own stream
from the hook after that block, and only there."""
import torch
from torch import nn

from mmadaptformer.models.multitask import STEM, TaskStreams


def _blocks():
    torch.manual_seed(0)
    return nn.Sequential(*[nn.Linear(4, 4) for _ in range(3)])


def test_a_task_splitting_after_the_last_block_gets_its_own_stream():
    """Guards the mutation that hooks the last block's output with split
    point ``len(blocks) - 1`` (a task splitting at ``len(blocks)``, e.g.
    one that trained only ``fc_norm`` and its head, never left)."""
    blocks = _blocks()
    streams = TaskStreams()
    streams.install(list(blocks))
    streams.split_at = dict(shared=None, last=len(blocks))
    x = torch.randn(2, 4)
    seen = []
    handle = blocks[-1].register_forward_pre_hook(
        lambda module, args: seen.append(args[0].shape[0]))
    streams.begin(['shared', 'last'])
    try:
        out = blocks(x)
        layout = list(streams.streams)
    finally:
        streams.end()
    handle.remove()
    # Every block ran once per input; the output holds one stream each.
    assert seen == [2]
    assert layout == [('shared', ), ('last', )]
    assert out.shape == (4, 4)
    alone = blocks(x)  # no forward: the hooks leave it alone
    assert torch.equal(out[:2], alone) and torch.equal(out[2:], alone)


def test_tasks_splitting_at_a_block_and_at_the_stem():
    """Guards the layout of split points before a block and at the input:
    each task leaves at its own point, no earlier."""
    blocks = _blocks()
    stem = nn.Sequential(blocks)
    streams = TaskStreams()
    streams.install(list(blocks), stem=stem)
    streams.split_at = dict(a=None, b=1, c=STEM)
    rows = []
    handles = [
        block.register_forward_pre_hook(
            lambda module, args: rows.append(args[0].shape[0]))
        for block in blocks
    ]
    streams.begin(['a', 'b', 'c'])
    try:
        out = stem(torch.randn(3, 4))
        layout = list(streams.streams)
    finally:
        streams.end()
    for handle in handles:
        handle.remove()
    # c leaves at the input, b before block 1.
    assert rows == [6, 9, 9]
    assert layout == [('a', ), ('b', ), ('c', )]
    assert out.shape == (9, 4)


def test_a_task_module_runs_without_the_hooks_of_its_own_model():
    """Guards the mutation that keeps a task's module's own hooks in
    TaskRoutedModule.add (they belong to, and hold, the task's own model);
    the replaced module's hooks run once, on the whole batch."""
    from mmadaptformer.models.multitask import TaskRoutedModule
    streams = TaskStreams()
    streams.split_at = dict(a=None, b=None)
    original, mine = nn.LayerNorm(4), nn.LayerNorm(4)
    calls = dict(original=[], mine=[])
    original.register_forward_hook(
        lambda module, args, out: calls['original'].append(out.shape[0]))
    mine.register_forward_hook(
        lambda module, args, out: calls['mine'].append(out.shape[0]))
    routed = TaskRoutedModule(streams, dict(a=original), original=original)
    routed.add('b', mine)
    assert not mine._forward_hooks
    streams.begin(['a', 'b'])
    streams.streams = [('a', ), ('b', )]  # as split before this module
    try:
        routed(torch.randn(4, 4))
    finally:
        streams.end()
    assert calls == dict(original=[4], mine=[])
