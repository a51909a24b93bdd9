# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A video, image or config given to the Python APIs as the checkpoint is
named in the API's terms (its name and arguments), before a model is
built, as a checkpoint given as the config already was.

Before, the loader named it once the model was built, with the tools'
order: ``Checkpoint file clip.mp4 (1219 bytes) is a video file (MP4/MOV),
not a checkpoint: the tools take the config first, then the checkpoint,
then the inputs (tools/infer.py CONFIG CHECKPOINT INPUT ..., ...)``, which
a Python caller does not run.
"""
import pytest
from media_files import write_black_png, write_clip
from repo_paths import TINY_VIDEO_CONFIG

from mmadaptformer import apis
from mmadaptformer.utils import CheckpointLoadError


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('api_misplaced')
    video = write_clip(str(root / 'clip.mp4'))
    image = write_black_png(str(root / 'img.png'))
    return dict(video=video, image=image, config=TINY_VIDEO_CONFIG)


CALLS = {
    'init_model': (lambda ckpt: apis.init_model(TINY_VIDEO_CONFIG, ckpt),
                   'init_model(config, checkpoint)'),
    'ModelInferencer':
    (lambda ckpt: apis.ModelInferencer(TINY_VIDEO_CONFIG, ckpt),
     'ModelInferencer(config, checkpoint)'),
    'add_task': (lambda ckpt: apis.MultiTaskRecognizer().add_task(
        'a', TINY_VIDEO_CONFIG, ckpt), 'add_task(name, config, checkpoint)'),
}
KINDS = {
    'video': 'a video file (MP4/MOV)',
    'image': 'an image (PNG)',
    'config': 'a config file',
}


@pytest.mark.parametrize('api', sorted(CALLS))
@pytest.mark.parametrize('given', sorted(KINDS))
def test_api_names_a_misplaced_checkpoint_in_its_terms(files, api, given,
                                                       monkeypatch):
    call, signature = CALLS[api]
    built = []
    from mmengine.registry import MODELS
    build = MODELS.build
    monkeypatch.setattr(MODELS, 'build',
                        lambda *a, **k: built.append(1) or build(*a, **k))
    with pytest.raises(Exception) as err:
        call(files[given])
    name = signature.split('(')[0]
    assert (f'Checkpoint file {files[given]} is {KINDS[given]}, not a '
            f'checkpoint: {name} takes the config first, then the '
            f'checkpoint: {signature}. It was not loaded.') in str(err.value)
    assert 'the tools take' not in str(err.value)
    # add_task wraps it in TaskLoadError, naming the task.
    cause = err.value if api != 'add_task' else err.value.__cause__ or \
        err.value
    assert isinstance(cause, CheckpointLoadError) or \
        'CheckpointLoadError' in str(err.value)
    assert not built, 'refused after the model was built'
