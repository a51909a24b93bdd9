# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A training batch of one sample is refused by the BatchNorm heads with
what to do (``train_dataloader.drop_last=True``), not with torch's
``Expected more than 1 value per channel``, which names neither."""
import pytest
import torch

import mmadaptformer  # noqa: F401


def _heads():
    from mmaction.registry import MODELS as MMACTION_MODELS
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    cfg = dict(type='BNLinearHead', num_classes=3, in_channels=8)
    video = MMACTION_MODELS.build(cfg)
    image = MMPRETRAIN_MODELS.build(cfg)
    return [('BNLinearHead', video, lambda x: video(x)),
            ('BNLinearClsHead', image, lambda x: image((x, )))]


@pytest.mark.parametrize('index', [0, 1], ids=['mmaction', 'mmpretrain'])
def test_training_batch_of_one_names_the_head_and_drop_last(index):
    name, head, forward = _heads()[index]
    head.train()
    with pytest.raises(
            ValueError,
            match=rf'^{name}: a training batch of 1 '
            r'sample.*train_dataloader\.drop_last=True'):
        forward(torch.rand(1, 8))
    assert forward(torch.rand(2, 8)).shape == (2, 3)


@pytest.mark.parametrize('index', [0, 1], ids=['mmaction', 'mmpretrain'])
def test_one_sample_still_classifies_in_eval_mode(index):
    """Guards kept behaviour: testing and inference classify one sample
    with the running statistics."""
    _, head, forward = _heads()[index]
    head.eval()
    assert forward(torch.rand(1, 8)).shape == (1, 3)
