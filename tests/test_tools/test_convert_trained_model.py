# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``convert_official.py`` on a whole AdaptFormer model of this package (an
official model converted before, or ``merge_adapters.py``'s output) says
it needs no ``--pretrained``: it holds its frozen backbone. It was told to
give the file "with the pretrained backbone it was trained on", as an
adapter-only file is, which sent the user looking for a file the model
does not need."""
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

TOOL = 'model_converters/convert_official.py'


def _save_whole_model(path):
    from mmadaptformer.models import AdaptFormer  # noqa: F401 (registers)
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def test_a_whole_adaptformer_model_needs_no_pretrained(tmp_path):
    src = _save_whole_model(tmp_path / 'af_video.pth')
    proc = run_tool([TOOL, src, tmp_path / 'out.pth'],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert 'it is a trained AdaptFormer model of this package' in proc.stdout
    assert ('Give it as the checkpoint (tools/test.py CONFIG FILE, '
            'load_from); it holds its frozen backbone too, so it needs no '
            '--pretrained.') in proc.stdout
    assert 'with the pretrained backbone' not in proc.stdout
    assert not (tmp_path / 'out.pth').exists()
