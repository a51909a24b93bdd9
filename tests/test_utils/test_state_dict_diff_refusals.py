# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``diff_state_dict``'s dry run of the model's loading code lets the
package's own refusals through.

It ran the load on ``meta`` copies and, on any exception, logged it at
DEBUG and compared keys instead: adapters trained on another frozen
backbone, whose dry run raised the right ``FrozenBackboneMismatchError``,
came out as missing backbone tensors ("the file is damaged"). A hook of
another library that needs real data: test_state_dict_diff_values.py.
"""
import os.path as osp

import pytest
from adapter_only_files import adapter_only_as_written
from checkpoint_makers import save_stock_image_checkpoint
from config_writers import pretrained_cfg, write_config
from repo_paths import CONFIGS

from mmadaptformer.utils.load_refusal import LoadRefusal
from mmadaptformer.utils.state_dict_check import check_state_dict
from mmadaptformer.utils.state_dict_diff import diff_state_dict


@pytest.fixture(scope='module')
def on_two_backbones(tmp_path_factory):
    """The tiny AdaptFormer image model's adapter-only state dict (with
    its record) trained on ``stock.pth``, and the model built on
    ``other.pth`` (another seed's tiny ViT) and on ``stock.pth``, their
    weights initialised."""
    from mmengine.config import Config

    from mmadaptformer.engine import build_model_and_plan
    root = tmp_path_factory.mktemp('diff_refusals')
    models = {}
    for name, seed in (('stock', 0), ('other', 1)):
        file = str(root / f'{name}.pth')
        save_stock_image_checkpoint(file, seed=seed)
        config = write_config(
            str(root / f'{name}.py'),
            osp.join(CONFIGS, 'tiny', 'tiny_adaptformer_image.py'),
            pretrained_cfg(file))
        models[name] = build_model_and_plan(Config.fromfile(config))
    checkpoint = adapter_only_as_written(*models['stock'])
    return dict(
        state_dict=checkpoint['state_dict'],
        stock=models['stock'][0],
        other=models['other'][0],
        stock_file=str(root / 'stock.pth'))


def test_frozen_backbone_refusal_comes_out(on_two_backbones):
    """The dry run's refusal, not the key comparison's missing tensors."""
    from mmadaptformer.models import FrozenBackboneMismatchError
    t = on_two_backbones
    with pytest.raises(FrozenBackboneMismatchError) as e:
        diff_state_dict(t['other'], t['state_dict'])
    assert 'was trained on a different frozen backbone' in str(e.value)
    assert f"The adapters were trained on {t['stock_file']}." in str(e.value)
    # Callers that catch the error's own base still catch it.
    assert isinstance(e.value, RuntimeError)
    assert isinstance(e.value, LoadRefusal)
    with pytest.raises(FrozenBackboneMismatchError):
        check_state_dict(t['other'], t['state_dict'], 'adapters.pth')


def test_damaged_pretrained_file_is_named(on_two_backbones, tmp_path):
    """A model not initialised yet (``Runner.test()`` does not call
    ``init_weights()``): the dry run of an adapter-only state dict reads
    the host's pretrained file, here truncated. Its refusal names that
    file; the key comparison named the adapter file as damaged."""
    from mmengine.config import Config

    from mmadaptformer.engine import build_model_and_plan
    from mmadaptformer.utils import CheckpointLoadError
    t = on_two_backbones
    with open(t['stock_file'], 'rb') as f:
        data = f.read()
    damaged = str(tmp_path / 'damaged.pth')
    with open(damaged, 'wb') as f:
        f.write(data[:len(data) // 2])
    config = write_config(
        str(tmp_path / 'damaged.py'),
        osp.join(CONFIGS, 'tiny', 'tiny_adaptformer_image.py'),
        pretrained_cfg(damaged))
    model, _ = build_model_and_plan(
        Config.fromfile(config), init_weights=False)
    with pytest.raises(CheckpointLoadError) as e:
        check_state_dict(model, t['state_dict'], 'adapters.pth')
    assert f'Checkpoint file {damaged} (' in str(e.value)
    assert 'is truncated or corrupted' in str(e.value)


def test_own_backbone_dry_run_lists_nothing_missing(on_two_backbones):
    """Guards kept behaviour: on the backbone it was trained on, the dry
    run verifies the record and the frozen tensors it leaves out are not
    missing (a key comparison would list every one of them)."""
    t = on_two_backbones
    diff = diff_state_dict(t['stock'], t['state_dict'])
    assert not diff.missing and not diff.unexpected and not diff.mismatched


def test_head_check_keeps_the_record(on_two_backbones):
    """Guards kept behaviour: the head check's dry run of an adapter-only
    state dict without its head keeps the record of the frozen backbone
    (its tensors alone were dry-run: the load's refusal of a file that
    lost its record came out, now that refusals are raised)."""
    from mmadaptformer.utils.classifier_parts import missing_evaluated_keys
    t = on_two_backbones
    headless = {
        k: v
        for k, v in t['state_dict'].items() if not k.startswith('head.')
    }
    assert sorted(missing_evaluated_keys(t['stock'], headless)) == [
        'head.bn.running_mean', 'head.bn.running_var', 'head.fc.bias',
        'head.fc.weight'
    ]
