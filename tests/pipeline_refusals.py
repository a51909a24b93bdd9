# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/test.py refused on a test pipeline that fails after the read."""
from config_writers import video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_VIDEO_CONFIG
from tool_runners import run_tool


def resize_too_large_line(tmp_path, data) -> str:
    """The line tools/test.py is refused with on the tiny video recognizer
    (random weights) whose test Resize (``pipeline.3``, set by
    ``--cfg-options``) is too large for its ThreeCrop (``pipeline[4]``):
    every video is read, then the crop fails."""
    import torch
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(data))
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(config).model)
    checkpoint = tmp_path / 'random.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    return refused_line(
        run_tool([
            'test.py', config, checkpoint, '--work-dir', tmp_path / 'w',
            '--cfg-options', 'test_dataloader.dataset.pipeline.3.scale=(-1,64)'
        ],
                 cwd=tmp_path,
                 check=False))
