# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py CONFIG --resume nested.pth``, a file whose weights sit
under one key (``{'model': state_dict}``, as official releases save them):
the refusal says the weights are nested and gives the command that takes
them out. It advised ``--pretrained nested.pth``, which ``--pretrained``
then refused as nested. A real run of the tiny video config."""
import torch
from helpers import (TINY_VIDEO_CONFIG, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)
from refusal_lines import refused_line


def test_resume_names_the_nesting_and_the_convert_command(
        tmp_path, tiny_video_data):
    state = save_stock_video_checkpoint(str(tmp_path / 'full.pth'))
    nested = tmp_path / 'nested.pth'
    torch.save({'model': state}, str(nested))
    cfg = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    line = refused_line(
        run_tool([
            'train.py', cfg, '--work-dir', tmp_path / 'w', '--resume', nested
        ],
                 cwd=tmp_path,
                 check=False),
        absent=['resumed epoch'])
    assert line.startswith(
        f'ResumeStateError: {nested} cannot be resumed: it is not a '
        "checkpoint that training saved (it has no 'meta'"), line
    # The file holds the model's own names: taken out, it is the whole
    # model (converting it would drop the head and rebuild the pos_embed
    # for 224 px and 8 frames).
    assert ("It is a file of this model's weights nested under one key: its "
            f"weights are nested under 'model' ({len(state)} tensors, e.g. "
            f"{next(iter(state))!r}), named in MMAction2's and "
            "MMPretrain's own layout ('backbone.patch_embed.projection."
            "weight'), not as official training code or timm name them (a "
            'checkpoint of an MMAction2, MMPretrain or mmadaptformer model, '
            "saved under 'model'), where MMEngine does not look (it reads "
            "'state_dict' or the top "
            "level): its tensors already carry the model's own names, so "
            'take them out as they are, converting nothing: '
            'tools/model_converters/convert_official.py SRC DST --key model '
            '--unwrap-only, then train from DST: tools/train.py CONFIG '
            '--cfg-options load_from=DST (the whole model), without '
            '--resume.') in line, line
    # The advice the old code gave, which --pretrained refuses.
    assert f'--pretrained {nested}' not in line, line
    assert not list((tmp_path / 'w').glob('epoch_*.pth'))
