# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``--resume auto`` in a work dir whose only checkpoint is truncated: the
refusal quotes the load error once, without the doubled full stop
(``...after saving.).. Resume from``) it printed when the error ended
with one."""
import pytest
import torch

from mmadaptformer.engine.resume import (ALLOW_RESTART_FLAG,
                                         NoResumableCheckpointError,
                                         find_resume_checkpoint)


def test_the_refusal_has_one_full_stop_per_sentence(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(NoResumableCheckpointError) as info:
        find_resume_checkpoint(str(tmp_path))
    message = str(info.value)
    assert f'{path} cannot be resumed from: ' in message, message
    assert 'truncated or corrupted' in message, message
    assert '..' not in message, message
    assert message.endswith(f'{ALLOW_RESTART_FLAG} to start from scratch '
                            'here (the damaged files are then kept as '
                            '*.corrupt).'), message
