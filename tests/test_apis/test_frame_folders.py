# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Folders of extracted frames as inputs of a model trained on them: the
tiny rawframe config (a ``RawframeDataset`` test set, ``RawFrameDecode``,
``filename_tmpl``), real JPEG frames, the real test pipeline and model."""
import json
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_RAWFRAMES_CONFIG,
                     TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool,
                     save_as_built_checkpoint, write_config)
from mmengine.config import Config

from mmadaptformer.apis import (InferenceInputError, ModelInferencer,
                                clip_span, short_video_inputs)


def rawframe_config(path, filename_tmpl='img_{:05}.jpg', start_index=1):
    """The tiny rawframe config (``tiny_adaptformer_rawframes.py``: 2 clips
    x 3 crops of 4 frames 3 apart, so a clip spans 10 frames) with the test
    set's ``filename_tmpl`` and ``start_index``."""
    return write_config(
        path, TINY_ADAPTFORMER_RAWFRAMES_CONFIG,
        f'test_dataloader = dict(dataset=dict('
        f'filename_tmpl={filename_tmpl!r}, start_index={start_index!r}))\n')


def write_frames(folder, indices, seed=0, template='img_{:05}.jpg'):
    """Real JPEG frames (40 x 48 noise), one per index; their pixels as
    ``RawFrameDecode`` reads them (RGB), ``T x H x W x 3``."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    frames = []
    for index in indices:
        path = osp.join(folder, template.format(index))
        cv2.imwrite(path, rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
        frames.append(mmcv.imread(path, channel_order='rgb'))
    return str(folder), np.stack(frames)


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """The rawframe config, a random full checkpoint of it, and its
    inferencer."""
    root = tmp_path_factory.mktemp('frame_folders')
    config = rawframe_config(root / 'rawframe.py')
    checkpoint = save_as_built_checkpoint(config, root / 'model.pth')
    return dict(
        root=root,
        config=config,
        checkpoint=checkpoint,
        inferencer=ModelInferencer(config, checkpoint, name='frames'))


def test_a_frame_folder_gets_the_scores_of_its_frames(model, tmp_path):
    """Before, a folder of frames was "a folder without video files"."""
    folder, array = write_frames(tmp_path / 'clip', range(1, 13))
    inferencer = model['inferencer']
    results = inferencer([folder, array])
    assert list(results) == [folder, 1]
    got = torch.tensor(results[folder]['frames']['scores'])
    # The same frames through the array path (ArrayDecode)...
    want = torch.tensor(results[1]['frames']['scores'])
    assert torch.allclose(got, want, rtol=0, atol=1e-6)
    # ... and through mmaction2's own inference on a frame_dir dict.
    from mmaction.apis import inference_recognizer
    sample = inference_recognizer(
        inferencer.model,
        dict(
            frame_dir=folder,
            total_frames=12,
            filename_tmpl='img_{:05}.jpg',
            start_index=1,
            modality='RGB',
            label=-1))
    assert torch.allclose(got, sample.pred_score.float(), rtol=0, atol=1e-6)
    # Different frames give different scores: the frames were read.
    other, _ = write_frames(tmp_path / 'other', range(1, 13), seed=1)
    assert not torch.allclose(
        got, torch.tensor(inferencer(other)[other]['frames']['scores']))


def test_a_folder_of_frame_folders_is_its_clips_in_sorted_order(
        model, tmp_path):
    root = tmp_path / 'rawframes'
    clips = [
        write_frames(root / name, range(1, 11), seed=i)[0]
        for i, name in enumerate(('b_clip', 'a_clip', 'nested/c_clip'))
    ]
    (root / 'nested' / 'notes.txt').write_text('not a clip\n')
    os.makedirs(root / 'empty')
    results = model['inferencer'](str(root))
    assert list(results) == sorted(clips)
    assert list(results) == [
        str(root / 'a_clip'),
        str(root / 'b_clip'),
        str(root / 'nested' / 'c_clip')
    ]
    for folder in clips:
        assert set(results[folder]) == {'frames'}
        alone = model['inferencer'](folder)[folder]
        assert results[folder] == alone
    # A folder without a clip is refused, naming the template.
    with pytest.raises(
            InferenceInputError,
            match=f'^{tmp_path}/none: holds no frames named as filename_tmpl '
            r"'img_\{:05\}.jpg' from .*rawframe.py: test_dataloader.dataset, "
            r'start_index 1 gives them \(expected img_00001.jpg, ...\), in '
            'it or its subfolders'):
        os.makedirs(tmp_path / 'none' / 'sub')
        model['inferencer'](str(tmp_path / 'none'))


def test_a_gap_in_the_frames_names_the_first_missing_one(model, tmp_path):
    """Before, every folder was "a folder without video files"; counted
    as mmaction2's lists count them (files), a gap failed in
    ``RawFrameDecode`` on a missing file, or read the wrong frames."""
    gap, _ = write_frames(tmp_path / 'gap', [1, 2, 3, 5, 6])
    late, _ = write_frames(tmp_path / 'late', [0, 1, 2])
    good, _ = write_frames(tmp_path / 'good', range(1, 11))
    results = model['inferencer']([gap, good, late])
    assert list(results) == [gap, good, late]
    assert results[gap] == dict(
        error=f'{gap}: its frames, named as filename_tmpl '
        f"'img_{{:05}}.jpg' from {model['config']}: test_dataloader.dataset, "
        'start_index 1, are not contiguous: frame 4 (img_00004.jpg) is '
        'missing, but 2 frames after it are there (up to img_00006.jpg).')
    assert results[late] == dict(
        error=f'{late}: holds frame 0 (img_00000.jpg), before the first '
        "frame of filename_tmpl 'img_{:05}.jpg' from "
        f"{model['config']}: test_dataloader.dataset, start_index 1; frames "
        'numbered from 0 are read with start_index=0.')
    assert 'frames' in results[good]
    # A frame that is no image fails in the real RawFrameDecode.
    (tmp_path / 'good' / 'img_00004.jpg').write_text('not a JPEG')
    assert model['inferencer'](good)[good]['error'].startswith(
        f'{good}: its frames cannot be read (RawFrameDecode '
        '(test_dataloader.dataset.pipeline[1]) failed: ')


def test_the_template_and_start_index_come_from_the_test_set(tmp_path):
    config = rawframe_config(
        tmp_path / 'cfg.py', filename_tmpl='{:06d}.jpg', start_index=0)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'model.pth')
    folder, array = write_frames(
        tmp_path / 'clip', range(0, 12), template='{:06d}.jpg')
    # Frames that another template names are not this clip's frames.
    write_frames(tmp_path / 'clip', range(1, 20), seed=3)
    results = ModelInferencer(config, checkpoint, name='t')([folder, array])
    assert torch.allclose(
        torch.tensor(results[folder]['t']['scores']),
        torch.tensor(results[1]['t']['scores']),
        rtol=0,
        atol=1e-6)
    from mmadaptformer.apis.frame_folders import FrameFolders
    frames = FrameFolders.of_config(Config.fromfile(config))
    assert (frames.filename_tmpl, frames.start_index) == ('{:06d}.jpg', 0)
    assert frames.count(folder) == 12


def test_a_frame_folder_given_to_a_video_file_config_is_refused(
        tmp_path, clean_loggers):
    config = str(TINY_ADAPTFORMER_VIDEO_CONFIG)
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'video.pth')
    folder, _ = write_frames(tmp_path / 'clip', range(1, 11))
    inferencer = ModelInferencer(config, checkpoint)
    with pytest.raises(
            InferenceInputError,
            match=f'^{folder}: a folder without video files, .*; it holds '
            f'10 image files \\(e.g. {folder}/img_00001.jpg\\), extracted '
            r"frames\? The model's config decodes video files \(its test "
            r'pipeline opens them, with DecordInit\); a folder of frames is '
            'classified with a config whose test pipeline reads them with '
            'RawFrameDecode'):
        inferencer(folder)
    # A folder that reaches the pipeline itself is refused by it.
    with pytest.raises(
            InferenceInputError,
            match=f'^{folder}: is a folder, but the test pipeline '
            r"\(test_dataloader.dataset.pipeline: \['DecordInit', .*\) "
            'decodes video files: a folder of extracted frames is '
            'classified with a config whose test pipeline reads them with '
            'RawFrameDecode'):
        inferencer.inputs(folder)


def test_a_video_or_frame_file_given_to_a_rawframe_config_is_refused(
        model, tmp_path):
    from mmadaptformer.testing import write_video
    video = write_video(
        str(tmp_path / 'clip.mp4'), np.zeros((12, 32, 32, 3), dtype=np.uint8))
    error = model['inferencer'](video)[video]['error']
    assert error.startswith(
        f'{video}: the test pipeline (test_dataloader.dataset.pipeline: '
        "['SampleFrames', 'RawFrameDecode', 'Resize', 'ThreeCrop', "
        "'FormatShape', 'PackActionInputs']) opens no video file "
        '(RawFrameDecode reads extracted frames)')
    assert error.endswith(
        '(a numpy array of frames goes through this one, and so does a '
        "folder of a clip's frames, named as 'img_{:05}.jpg' names them).")
    # One frame given for its clip is refused, naming its folder.
    folder, _ = write_frames(tmp_path / 'clip', range(1, 11))
    frame = osp.join(folder, 'img_00001.jpg')
    assert model['inferencer'](frame)[frame] == dict(
        error=f'{frame}: is an image, but this model classifies clips given '
        'as folders of frames (its test pipeline reads them with '
        "RawFrameDecode); give the folder that holds a clip's frames, e.g. "
        f'{folder}.')


def test_a_short_frame_folder_is_named_as_short_videos_are(model, tmp_path):
    short, _ = write_frames(tmp_path / 'short', range(1, 4))
    long, _ = write_frames(tmp_path / 'long', range(1, 13))
    results = model['inferencer']([short, long])
    assert 'error' not in results[short]
    cfg = Config.fromfile(model['config'])
    spans = dict(frames=clip_span(cfg))
    assert spans == dict(frames=10)
    from mmadaptformer.apis.frame_folders import FrameFolders
    frames = dict(frames=FrameFolders.of_config(cfg))
    assert short_video_inputs(
        results, spans, frames=frames) == [(short, 3, 10)]


def test_infer_cli_on_frame_folders(model, tmp_path):
    root = tmp_path / 'rawframes'
    a, _ = write_frames(root / 'a', range(1, 13))
    b, _ = write_frames(root / 'b', range(1, 4), seed=1)
    out = tmp_path / 'r.json'
    proc = run_tool(
        ['infer.py', model['config'], model['checkpoint'], root, '--out', out],
        cwd=str(tmp_path),
        separate_stderr=True)
    results = json.loads(out.read_text())
    assert list(results) == [a, b]
    assert set(results[a]) == {'rawframe'}
    want = model['inferencer']([a, b])
    for folder in (a, b):
        assert torch.allclose(
            torch.tensor(results[folder]['rawframe']['scores']),
            torch.tensor(want[folder]['frames']['scores']),
            rtol=0,
            atol=1e-6)
    assert [line.split(': ')[0] for line in proc.stdout.splitlines()] == [a, b]
    # The 3-frame clip is named as a short video is.
    assert (f'classified 1 video shorter than a clip, with repeated frames '
            f'({b} (3 of 10 frames))') in ' '.join(proc.stderr.split())
    # One clip's folder, given itself, is that clip; a gap is an error.
    write_frames(tmp_path / 'gap', [1, 3])
    proc = run_tool([
        'infer.py', model['config'], model['checkpoint'], a, tmp_path / 'gap',
        '--out', out
    ],
                    cwd=str(tmp_path),
                    check=False,
                    separate_stderr=True)
    assert proc.returncode == 1
    results = json.loads(out.read_text())
    assert list(results) == [a, str(tmp_path / 'gap')]
    assert 'frame 2 (img_00002.jpg) is missing' in \
        results[str(tmp_path / 'gap')]['error']
    # MMAction2's rawframe list lines (frame_dir total_frames label), with
    # --list-root its data_prefix.
    (tmp_path / 'val.txt').write_text('b 3 1\na 12 0\n')
    run_tool([
        'infer.py', model['config'], model['checkpoint'], '--list',
        tmp_path / 'val.txt', '--list-root', root, '--out', out
    ],
             cwd=str(tmp_path),
             separate_stderr=True)
    assert list(json.loads(out.read_text())) == [b, a]


def test_a_template_that_names_no_frame_is_a_config_error(tmp_path):
    from mmadaptformer.apis.frame_folders import FrameFolders
    from mmadaptformer.utils import ConfigError
    with pytest.raises(
            ConfigError,
            match=r"^cfg.py: test_dataloader.dataset.filename_tmpl 'img.jpg' "
            r'has 0 fields; expected a file name with 1 field for the '
            r"frame's index, as 'img_\{:05\}.jpg'.$"):
        FrameFolders('img.jpg', where='cfg.py: test_dataloader.dataset')
    # Optical flow: a frame is there when both its components are.
    flow = FrameFolders('{}_{:05d}.jpg', modality='Flow')
    for index in (1, 2, 3):
        write_frames(tmp_path, [index], template='x_{:05d}.jpg')
    write_frames(tmp_path, [1, 3], template='y_{:05d}.jpg')
    with pytest.raises(
            InferenceInputError,
            match=r'frame 2 \(x_00002.jpg\) or its y component is missing'):
        flow.count(str(tmp_path))
    write_frames(tmp_path, [2], template='y_{:05d}.jpg')
    assert flow.count(str(tmp_path)) == 3
    assert flow.sample(str(tmp_path))['modality'] == 'Flow'
