# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint trained with the other toolbox (the tiny image
AdaptFormer's, mmpretrain, given to mmaction2's ``init_recognizer`` with the
tiny video config, or the video one's to mmpretrain's ``get_model`` with the
image config) is named as the adapters of another host backbone by the
toolboxes' own APIs, in the words of ``tools/infer.py`` and
:func:`~mmadaptformer.apis.init_model`.

The check of an adapter-only file's head, which MMEngine's load runs before
the model's own load path, saw the heads differ too (``head.*`` against
``cls_head.*``) and refused it as "an adapter-only checkpoint of a model
with another head (cls_head.*) ... 5 missing", which sent the user after the
head while the cause is the ViT its adapters were trained on."""
import pytest
import torch
from adapter_only_files import built_with_adapter_only
from mmengine.registry import init_default_scope
from repo_paths import (TINY_ADAPTFORMER_IMAGE_CONFIG,
                        TINY_ADAPTFORMER_VIDEO_CONFIG)

from mmadaptformer.utils.state_dict_check import StateDictMismatchError

#: The hosts each toolbox's tiny AdaptFormer wraps, as the refusal names
#: them.
_IMAGE_HOST = ('mmpretrain VisionTransformer '
               '(mmpretrain.models.backbones.vision_transformer.'
               'VisionTransformer)')
_VIDEO_HOST = ('mmaction VisionTransformer '
               '(mmaction.models.backbones.vit_mae.VisionTransformer)')


@pytest.fixture(scope='module')
def adapter_files(tmp_path_factory):
    """``{'image': path, 'video': path}``: each tiny AdaptFormer's
    adapter-only file."""
    folder = tmp_path_factory.mktemp('other_toolbox')
    files = {}
    for kind, config, scope in (('image', TINY_ADAPTFORMER_IMAGE_CONFIG,
                                 'mmpretrain'),
                                ('video', TINY_ADAPTFORMER_VIDEO_CONFIG,
                                 'mmaction')):
        init_default_scope(scope)
        _, _, checkpoint = built_with_adapter_only(config)
        files[kind] = str(folder / f'{kind}_adapters.pth')
        torch.save(checkpoint, files[kind])
    return files


def _refusal(load) -> str:
    with pytest.raises(StateDictMismatchError) as info:
        load()
    return str(info.value)


def _assert_other_host(message: str, path: str, trained_on: str,
                       wraps: str) -> None:
    assert message.startswith(
        f'The adapter-only checkpoint {path} is of another model: its '
        f'adapters were trained on {trained_on}, but this model\'s '
        f'AdaptFormer wraps {wraps}'), message
    assert 'Use the config it was trained with' in message, message
    assert 'another head' not in message, message
    assert 'missing' not in message, message


def _init_model_refusal(config: str, path: str) -> str:
    from mmadaptformer.apis import init_model
    return _refusal(lambda: init_model(config, path))


def test_init_recognizer_names_image_adapters_on_the_video_vit(adapter_files):
    from mmaction.apis import init_recognizer
    path = adapter_files['image']
    message = _refusal(lambda: init_recognizer(
        TINY_ADAPTFORMER_VIDEO_CONFIG, path, device='cpu'))
    _assert_other_host(message, path, _IMAGE_HOST, _VIDEO_HOST)
    # One wording: the inference API's (tools/infer.py's).
    assert message == _init_model_refusal(TINY_ADAPTFORMER_VIDEO_CONFIG, path)


def test_get_model_names_video_adapters_on_the_image_vit(adapter_files):
    from mmpretrain import get_model
    path = adapter_files['video']
    message = _refusal(lambda: get_model(
        TINY_ADAPTFORMER_IMAGE_CONFIG, pretrained=path, device='cpu'))
    _assert_other_host(message, path, _VIDEO_HOST, _IMAGE_HOST)
    assert message == _init_model_refusal(TINY_ADAPTFORMER_IMAGE_CONFIG, path)


def test_load_checkpoint_names_it_and_loads_nothing(adapter_files):
    """MMEngine's ``load_checkpoint``, behind both APIs: the same words,
    and the model unchanged."""
    from mmengine.runner import load_checkpoint
    init_default_scope('mmaction')
    model, _, _ = built_with_adapter_only(
        TINY_ADAPTFORMER_VIDEO_CONFIG, seed=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    path = adapter_files['image']
    message = _refusal(
        lambda: load_checkpoint(model, path, map_location='cpu'))
    _assert_other_host(message, path, _IMAGE_HOST, _VIDEO_HOST)
    assert all(
        torch.equal(before[k], v) for k, v in model.state_dict().items())
