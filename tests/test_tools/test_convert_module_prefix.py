# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``convert_official.py`` strips a wrapper's ``module.`` once, whichever
way it goes, as MMEngine's ``load_checkpoint`` does (``revise_keys``).

Before, ``unwrap_checkpoint`` stripped one and ``convert_state_dict``
another: the state dict of a model wrapped twice (``module.module.x``)
lost both on the conversion and one with ``--unwrap-only``, and the
Python ``convert_state_dict`` alone stripped one. A conversion of such a
file is now refused, naming it; ``--unwrap-only`` keeps what a single
strip leaves, as before.
"""
import pytest
import torch
from official_vits import tiny_mmaction_vit
from tool_runners import run_tool
from torch import nn

from mmadaptformer.utils import safe_torch_load

#: The tiny ViT's own size, for the fixed position table a conversion
#: rebuilds.
SIZE = ['--img-size', '32', '--num-frames', '4']


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    """mmaction2's tiny ViT saved bare, inside one ``DataParallel`` and
    inside two (both run on the CPU here)."""
    root = tmp_path_factory.mktemp('module_prefix')
    vit = tiny_mmaction_vit()
    files = {}
    for name, model in (('bare', vit), ('once', nn.DataParallel(vit)),
                        ('twice', nn.DataParallel(nn.DataParallel(vit)))):
        files[name] = str(root / f'{name}.pth')
        torch.save({'state_dict': model.state_dict()}, files[name])
    files['keys'] = list(vit.state_dict())
    return files


def _converted(src, tmp_path, *flags):
    dst = tmp_path / 'out.pth'
    proc = run_tool(['model_converters/convert_official.py', src, dst, *flags],
                    tmp_path,
                    check=False)
    if proc.returncode:
        return proc, None
    return proc, safe_torch_load(str(dst))['state_dict']


def test_one_wrapper_is_stripped_on_both_paths(saved, tmp_path):
    """Kept behaviour: a DataParallel's state dict converts, and unwraps,
    as the bare model's."""
    _, bare = _converted(saved['bare'], tmp_path, *SIZE)
    _, once = _converted(saved['once'], tmp_path, *SIZE)
    assert list(once) == list(bare)
    assert all(torch.equal(once[k], bare[k]) for k in bare)
    _, unwrapped = _converted(saved['once'], tmp_path, '--unwrap-only')
    assert list(unwrapped) == saved['keys']


def test_a_second_wrapper_is_not_stripped_by_the_conversion(saved, tmp_path):
    """Before: converted as the bare model (both prefixes stripped), where
    ``--unwrap-only`` kept one. Now refused, naming the layout; nothing
    is written."""
    proc, converted = _converted(saved['twice'], tmp_path, *SIZE)
    assert proc.returncode == 1, proc.stdout
    assert converted is None
    assert 'Traceback' not in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == (
        f'Error: cannot convert {saved["twice"]}: Every key starts with '
        "'module.module.' (e.g. 'module.module.pos_embed'): a model wrapped "
        'twice (a DataParallel or DistributedDataParallel around another) '
        "saved its state dict. One 'module.' is stripped, as MMEngine's "
        "load_checkpoint strips it; save the unwrapped model's state_dict() "
        '(model.module.module) and convert that.')
    assert not (tmp_path / 'out.pth').exists()


def test_unwrap_only_strips_one_wrapper_too(saved, tmp_path):
    """Kept behaviour: ``--unwrap-only`` converts nothing and strips one
    ``module.``, as the conversion now does (and as MMEngine strips one
    more when it loads the file)."""
    _, unwrapped = _converted(saved['twice'], tmp_path, '--unwrap-only')
    assert list(unwrapped) == ['module.' + k for k in saved['keys']]


def test_the_python_api_strips_once_on_both_paths(saved):
    """``unwrap_checkpoint`` returns the keys as stored, so the conversion
    after it strips the one prefix the API alone strips."""
    from mmadaptformer.models.converters import (ConversionError,
                                                 convert_state_dict,
                                                 load_official_checkpoint,
                                                 unwrap_checkpoint)
    state, _ = unwrap_checkpoint(load_official_checkpoint(saved['twice']))
    assert list(state) == ['module.module.' + k for k in saved['keys']]
    for given in (state, safe_torch_load(saved['twice'])['state_dict']):
        with pytest.raises(ConversionError, match='wrapped twice'):
            convert_state_dict(given, img_size=32, num_frames=4)
