# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A file in the toolboxes' own layout nested one level deeper is named
for what it is, not as official training code's or timm's.

Before, one of our own AdaptFormer checkpoints whose weights were saved
under ``'model'`` was refused "as the official training code (DeiT, Swin,
MAE, VideoMAE, AdaptFormer) and timm save them", and the whole checkpoint
saved under ``'model'`` (``{'model': {'state_dict': ..., 'meta': ...}}``)
was called "a backbone checkpoint (the backbone alone ...)" that holds
neither the adapters nor the head. Real files of the tiny AdaptFormer.
"""
import pytest
import torch
from checkpoint_makers import save_as_built_checkpoint
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.apis import init_model
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

LAYOUT = ("named in MMAction2's and MMPretrain's own layout "
          "('backbone.patch_embed.projection.weight'), not as official "
          'training code or timm name them')
WHERE = ("where MMEngine does not look (it reads 'state_dict' or the top "
         'level)')


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('own_nested')
    full = save_as_built_checkpoint(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                    root / 'epoch_1.pth')
    checkpoint = torch.load(full, map_location='cpu')
    weights, whole = str(root / 'weights.pth'), str(root / 'whole.pth')
    torch.save({'model': checkpoint['state_dict']}, weights)
    torch.save({'model': checkpoint}, whole)
    return dict(
        root=root,
        weights=weights,
        whole=whole,
        count=len(checkpoint['state_dict']),
        first=next(iter(checkpoint['state_dict'])))


def test_our_weights_under_model_are_named_ours(files):
    with pytest.raises(StateDictMismatchError) as info:
        init_model(TINY_ADAPTFORMER_VIDEO_CONFIG, files['weights'])
    message = str(info.value)
    assert (f"its weights are nested under 'model' ({files['count']} "
            f"tensors, e.g. {files['first']!r}), {LAYOUT} (a checkpoint of "
            'an MMAction2, MMPretrain or mmadaptformer model, saved under '
            f"'model'), {WHERE}: its tensors already carry the model's own "
            'names') in message, message
    assert 'timm save' not in message


def test_our_weights_given_to_another_config_say_so(files):
    """mmaction2's own ``init_recognizer`` with the stock config: the same
    cause, and the advice does not call them the model's own names."""
    from mmaction.apis import init_recognizer
    with pytest.raises(StateDictMismatchError) as info:
        init_recognizer(TINY_VIDEO_CONFIG, files['weights'], device='cpu')
    message = str(info.value)
    assert LAYOUT in message and 'timm save' not in message, message
    assert ("its tensors already carry MMAction2's and MMPretrain's names, "
            'so take them out as they are, converting nothing: '
            'tools/model_converters/convert_official.py SRC DST --key model '
            "--unwrap-only; they are not all this model's tensors, so also "
            'check that the config is the one the file was trained with'
            ) in message, message


def test_our_whole_checkpoint_under_model_is_named_and_taken_out(files):
    """The whole checkpoint one level deeper: named as such, and the
    command it gives makes a file that loads."""
    with pytest.raises(StateDictMismatchError) as info:
        init_model(TINY_ADAPTFORMER_VIDEO_CONFIG, files['whole'])
    message = str(info.value)
    assert (f"its weights are nested under 'model'['state_dict'] "
            f"({files['count']} tensors, e.g. {files['first']!r}), {LAYOUT} "
            '(a whole checkpoint of an MMAction2, MMPretrain or '
            f"mmadaptformer model, saved under 'model'), {WHERE}") \
        in message, message
    assert 'backbone checkpoint' not in message, message
    command = ('tools/model_converters/convert_official.py SRC DST --key '
               'model --unwrap-only.')
    assert command in message, message
    dst = str(files['root'] / 'unwrapped.pth')
    run_tool([
        'model_converters/convert_official.py', files['whole'], dst, '--key',
        'model', '--unwrap-only'
    ],
             cwd=files['root'])
    model, _ = init_model(TINY_ADAPTFORMER_VIDEO_CONFIG, dst)
    expected = torch.load(files['whole'])['model']['state_dict']
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in expected.items())
