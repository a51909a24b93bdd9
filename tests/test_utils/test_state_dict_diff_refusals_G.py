# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``diff_state_dict``'s dry run of the model's loading code lets the
package's own refusals through.

It ran the load on ``meta`` copies and, on any exception, logged it at
DEBUG and compared keys instead: adapters trained on another frozen
backbone, whose dry run raised the right ``FrozenBackboneMismatchError``,
came out as missing backbone tensors ("the file is damaged"). A hook of
another library that needs real data still gets the key comparison, now
logged as a warning where it finds differences.
"""
import logging
import os.path as osp

import pytest
import torch
from adapter_only_files import adapter_only_as_written
from checkpoint_makers import save_stock_image_checkpoint
from config_writers import pretrained_cfg, write_config
from repo_paths import CONFIGS
from torch import nn

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


def test_own_backbone_dry_run_lists_nothing_missing(on_two_backbones):
    """Guards kept behaviour: on the backbone it was trained on, the dry
    run verifies the record and the frozen tensors it leaves out are not
    missing (a key comparison would list every one of them)."""
    t = on_two_backbones
    diff = diff_state_dict(t['stock'], t['state_dict'])
    assert not diff.missing and not diff.unexpected and not diff.mismatched


class NeedsData(nn.Module):
    """A module whose load pre-hook reads the values it is given (as a
    hook that converts an old layout by them), which a ``meta`` tensor
    has not."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(2))
        self.register_load_state_dict_pre_hook(self._read_values)

    @staticmethod
    def _read_values(module, state_dict, prefix, *args) -> None:
        value = state_dict.get(prefix + 'scale')
        if value is not None:
            value.sum().item()


def test_foreign_hook_failure_falls_back_to_keys(log_records):
    """A foreign hook that needs real data: the key comparison, and a
    warning that says why where it finds differences."""
    model = nn.Sequential(NeedsData(), nn.Linear(2, 3))
    fits = model.state_dict()
    diff = diff_state_dict(model, fits)
    assert not diff.missing and not diff.unexpected and not diff.mismatched
    assert not [r for r in log_records if r.levelno >= logging.WARNING]
    assert any('comparing keys and shapes directly' in r.getMessage()
               for r in log_records if r.levelno == logging.DEBUG)

    other = dict(fits, extra=torch.zeros(1))
    other['1.weight'] = torch.zeros(4, 2)
    del other['1.bias']
    diff = diff_state_dict(model, other)
    assert diff.missing == ['1.bias']
    assert diff.unexpected == ['extra']
    assert diff.mismatched == [('1.weight', (4, 2), (3, 2))]
    warned = [
        r.getMessage() for r in log_records if r.levelno == logging.WARNING
    ]
    assert len(warned) == 1, warned
    assert 'own loading code failed' in warned[0]
    assert 'meta' in warned[0], warned[0]
    assert 'without what its load hooks would change' in warned[0]
