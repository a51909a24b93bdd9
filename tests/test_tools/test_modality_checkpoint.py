# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An image model's checkpoint given to a video config, and the reverse,
is named for what it is on every loading path.

Before, a whole image AdaptFormer model (an MMPretrain classifier) given to
the tiny video config was refused by ``tools/test.py``,
``mmengine.runner.load_checkpoint`` and the wrapper as "saved on a backbone
of another depth or layout", by ``init_model`` / ``tools/infer.py`` as "a
backbone checkpoint (the backbone alone ...)" with ``--pretrained`` advice,
and by ``tools/train.py --pretrained`` as a trained model to give
``tools/test.py CONFIG FILE`` (this video config) instead; a stock image
ViT as ``--pretrained`` as "probably saved from another architecture".
Now each says it is an image (MMPretrain) model's checkpoint, that the
model is a video one, and what fits.
"""
import pytest
from checkpoint_makers import (save_as_built_checkpoint,
                               save_stock_image_checkpoint)
from config_writers import image_data_cfg, video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import (TINY_ADAPTFORMER_IMAGE_CONFIG,
                        TINY_ADAPTFORMER_VIDEO_CONFIG)
from tool_runners import run_tool

from mmadaptformer.utils.state_dict_check import StateDictMismatchError

IMAGE_ON_VIDEO = (
    "it is an image model's checkpoint (MMPretrain's ViT: its patch "
    'embedding {key} is a Conv2d weight of shape (64, 3, 16, 16)), and this '
    "model is a video one (MMAction2's ViT, a Conv3d patch embedding). Use "
    'it with an image (MMPretrain) config, such as the one it was trained '
    "with, and give this video config a video model's checkpoint")
VIDEO_ON_IMAGE = (
    "it is a video model's checkpoint (MMAction2's ViT: its patch embedding "
    '{key} is a Conv3d weight of shape (64, 3, 2, 16, 16)), and this model '
    "is an image one (MMPretrain's ViT, a Conv2d patch embedding)")
FULL_KEY = 'backbone.patch_embed.projection.weight'


@pytest.fixture(scope='module')
def image_model(tmp_path_factory) -> str:
    """A whole tiny image AdaptFormer model (adapters, head)."""
    path = tmp_path_factory.mktemp('image') / 'image_adaptformer.pth'
    return save_as_built_checkpoint(TINY_ADAPTFORMER_IMAGE_CONFIG, path)


@pytest.fixture(scope='module')
def video_model(tmp_path_factory) -> str:
    """A whole tiny video AdaptFormer model (adapters, head)."""
    path = tmp_path_factory.mktemp('video') / 'video_adaptformer.pth'
    return save_as_built_checkpoint(TINY_ADAPTFORMER_VIDEO_CONFIG, path)


def _video_config(tmp_path, data) -> str:
    return write_config(tmp_path / 'video.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                        video_data_cfg(data))


def test_test_tool_names_an_image_model_on_a_video_config(
        tmp_path, tiny_video_data, image_model):
    proc = run_tool([
        'test.py',
        _video_config(tmp_path, tiny_video_data), image_model, '--work-dir',
        tmp_path / 'w'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout
    assert IMAGE_ON_VIDEO.format(key=FULL_KEY) in proc.stdout, \
        proc.stdout[-3000:]
    assert 'another depth or layout' not in proc.stdout


def test_train_pretrained_names_an_image_model_on_a_video_config(
        tmp_path, tiny_video_data, image_model):
    line = refused_line(
        run_tool([
            'train.py',
            _video_config(tmp_path, tiny_video_data), '--pretrained',
            image_model, '--work-dir', tmp_path / 'w'
        ],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith(f'PretrainedFileError: {image_model} holds 8 '
                           'tensors of trained adapters'), line
    assert 'it is a trained AdaptFormer model, not a pretrained backbone; '\
        "it is an image model's checkpoint (MMPretrain" in line, line
    # Not sent to test it with this video config.
    assert 'tools/test.py CONFIG' not in line, line


def test_train_pretrained_names_a_stock_image_vit(tmp_path, tiny_video_data):
    stock = str(tmp_path / 'image_vit.pth')
    save_stock_image_checkpoint(stock)
    proc = run_tool([
        'train.py',
        _video_config(tmp_path, tiny_video_data), '--pretrained', stock,
        '--work-dir', tmp_path / 'w'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert IMAGE_ON_VIDEO.format(key='patch_embed.projection.weight') in \
        proc.stdout, proc.stdout[-3000:]
    assert 'another architecture' not in proc.stdout


def test_the_apis_name_an_image_model_on_a_video_config(image_model):
    from mmengine.runner import load_checkpoint

    from mmadaptformer.apis import init_model
    with pytest.raises(StateDictMismatchError) as info:
        init_model(TINY_ADAPTFORMER_VIDEO_CONFIG, image_model)
    assert IMAGE_ON_VIDEO.format(key=FULL_KEY) in str(info.value)
    assert 'backbone checkpoint' not in str(info.value)
    model = init_model(TINY_ADAPTFORMER_VIDEO_CONFIG)[0]
    with pytest.raises(StateDictMismatchError) as info:
        load_checkpoint(model, image_model, map_location='cpu')
    assert IMAGE_ON_VIDEO.format(key=FULL_KEY) in str(info.value)
    assert 'another depth or layout' not in str(info.value)


def test_a_video_model_on_an_image_config_is_named_too(tmp_path,
                                                       tiny_image_data,
                                                       video_model):
    from mmadaptformer.apis import init_model
    with pytest.raises(StateDictMismatchError) as info:
        init_model(TINY_ADAPTFORMER_IMAGE_CONFIG, video_model)
    assert VIDEO_ON_IMAGE.format(key=FULL_KEY) in str(info.value)
    config = write_config(tmp_path / 'image.py', TINY_ADAPTFORMER_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    proc = run_tool(
        ['test.py', config, video_model, '--work-dir', tmp_path / 'w'],
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert VIDEO_ON_IMAGE.format(key=FULL_KEY) in proc.stdout, \
        proc.stdout[-3000:]
