# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/infer.py CONFIG clip.mp4`` (the checkpoint left out, one input)
names the clip for what it is, with the tools' order, as it did with two
inputs and as the README promises for ``infer.py CONFIG clip.mp4 ...``.
Before, one input got the generic ``give CONFIG CHECKPOINT INPUT [INPUT
...]``, which did not say which word was wrong."""
import pytest
from checkpoint_makers import save_stock_video_checkpoint
from media_files import write_black_png, write_clip
from repo_paths import TINY_VIDEO_CONFIG
from tool_runners import run_tool


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('left_out')
    checkpoint = str(root / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    return dict(
        root=str(root),
        checkpoint=checkpoint,
        video=write_clip(str(root / 'clip.mp4')),
        image=write_black_png(str(root / 'frame.png')))


def _refusal(argv, cwd) -> str:
    """The one line infer.py refused ``argv`` with (exit status 2)."""
    proc = run_tool(['infer.py', *argv],
                    cwd=cwd,
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == '', proc.stdout
    assert 'Traceback' not in proc.stderr, proc.stderr
    return proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize('given, what', [
    ('video', 'a video file (MP4/MOV)'),
    ('image', 'an image (PNG)'),
])
def test_one_input_as_the_checkpoint_is_named(files, given, what):
    line = _refusal([TINY_VIDEO_CONFIG, files[given]], files['root'])
    assert line == (
        f'infer.py: error: checkpoint {files[given]}: it is {what}, not a '
        'checkpoint: the tools take the config first, then the checkpoint, '
        'then the inputs (tools/infer.py CONFIG CHECKPOINT INPUT ..., '
        'tools/test.py CONFIG CHECKPOINT)')
    # As with two inputs.
    assert _refusal([TINY_VIDEO_CONFIG, files[given], files[given]],
                    files['root']) == line


def test_a_forgotten_input_keeps_the_usage_line(files):
    """Guard of kept behaviour: CONFIG CHECKPOINT without an INPUT is told
    the usage."""
    line = _refusal([TINY_VIDEO_CONFIG, files['checkpoint']], files['root'])
    assert line == ('infer.py: error: give CONFIG CHECKPOINT INPUT [INPUT '
                    '...], or --task NAME CONFIG CHECKPOINT ... INPUT ...')
