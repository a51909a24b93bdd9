# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which checkpoint ``--resume auto`` takes
(:func:`~mmadaptformer.engine.resume.find_resume_checkpoint`): the newest
by number, and only one that holds MMEngine's training state. Small
checkpoints in MMEngine's layout (``meta`` and ``state_dict``), loaded by
the real safe loader."""
import torch

from mmadaptformer.engine.resume import find_resume_checkpoint


def _save(path, epoch, training=True):
    checkpoint = {'state_dict': {'w': torch.full((2, ), float(epoch))}}
    if training:
        checkpoint['meta'] = {'epoch': epoch, 'iter': epoch * 4}
    torch.save(checkpoint, path)


def test_numbered_checkpoints_are_ordered_by_number_not_by_text(tmp_path):
    """Guards against sorting epoch_N.pth by the digits as text, which puts
    epoch_9 after epoch_10 (and iter_999 after iter_1000)."""
    for epoch in (2, 9, 10):
        _save(tmp_path / f'epoch_{epoch}.pth', epoch)
    plan = find_resume_checkpoint(str(tmp_path))
    assert plan.checkpoint == str(tmp_path / 'epoch_10.pth')

    iters = tmp_path / 'iters'
    iters.mkdir()
    for step in (999, 1000):
        _save(iters / f'iter_{step}.pth', step)
    assert find_resume_checkpoint(str(iters)).checkpoint == \
        str(iters / 'iter_1000.pth')


def test_a_weights_only_file_is_not_resumed_from(tmp_path):
    """Guards against taking any file with a state_dict as a training
    checkpoint: Runner.resume needs its 'meta'."""
    _save(tmp_path / 'epoch_1.pth', 1)
    _save(tmp_path / 'epoch_2.pth', 2, training=False)
    plan = find_resume_checkpoint(str(tmp_path))
    assert plan.checkpoint == str(tmp_path / 'epoch_1.pth')
    skipped = [line for line in plan.skipped if 'epoch_2.pth' in line]
    assert len(skipped) == 1, plan.skipped
    assert 'not an MMEngine training checkpoint' in skipped[0], skipped
