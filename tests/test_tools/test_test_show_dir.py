# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/test.py --show-dir`` / ``--show`` on video configs: a real test
run on real video files writes the first view of each video, its pixels
the decoded frames."""
import cv2
import decord
import numpy as np
import pytest
from helpers import (CONFIGS, TINY_VIDEO_CONFIG, load_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from mmaction.datasets.transforms import SampleFrames
from mmengine.config import Config

from mmadaptformer.utils import ConfigError

test_tool = load_tool('test.py')


@pytest.fixture(scope='module')
def video_run(tmp_path_factory):
    from mmadaptformer.testing import make_moving_square_dataset
    root = tmp_path_factory.mktemp('show_dir')
    data = make_moving_square_dataset(
        str(root / 'data'), num_per_class=2, splits=('train', 'val'))
    save_stock_video_checkpoint(str(root / 'ckpt.pth'))
    cfg = write_config(root / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(data))
    return root, cfg, data


def _first_clip(video_file):
    """The frames of the tiny config's first test clip, as decoded."""
    reader = decord.VideoReader(str(video_file))
    sampler = SampleFrames(
        clip_len=4, frame_interval=3, num_clips=2, test_mode=True)
    inds = sampler.transform(dict(total_frames=len(reader),
                                  start_index=0))['frame_inds'][:4]
    return reader.get_batch(list(inds)).asnumpy()


def test_show_dir_writes_the_first_view_of_each_video(video_run):
    from helpers import run_tool
    root, cfg, data = video_run
    show = root / 'vis'
    run_tool([
        'test.py', cfg, root / 'ckpt.pth', '--work-dir', root / 'work',
        '--show-dir', show
    ],
             cwd=root)
    # One folder per test video (sample index, step 0), clip_len frames.
    assert sorted(p.name for p in show.iterdir()) == \
        ['0_0', '1_0', '2_0', '3_0']
    videos = [line.split()[0] for line in open(data['val'])]
    for index, name in enumerate(videos):
        folder = show / f'{index}_0' / 'frames_0'
        assert sorted(p.name for p in folder.iterdir()) == \
            ['0.png', '1.png', '2.png', '3.png']
        source = _first_clip(f"{data['videos']}/{name}")
        for t in range(4):
            drawn = cv2.imread(str(folder / f'{t}.png'))[..., ::-1]  # RGB
            assert drawn.shape == (32, 32, 3)
            # Below the label box, the picture is the decoded frame
            # (32x32: the resize and the three crops keep it whole).
            diff = np.abs(drawn[16:].astype(int) - source[t, 16:])
            assert diff.mean() < 1, (name, t, diff.mean())
            # The labels are drawn over the top-left corner.
            top = np.abs(drawn[:8, :16].astype(int) - source[t, :8, :16])
            assert top.mean() > 5, (name, t)

    # --interval 3: samples 0 and 3.
    sparse = root / 'sparse'
    run_tool([
        'test.py', cfg, root / 'ckpt.pth', '--work-dir', root / 'work',
        '--show-dir', sparse, '--interval', '3'
    ],
             cwd=root)
    assert sorted(p.name for p in sparse.iterdir()) == ['0_0', '3_0']


def test_a_smaller_last_batch_is_drawn_under_its_own_index(video_run):
    """4 videos in batches of 3: the last batch's video was drawn as
    sample 1 (batch_idx x its own size), over video 1's frames, and
    ``--interval 3`` skipped it."""
    from helpers import run_tool
    root, cfg, data = video_run
    videos = [line.split()[0] for line in open(data['val'])]
    for interval, drawn in ((1, [0, 1, 2, 3]), (3, [0, 3])):
        show = root / f'batches_of_3_every_{interval}'
        run_tool([
            'test.py', cfg, root / 'ckpt.pth', '--work-dir', root / 'work',
            '--show-dir', show, '--interval',
            str(interval), '--cfg-options', 'test_dataloader.batch_size=3'
        ],
                 cwd=root)
        assert sorted(p.name for p in show.iterdir()) == \
            [f'{index}_0' for index in drawn]
        for index in drawn:
            frame = cv2.imread(
                str(show / f'{index}_0' / 'frames_0' / '0.png'))[..., ::-1]
            source = _first_clip(f"{data['videos']}/{videos[index]}")
            diff = np.abs(frame[16:].astype(int) - source[0, 16:])
            assert diff.mean() < 1, (interval, index, diff.mean())


@pytest.mark.parametrize(
    'config', ['adaptformer_vitb_ssv2.py', 'adaptformer_vitb_hmdb51.py'])
def test_recipes_enable_their_hook_for_show_dir(config):
    path = f'{CONFIGS}/{config}'
    cfg = Config.fromfile(path)
    assert cfg.default_hooks.visualization == dict(
        type='VideoVisualizationHook', enable=False)
    args = test_tool.parse_args(
        [path, 'ckpt.pth', '--show-dir', 'vis', '--interval', '7'])
    hook = test_tool.merge_args(cfg, args).default_hooks.visualization
    assert hook == dict(
        type='VideoVisualizationHook',
        enable=True,
        show=False,
        wait_time=2,
        out_dir='vis',
        interval=7)


def _no_hook_cfg():
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.default_hooks.pop('visualization')
    return cfg


def test_hook_given_by_cfg_options_is_enabled():
    # The check for the hook came before --cfg-options were merged.
    args = test_tool.parse_args([
        TINY_VIDEO_CONFIG, 'ckpt.pth', '--show-dir', 'vis', '--cfg-options',
        'default_hooks.visualization.type=VideoVisualizationHook'
    ])
    hook = test_tool.merge_args(_no_hook_cfg(), args).default_hooks
    assert hook.visualization.enable is True
    assert hook.visualization.out_dir == 'vis'
    # Without it, the error says how to add one.
    args = test_tool.parse_args([TINY_VIDEO_CONFIG, 'ckpt.pth', '--show'])
    with pytest.raises(
            ConfigError,
            match='--show needs a visualization hook.*--cfg-options '
            'default_hooks.visualization.type=VideoVisualizationHook'):
        test_tool.merge_args(_no_hook_cfg(), args)


def test_upstream_video_hook_is_refused_by_name():
    args = test_tool.parse_args([
        TINY_VIDEO_CONFIG, 'ckpt.pth', '--show-dir', 'vis', '--cfg-options',
        'default_hooks.visualization.type=mmaction.VisualizationHook'
    ])
    with pytest.raises(
            ConfigError,
            match=r'--show-dir: default_hooks.visualization.type='
            r"'mmaction.VisualizationHook' in .*tiny_vit_video.py is "
            r"MMAction2 1.2's VisualizationHook.*"
            "use type='VideoVisualizationHook'"):
        test_tool.merge_args(Config.fromfile(TINY_VIDEO_CONFIG), args)


def test_image_configs_keep_mmpretrain_visualization(tmp_path,
                                                     tiny_image_data):
    from helpers import TINY_IMAGE_CONFIG, image_data_cfg, run_tool
    cfg = write_config(tmp_path / 'cfg.py', TINY_IMAGE_CONFIG,
                       image_data_cfg(tiny_image_data))
    checkpoint = tmp_path / 'ckpt.pth'
    run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'work', '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
             cwd=tmp_path)
    (tmp_path / 'work' / 'epoch_1.pth').rename(checkpoint)
    run_tool([
        'test.py', cfg, checkpoint, '--work-dir', tmp_path / 'test',
        '--show-dir', 'vis'
    ],
             cwd=tmp_path)
    # MMPretrain's VisualizationHook named each drawing
    # <image name>_<step>.png, so the two classes' folders, which hold the
    # same names, left 4 drawings of 8 images; ImageVisualizationHook keeps
    # each image's path below the test set's folder.
    assert sorted(
        p.relative_to(tmp_path / 'vis').as_posix()
        for p in (tmp_path / 'vis').rglob('*') if p.is_file()) == [
            f'{name}/{i}.png_0.png' for name in ('horizontal', 'vertical')
            for i in range(4)
        ]
