# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint given where the config goes (``tools/test.py CHECKPOINT
CONFIG``), and a video, image or config given where the checkpoint goes
(``tools/infer.py CONFIG clip.mp4``, the checkpoint left out), are named
for what they are, with the tools' order of files.

Before, the first ended every tool with MMEngine's ``OSError: Only
py/yml/yaml/json type are supported now!`` (a traceback in ``tools/test.py``,
``tools/train.py`` and the converters), and the second read ``Checkpoint
file clip.mp4 (1599 bytes) is truncated or corrupted``, which sent users
to look for damage in a video that plays.
"""

import pytest
from checkpoint_makers import save_stock_video_checkpoint
from media_files import write_black_png, write_clip
from repo_paths import TINY_VIDEO_CONFIG
from tool_runners import run_tool

import mmadaptformer  # noqa: F401  (the safe checkpoint loader)
from mmadaptformer.utils.config_error import ConfigError

CHECKPOINT_LINE = ('is not a config file: MMEngine reads configs ending in '
                   '.py, .json, .yml, .yaml; it is a checkpoint (torch.save): '
                   'the tools take the config first, then the checkpoint')


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """A stock tiny video checkpoint, an mp4 clip and a PNG image."""
    root = tmp_path_factory.mktemp('swapped')
    checkpoint = str(root / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    video = write_clip(str(root / 'clip.mp4'))
    image = write_black_png(str(root / 'frame.png'))
    return dict(checkpoint=checkpoint, video=video, image=image, root=root)


@pytest.mark.parametrize('tool, status', [('test.py', 2), ('infer.py', 2),
                                          ('train.py', 2),
                                          ('model_converters/'
                                           'merge_adapters.py', 2)])
def test_checkpoint_given_as_config(files, tool, status):
    """Each tool ends with one line naming the checkpoint, what it is and
    the order, not MMEngine's OSError and a traceback: a usage error (exit
    status 2) of every tool, which ended test.py, train.py and the
    converters with status 1 as if the run had failed."""
    args = {
        'test.py': [files['checkpoint'], TINY_VIDEO_CONFIG],
        'infer.py': [files['checkpoint'], TINY_VIDEO_CONFIG, files['video']],
        'train.py': [files['checkpoint']],
        'model_converters/merge_adapters.py': [
            files['checkpoint'], TINY_VIDEO_CONFIG,
            str(files['root'] / 'out.pth')
        ],
    }[tool]
    proc = run_tool(
        [tool] + args,
        cwd=str(files['root']),
        check=False,
        separate_stderr=True)
    assert proc.returncode == status, proc.stderr
    assert f"{files['checkpoint']} {CHECKPOINT_LINE}" in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert 'Only py/yml/yaml/json' not in proc.stderr


@pytest.mark.parametrize('tool', ['infer.py', 'test.py'])
def test_video_given_as_checkpoint(files, tool):
    """``infer.py CONFIG clip.mp4 other.mp4``: the clip is named a video,
    not a damaged checkpoint, as a usage error before anything loads (exit
    status 2; it was 1, after the model was built)."""
    # test.py takes no INPUT.
    inputs = [files['video']] if tool == 'infer.py' else []
    proc = run_tool([tool, TINY_VIDEO_CONFIG, files['video'], *inputs],
                    cwd=str(files['root']),
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 2, proc.stderr
    assert (f": error: checkpoint {files['video']}: it is a video file"
            ) in proc.stderr
    assert ('is a video file (MP4/MOV), not a checkpoint: the tools take '
            'the config first, then the checkpoint, then the inputs'
            ) in proc.stderr
    assert 'truncated or corrupted' not in proc.stderr


@pytest.mark.parametrize('given, what', [
    ('image', 'an image (PNG), not a checkpoint'),
    ('config', 'a config file, not a checkpoint'),
])
def test_load_checkpoint_names_other_files(files, given, what):
    """MMEngine's ``load_checkpoint`` (as ``init_recognizer`` calls it)
    names an image or a config given as the checkpoint."""
    from mmengine.runner import load_checkpoint
    from torch import nn
    path = TINY_VIDEO_CONFIG if given == 'config' else files[given]
    with pytest.raises(Exception) as err:
        load_checkpoint(nn.Linear(1, 1), path, map_location='cpu')
    assert what in str(err.value)
    assert 'truncated or corrupted' not in str(err.value)


@pytest.mark.parametrize('api', ['ModelInferencer', 'init_model'])
def test_python_api_checkpoint_as_config(files, api):
    """``ModelInferencer(CHECKPOINT, CONFIG)`` and ``init_model(CHECKPOINT,
    CONFIG)`` raise a ConfigError that names the checkpoint, before
    anything loads, in the API's terms (its arguments and their order):
    they were told the tools' order (``tools/infer.py CONFIG CHECKPOINT
    INPUT ...``), which a Python caller does not run."""
    from mmadaptformer import apis
    with pytest.raises(ConfigError) as err:
        getattr(apis, api)(files['checkpoint'], TINY_VIDEO_CONFIG)
    assert str(err.value) == (
        f"The config {files['checkpoint']} is not a config file: MMEngine "
        'reads configs ending in .py, .json, .yml, .yaml; it is a '
        f'checkpoint (torch.save): {api} takes the config first, then the '
        f'checkpoint: {api}(config, checkpoint).')


def test_file_kinds(files, tmp_path):
    """What a file is, by its first bytes: a text file that starts with
    ``G`` is no MPEG transport stream (one sync byte is no evidence), and
    a file of another kind is not named."""
    from mmadaptformer.utils.checkpoint_formats import file_kind, media_kind
    assert file_kind(files['checkpoint']) == 'a checkpoint (torch.save)'
    assert file_kind(files['video']) == 'a video file (MP4/MOV)'
    assert file_kind(files['image']) == 'an image (PNG)'
    text = tmp_path / 'notes'
    text.write_text('Good clips: a, b\n' * 20)
    assert file_kind(str(text)) is None
    ts = b'\x47' + b'\x00' * 187 + b'\x47' + b'\x00' * 187
    assert media_kind(ts) == 'a video file (MPEG-TS)'


def test_a_config_file_is_checked_once_in_its_readers_terms(monkeypatch):
    """``load_config_file`` (the tools) and ``apis.load_config`` checked the
    file with the tools' order, then the guarded ``Config.fromfile`` again
    with the APIs': each reader checks it once, with its caller's order."""
    from mmadaptformer.apis import load_config
    from mmadaptformer.utils import config_file_guard, config_loading
    from mmadaptformer.utils.checkpoint_formats import API_ORDER, TOOL_ORDER
    calls = []

    def counted(path, order=TOOL_ORDER):
        calls.append(order)

    monkeypatch.setattr(config_loading, 'check_config_file', counted)
    monkeypatch.setattr(config_file_guard, 'check_config_file', counted)
    config_loading.load_config_file(TINY_VIDEO_CONFIG)
    assert calls == [TOOL_ORDER]
    calls.clear()
    load_config(TINY_VIDEO_CONFIG)
    assert calls == [API_ORDER]
