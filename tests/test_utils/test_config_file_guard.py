# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The toolboxes' own APIs given a checkpoint where the config goes
(``init_recognizer(CHECKPOINT, CONFIG)``) name it, with the order of files.

Before, mmaction2's ``init_recognizer`` and Inferencers ended with
MMEngine's bare ``OSError: Only py/yml/yaml/json type are supported now!``,
and mmpretrain's ``get_model``, ``init_model`` and Inferencers with ``Failed
to find model "i.pth"``; only our tools said what the file was.
"""
import pytest
from checkpoint_makers import (save_stock_image_checkpoint,
                               save_stock_video_checkpoint)
from repo_paths import TINY_IMAGE_CONFIG, TINY_VIDEO_CONFIG

import mmadaptformer  # noqa: F401  (the upstream fixes)
from mmadaptformer.utils import NotAConfigFileError

ORDER = ('it is a checkpoint (torch.save): the APIs take the config first, '
         "then the checkpoint (mmaction2's init_recognizer(CONFIG, "
         'CHECKPOINT)')
SAID = ('is not a config file: MMEngine reads configs ending in .py, .json, '
        f'.yml, .yaml; {ORDER}')
#: What mmpretrain's get_model really reads (Path(model).suffix == '.py').
PRETRAIN_READS = ("mmpretrain's get_model and Inferencers read a config only "
                  'from a .py file or a Config (any other string is looked '
                  'up as a model name)')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp('swapped_api')
    video, image = str(root / 'video.pth'), str(root / 'image.pth')
    save_stock_video_checkpoint(video)
    save_stock_image_checkpoint(image)
    return dict(video=video, image=image, root=root)


def _mmaction_calls():
    from mmaction.apis import init_recognizer
    from mmaction.apis.inferencers import ActionRecogInferencer
    return {
        'init_recognizer':
        lambda ckpt, cfg: init_recognizer(ckpt, cfg, device='cpu'),
        'ActionRecogInferencer':
        lambda ckpt, cfg: ActionRecogInferencer(ckpt, cfg, device='cpu'),
    }


def _mmpretrain_calls():
    from mmpretrain.apis import (ImageClassificationInferencer, get_model,
                                 init_model)
    return {
        'get_model':
        lambda ckpt, cfg: get_model(ckpt, pretrained=cfg, device='cpu'),
        'init_model':
        lambda ckpt, cfg: init_model(ckpt, cfg, device='cpu'),
        'ImageClassificationInferencer':
        lambda ckpt, cfg: ImageClassificationInferencer(
            ckpt, cfg, device='cpu'),
    }


@pytest.mark.parametrize('api', [
    'init_recognizer', 'ActionRecogInferencer', 'get_model', 'init_model',
    'ImageClassificationInferencer'
])
def test_swapped_checkpoint_and_config_are_named(checkpoints, api):
    video = api in _mmaction_calls()
    call = {**_mmaction_calls(), **_mmpretrain_calls()}[api]
    ckpt = checkpoints['video' if video else 'image']
    config = TINY_VIDEO_CONFIG if video else TINY_IMAGE_CONFIG
    with pytest.raises(NotAConfigFileError) as info:
        call(ckpt, config)
    if video:
        assert f'The config {ckpt} {SAID}' in str(info.value)
    else:
        # mmpretrain reads no json or yaml config: not MMEngine's list.
        assert str(info.value).startswith(
            f'The model {ckpt} is not a .py config file: {PRETRAIN_READS}; '
            f'{ORDER}')
    # Code that caught MMEngine's OSError still catches it.
    assert isinstance(info.value, OSError)


@pytest.mark.parametrize('suffix', ['json', 'yml'])
def test_json_config_given_to_get_model_is_told_how(checkpoints, suffix):
    """mmpretrain's ``get_model`` reads only ``.py`` configs: a json or
    yaml one is named a config, with the call that reads it."""
    from mmengine.config import Config
    from mmpretrain.apis import get_model
    path = str(checkpoints['root'] / f'image.{suffix}')
    Config.fromfile(TINY_IMAGE_CONFIG).dump(path)
    with pytest.raises(NotAConfigFileError) as info:
        get_model(path)
    assert str(info.value) == (
        f'The model {path} is a {suffix} config file, but {PRETRAIN_READS}: '
        f'give Config.fromfile({path!r}) as the model instead.')
    # Read through Config.fromfile, as the message says, it builds.
    assert get_model(Config.fromfile(path)).__class__.__name__ == \
        'ImageClassifier'


def test_configs_and_model_names_go_through(checkpoints):
    """Guards kept behaviour: a config in the right place builds, and a
    name that is not a file is looked up as before."""
    from mmaction.apis import init_recognizer
    from mmpretrain.apis import get_model
    model = init_recognizer(
        TINY_VIDEO_CONFIG, checkpoints['video'], device='cpu')
    assert model.__class__.__name__ == 'Recognizer3D'
    with pytest.raises(ValueError, match='Failed to find model "no-such"'):
        get_model('no-such')


def test_other_file_given_to_get_model_is_told_what_it_reads(checkpoints):
    """A file that is neither a config nor a checkpoint, given to
    mmpretrain's ``get_model``, was told MMEngine's list of config
    suffixes (json and yaml among them), which get_model does not read."""
    from mmpretrain.apis import get_model
    path = checkpoints['root'] / 'notes.txt'
    path.write_text('not a config\n')
    with pytest.raises(NotAConfigFileError) as info:
        get_model(str(path))
    assert str(info.value) == (
        f'The model {path} is not a .py config file: {PRETRAIN_READS}.')
