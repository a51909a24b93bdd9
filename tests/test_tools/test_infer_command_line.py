# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py, run as a user runs it: command lines that cannot work
are refused in one line (exit status 2) before any input is classified,
folders are searched through symlinked subfolders, and videos shorter than
a clip are named as tools/test.py names them."""
import json
import os
import os.path as osp
import re
import shutil

import numpy as np
import pytest
from helpers import (TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config,
                     write_config_chain)
from refusal_lines import usage_line

ERROR = 'infer.py: error: '


@pytest.fixture(scope='module')
def model(tmp_path_factory, tiny_video_data):
    """The tiny video config on the tiny videos, a full checkpoint of it,
    and a folder of two of those videos."""
    root = tmp_path_factory.mktemp('infer_model')
    config = write_config(root / 'tiny.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoint = str(root / 'full.pth')
    save_stock_video_checkpoint(checkpoint)
    clips = root / 'clips'
    clips.mkdir()
    names = sorted(os.listdir(tiny_video_data['videos']))[:2]
    for name in names:
        shutil.copy(osp.join(tiny_video_data['videos'], name), clips)
    return dict(
        config=config,
        checkpoint=checkpoint,
        clips=str(clips),
        videos=[str(clips / n) for n in names])


def _refused(argv, cwd):
    """Run infer.py; check it refused the command line in one line (exit
    status 2, no traceback, nothing classified) and return that line."""
    proc = run_tool(['infer.py', *argv], cwd=cwd, check=False)
    last = usage_line(proc)
    lines = proc.stdout.strip().splitlines()
    errors = [line for line in lines if line.startswith(ERROR)]
    assert errors == [last], proc.stdout[-3000:]
    assert not any(': tiny: ' in line for line in lines), proc.stdout
    return last[len(ERROR):]


def test_out_that_is_a_file_the_command_reads_is_refused(model, tmp_path):
    """``--out`` the checkpoint, an input video (given, or found in a
    folder), the config (of a --task), --pretrained or --label-map, in
    any spelling: each was overwritten with the results' JSON, exit
    status 0 (``Results of 1 inputs written to /tmp/a_copy.pth``)."""
    ckpt = tmp_path / 'a_copy.pth'
    shutil.copy(model['checkpoint'], ckpt)
    video = tmp_path / 'victim.mp4'
    shutil.copy(model['videos'][0], video)
    config = tmp_path / 'task.py'
    shutil.copy(model['config'], config)
    names = tmp_path / 'names.txt'
    names.write_text('left\nright\n')
    (tmp_path / 'sub').mkdir()
    os.symlink(ckpt, tmp_path / 'sub' / 'link.pth')
    files = [ckpt, video, config, names, *model['videos']]
    before = {path: open(path, 'rb').read() for path in files}
    one = [str(config), str(ckpt)]
    cases = [
        (one + [str(video), '--out', str(ckpt)], f'--out {ckpt} is the '
         f'same file as the checkpoint {ckpt}: writing it would replace the '
         'checkpoint. Give another file.'),
        # Relative, through a symlink, and through '..'.
        (one + [str(video), '--out', 'sub/link.pth'],
         f'--out sub/link.pth is the same file as the checkpoint {ckpt}:'),
        (one + [str(video), '--out', 'sub/../victim.mp4'],
         f'--out sub/../victim.mp4 is the same file as the input {video}:'),
        (one + [model['clips'], '--out', model['videos'][1]],
         f'--out {model["videos"][1]} is the same file as the input '
         f'{model["videos"][1]}:'),
        ([
            '--task', 't',
            str(config),
            str(ckpt),
            str(video), '--out', 'task.py'
        ], f'--out task.py is the same file as the config {config}:'),
        (one + [str(video), '--pretrained',
                str(ckpt), '--out', 'a_copy.pth'], '--out a_copy.pth is the '
         f'same file as the checkpoint {ckpt}:'),
        (one + [str(video), '--label-map',
                str(names), '--out', 'names.txt'], '--out names.txt is the '
         f'same file as the --label-map {names}: writing it would replace the '
         '--label-map. Give another file.'),
    ]
    for argv, message in cases:
        assert _refused(argv, tmp_path).startswith(message), argv
    for path in files:
        assert open(path, 'rb').read() == before[path], path


def test_out_that_is_a_file_the_config_reads_is_refused(model, tmp_path):
    """``--out`` a ``_base_`` of the config (two levels deep too), its
    pretrained backbone or its classes file was overwritten with the
    results' JSON."""
    pretrained = tmp_path / 'backbone.pth'
    shutil.copy(model['checkpoint'], pretrained)
    names = tmp_path / 'names.txt'
    names.write_text('left\nright\n')
    paths = write_config_chain(
        str(tmp_path), model['config'],
        f'model = dict(backbone=dict(init_cfg=dict(type="Pretrained", '
        f'checkpoint={str(pretrained)!r})))\n'
        'test_dataloader = dict(dataset=dict(metainfo=dict('
        f'classes={str(names)!r})))\n')
    config = paths['config']
    files = [paths['mid'], paths['leaf'], pretrained, names]
    before = {path: open(path, 'rb').read() for path in files}
    one = [config, model['checkpoint'], model['videos'][0], '--out']
    cases = [
        ('configs/_base_/mid.py', '--out configs/_base_/mid.py is a _base_ '
         f'of the config {config}; it would be overwritten. Give another '
         'file.'),
        (paths['leaf'], f'--out {paths["leaf"]} is a _base_ of '
         'configs/_base_/mid.py, a _base_ of the config '
         f'{config}; it would be overwritten. Give another file.'),
        ('backbone.pth', '--out backbone.pth is model.backbone.init_cfg.'
         f'checkpoint of the config {config} ({pretrained}); it would be '
         'overwritten.'),
        ('names.txt', '--out names.txt is test_dataloader.dataset.metainfo.'
         f'classes of the config {config} ({names});'),
    ]
    for out, message in cases:
        assert _refused(one + [out], tmp_path).startswith(message), out
    for path in files:
        assert open(path, 'rb').read() == before[path], path


def test_out_whose_folder_cannot_be_made_is_refused_before_classifying(
        model, tmp_path):
    """A file where a folder of ``--out`` should be: the results were
    printed, then ``NotADirectoryError`` (a traceback, exit status 1) and
    the results were lost. A good --out gets them, counted in words."""
    (tmp_path / 'r1.json').write_text('{}\n')
    out = tmp_path / 'r1.json' / 'sub' / 'x.json'
    line = _refused([
        model['config'], model['checkpoint'], model['videos'][0], '--out',
        str(out)
    ], tmp_path)
    assert line == (f'--out {out}: {tmp_path / "r1.json"} is a file, not a '
                    'folder; give a path in a folder.')
    proc = run_tool([
        'infer.py', model['config'], model['checkpoint'], model['videos'][0],
        '--out', 'new/r.json'
    ],
                    cwd=tmp_path)
    assert 'Results of 1 input written to new/r.json' in proc.stdout
    assert list(json.loads((tmp_path / 'new' / 'r.json').read_text())) == \
        [model['videos'][0]]


def test_a_folder_is_searched_through_symlinked_subfolders(model, tmp_path):
    """``os.walk`` does not enter a symlinked folder: a folder holding only
    a link to the videos gave ``Results of 0 inputs``, exit status 0. A
    link back up (a loop) is walked once."""
    folder = tmp_path / 'linkonly'
    folder.mkdir()
    os.symlink(model['clips'], folder / 'videos')
    os.symlink(folder, folder / 'loop')
    out = tmp_path / 'r.json'
    run_tool([
        'infer.py', model['config'], model['checkpoint'],
        str(folder), '--out',
        str(out)
    ],
             cwd=tmp_path)
    expected = [
        str(folder / 'videos' / osp.basename(v)) for v in model['videos']
    ]
    assert list(json.loads(out.read_text())) == expected


def test_a_folder_without_files_of_the_models_kind_is_refused(
        model, tiny_image_data, tmp_path):
    """An empty folder, or one without a video for a video model (without
    an image for an image model), ended with exit status 0 and nothing
    said. The line names the folder and what was looked for."""
    empty = tmp_path / 'empty'
    empty.mkdir()
    images = tmp_path / 'images'
    shutil.copytree(osp.join(tiny_image_data, 'val'), images)
    (images / 'notes.txt').write_text('not an image\n')
    video = [model['config'], model['checkpoint']]
    looked = '(looked for .mp4, .avi, .webm'
    assert _refused(video + [str(empty)], tmp_path).startswith(
        f'{empty}: a folder without video files, in it or its subfolders '
        f'{looked}')
    assert _refused(video +
                    [model['videos'][0], str(images)],
                    tmp_path).startswith(f'{images}: a folder without video '
                                         f'files, in it or its subfolders '
                                         f'{looked}')
    # An image config: the checkpoint is not read before the refusal.
    line = _refused([TINY_IMAGE_CONFIG, model['checkpoint'], model['clips']],
                    tmp_path)
    assert line.startswith(
        f'{model["clips"]}: a folder without image files, in it or its '
        'subfolders (looked for .jpg, .jpeg, .png, .bmp, .ppm, .pgm, .tif, '
        '.tiff, .webp); it holds '), line
    # The videos it holds are named, as an image folder is for a video
    # config (before, the refusal ended at the extensions).
    assert re.search(
        r'; it holds \d+ video files \(e\.g\. .*\.mp4\), which this image '
        r"model's config does not read: classify them with a video config "
        r'\(MMAction2 recognizer\)\.$', line), line


def test_config_and_checkpoint_before_task_are_refused(model, tmp_path):
    """``CONFIG CHECKPOINT --task ...``: the config and checkpoint were
    taken as inputs, each 'neither a video nor an image', exit status 1.
    A folder whose name ends in .py is still an input."""
    line = _refused([
        model['config'], model['checkpoint'], '--task', 'a', model['config'],
        model['checkpoint'], model['videos'][0]
    ], tmp_path)
    assert line == (f'{model["config"]}: a config or checkpoint among the '
                    'INPUTs of --task; give either CONFIG CHECKPOINT INPUT '
                    '... or --task NAME CONFIG CHECKPOINT ... INPUT ..., not '
                    'both')
    folder = tmp_path / 'clips.py'
    shutil.copytree(model['clips'], folder)
    out = tmp_path / 'r.json'
    run_tool([
        'infer.py', '--task', 'a', model['config'], model['checkpoint'],
        str(folder), '--out',
        str(out)
    ],
             cwd=tmp_path)
    assert len(json.loads(out.read_text())) == 2


def test_videos_shorter_than_a_clip_are_named_after_the_run(model, tmp_path):
    """tools/test.py names the videos it evaluated with repeated frames;
    infer.py, giving them the same scores, said nothing. The clip of the
    tiny config spans (4 - 1) * 3 + 1 = 10 frames."""
    from mmadaptformer.testing import write_video
    rng = np.random.default_rng(0)
    folder = tmp_path / 'short'
    for name, frames in (('one_frame.mp4', 1), ('three.mp4', 3)):
        write_video(
            str(folder / name),
            rng.integers(0, 256, (frames, 32, 32, 3), dtype=np.uint8))
    notice = ('classified 2 videos shorter than a clip, with repeated frames '
              f'({folder / "one_frame.mp4"} (1 of 10 frames), '
              f'{folder / "three.mp4"} (3 of 10 frames))')
    for argv in ([model['config'], model['checkpoint']],
                 ['--task', 'a', model['config'], model['checkpoint']]):
        proc = run_tool(['infer.py', *argv,
                         str(folder), model['videos'][0]],
                        cwd=tmp_path)
        assert proc.stdout.count(notice) == 1, proc.stdout[-3000:]
        assert proc.stdout.count('shorter than a clip') == 1
