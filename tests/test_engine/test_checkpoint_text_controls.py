# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Text a checkpoint carries that our refusals quote (its adapter record's
``frozen_digest``, ``meta['converted_from']``) is shown with its terminal
control sequences escaped, as class names and state-dict keys are
(``utils/control_characters``): a file made to clear the screen or write
the clipboard of whoever loads it printed them raw before."""
import pytest
import torch
from torch import nn

from mmadaptformer.engine.adapter_checkpoint.adapter_only import \
    check_frozen_digest
from mmadaptformer.engine.hooks import untrained_file
from mmadaptformer.models import FrozenBackboneMismatchError

CLEAR = '\x1b[2J\x1b[H'


def test_a_recorded_digest_is_shown_escaped():
    info = dict(saved_keys=[], frozen_digest=CLEAR + '0' * 60)
    with pytest.raises(FrozenBackboneMismatchError) as e:
        check_frozen_digest(info, [('backbone.w', torch.zeros(2))], 'evil.pth')
    message = str(e.value)
    assert '\x1b' not in message, repr(message)
    assert 'digest \\x1b[2J\\x1b[H0000' in message, message


class _Classifier(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 2)
        self.cls_head = nn.Linear(2, 2)


def test_converted_from_is_shown_escaped():
    model = _Classifier()
    checkpoint = dict(
        state_dict={
            f'backbone.{k}': v
            for k, v in model.backbone.state_dict().items()
        },
        meta=dict(converted_from=CLEAR + 'pretrain.pth'))
    message = untrained_file(checkpoint, checkpoint['meta'], model,
                             'weights.pth', 'weights.pth')
    assert '\x1b' not in message, repr(message)
    assert 'converted from \\x1b[2J\\x1b[Hpretrain.pth by' in message, message


def test_a_tasks_recorded_digest_and_files_are_shown_escaped():
    """``MultiTaskRecognizer``'s frozen check quotes the task checkpoint's
    digest and the pretrained files its records name."""
    from mmadaptformer.apis.frozen_fingerprints import (FrozenFingerprints,
                                                        check_frozen)
    from mmadaptformer.apis.multitask_tasks import TaskError
    fingerprints = FrozenFingerprints({'a': torch.zeros(2)})
    with pytest.raises(TaskError) as e:
        check_frozen('t', 'c.pth',
                     CLEAR + 'deadbeef' * 7, {}, ['a'], fingerprints, 'origin',
                     nn.Linear(1, 1), ['\x1b]0;pwned\x07stock.pth'])
    message = str(e.value)
    assert '\x1b' not in message and '\x07' not in message, repr(message)
    assert 'digest \\x1b[2J\\x1b[Hdeadbee' in message, message
    assert 'trained on \\x1b]0;pwned\\x07stock.pth.' in message, message
