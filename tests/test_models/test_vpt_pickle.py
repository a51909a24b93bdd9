# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A whole VPT model pickled (``torch.save(model)``) before it kept the
VPT each thread runs (for ``DataParallel`` replicas) still runs."""
import io

import torch
from helpers import VIDEO_HOST


def test_a_vpt_pickled_without_its_running_record_runs():
    from mmadaptformer.models import VPT
    torch.manual_seed(0)
    model = VPT(backbone=dict(VIDEO_HOST), num_prompts=4, deep=False).eval()
    x = torch.rand(1, 3, 4, 32, 32)
    with torch.no_grad():
        expected = model(x)
    # What an older version pickled: the model without the record.
    del model.__dict__['_running']
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)
