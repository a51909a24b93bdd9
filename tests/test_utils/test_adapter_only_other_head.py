# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint of another AdaptFormer model (another head)
given to the evaluation loads (MMEngine's ``load_checkpoint``, mmpretrain's
``get_model`` and Inferencers) is named as such.

The model's own load path (the AdaptFormer wrapper) sees only the
backbone's keys, and the head check that came first took the file for "a
backbone checkpoint (as convert_official.py writes one)": a user who gave
the checkpoint of another of their runs was told to give it as
``--pretrained``."""
import pytest
import torch
from adapter_only_files import built_with_adapter_only
from config_writers import write_config
from mmengine.runner import load_checkpoint
from repo_paths import TINY_ADAPTFORMER_IMAGE_CONFIG

from mmadaptformer.utils.state_dict_check import StateDictMismatchError

#: The tiny image AdaptFormer with mmpretrain's stock linear head in place
#: of the recipes' BatchNorm+Linear one.
_LINEAR_HEAD = """
model = dict(head=dict(_delete_=True, type='LinearClsHead', num_classes=2,
                       in_channels=64))
"""


@pytest.fixture(scope='module')
def other_head_file(tmp_path_factory):
    """The adapter-only file of the linear-head model, on the same backbone
    (the same seed) as the tiny config's model."""
    folder = tmp_path_factory.mktemp('other_head')
    config = write_config(folder / 'linear_head.py',
                          TINY_ADAPTFORMER_IMAGE_CONFIG, _LINEAR_HEAD)
    _, _, checkpoint = built_with_adapter_only(config, seed=0)
    path = str(folder / 'linear_head.pth')
    torch.save(checkpoint, path)
    return path


def test_load_checkpoint_names_the_other_models_head(other_head_file):
    model, _, _ = built_with_adapter_only(
        TINY_ADAPTFORMER_IMAGE_CONFIG, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(StateDictMismatchError) as info:
        load_checkpoint(model, other_head_file, map_location='cpu')
    message = str(info.value)
    assert message.startswith(
        f'{other_head_file} is an adapter-only checkpoint of a model with '
        'another head'), message
    # Its BatchNorm is what the linear head lacks.
    assert 'head.bn.running_mean' in message, message
    assert 'Use the config it was trained with' in message, message
    assert 'backbone checkpoint' not in message, message
    # Nothing of it was loaded.
    assert all(
        torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_get_model_names_it_too(other_head_file):
    from mmpretrain import get_model
    with pytest.raises(
            StateDictMismatchError,
            match='adapter-only checkpoint of a model with another head'):
        get_model(
            TINY_ADAPTFORMER_IMAGE_CONFIG,
            pretrained=other_head_file,
            device='cpu')


def test_a_training_transfer_still_loads_it(other_head_file):
    """Guard of kept behaviour: a training run's ``load_from`` (the
    Runner's binding of the load) may put the adapters under a new head;
    only the head's keys are left out."""
    import mmengine.runner.runner as runner_module

    from mmadaptformer.utils import safe_torch_load
    model, _, _ = built_with_adapter_only(
        TINY_ADAPTFORMER_IMAGE_CONFIG, seed=0)
    checkpoint = safe_torch_load(other_head_file, map_location='cpu')
    runner_module._load_checkpoint_to_model(model, checkpoint, strict=False)
    state = checkpoint['state_dict']
    adapter = 'backbone.layers.0.adaptmlp.down_proj.weight'
    assert torch.equal(model.state_dict()[adapter], state[adapter])
