# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``pretrained=`` on mmaction2's VideoMAE ``VisionTransformer``, as its
docstring offers it: the host turns it into its init_cfg, then its own
``init_cfg`` argument replaces that, so nothing loads. The refusal of the
random frozen backbone was right but left the user wondering why the file
they named did not count; it now says that this key loads nothing."""
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from refusal_lines import refused_line


def test_unread_pretrained_is_named(tmp_path, tiny_video_data):
    weights = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(weights)
    config = write_config(tmp_path / 'own.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    work = tmp_path / 'work'
    proc = run_tool([
        'train.py', config, '--work-dir', work, '--cfg-options',
        f'model.backbone.backbone.pretrained={weights}'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, no_dir=str(work))
    assert 'was never loaded from a checkpoint' in line, line
    assert line.endswith(
        f'model.backbone.backbone.pretrained={weights!r} loads nothing: '
        'VisionTransformer takes it but never loads it; give that file as '
        '--pretrained or as the init_cfg above. To train on a random frozen '
        'backbone on purpose (tests, a demo that pretrains it), set '
        'AdapterHook(allow_random_backbone=True).'), line
