# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Looking at a checkpoint's meta or keys does not read its tensors.

``is_adapter_only_file`` (tools/test.py) and the prefix pick of
``set_pretrained_backbone`` (``--pretrained``) load a local checkpoint with
``safe_torch_load(mmap=True)``: the same weights-only unpickler, with the
tensors' data mapped from the file rather than read. Their answers are the
same as with a full read for every layout, a legacy-format file is read in
full, and a file that carries code is refused as before.
"""
import os

import pytest
import torch
from helpers import run_fresh_python
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

from mmadaptformer.utils import CheckpointLoadError, safe_torch_load
from mmadaptformer.utils.adapter_only_fit import (ADAPTER_META_KEY,
                                                  is_adapter_only_file)
from mmadaptformer.utils.checkpoint_source import FROZEN_HOST_FORMAT
from mmadaptformer.utils.pretrained_backbone import (PretrainedFileError,
                                                     set_pretrained_backbone)


class _SystemPayload:
    """Pickles as ``os.system('touch MARKER')``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _layouts():
    """Each layout: the object saved, whether it is adapter-only, and the
    prefix ``--pretrained`` picks (a PretrainedFileError: refused)."""
    weight = torch.arange(12.).reshape(3, 4)
    return {
        'adapter_only': ({
            'meta': {
                ADAPTER_META_KEY: {
                    'saved_keys': ['backbone.adapters.0.up.weight']
                }
            },
            'state_dict': {
                'backbone.adapters.0.up.weight': weight,
                'backbone.frozen_host': {
                    'format': FROZEN_HOST_FORMAT,
                    'pretrained': 'vit-b.pth'
                },
            },
        }, True, PretrainedFileError),
        'full': ({
            'meta': {
                'epoch': 3
            },
            'state_dict': {
                'backbone.layers.0.ffn.weight': weight,
                'head.fc.weight': weight[:1],
            },
        }, False, 'backbone.'),
        'ddp': ({
            'state_dict': {
                'module.backbone.layers.0.ffn.weight': weight
            }
        }, False, 'module.backbone.'),
        'bare_state_dict': ({
            'layers.0.ffn.weight': weight,
            'ln1.weight': weight[0]
        }, False, None),
    }


def _cfg():
    return Config(dict(model=dict(backbone=dict(type='VisionTransformer'))))


def _pick_prefix(path):
    """The prefix ``set_pretrained_backbone`` sets, or the error type."""
    try:
        return set_pretrained_backbone(_cfg(), path)[1].get('prefix')
    except PretrainedFileError:
        return PretrainedFileError


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
@pytest.mark.parametrize('layout', sorted(_layouts()))
def test_answers_are_those_of_a_full_read(tmp_path, layout, legacy):
    obj, adapter_only, prefix = _layouts()[layout]
    path = str(tmp_path / 'ckpt.pth')
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    assert is_adapter_only_file(path) is adapter_only
    assert _pick_prefix(path) == prefix
    # The lazy read holds what the full one does, for any caller.
    lazy = safe_torch_load(path, map_location='cpu', mmap=True)
    full = safe_torch_load(path, map_location='cpu')
    state = lazy.get('state_dict', lazy)
    assert set(state) == set(full.get('state_dict', full))
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, full.get('state_dict', full)[key])
    assert lazy.get('meta') == full.get('meta')


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_a_checkpoint_carrying_code_is_still_refused(tmp_path, legacy):
    marker = tmp_path / 'payload_ran'
    path = str(tmp_path / 'evil.pth')
    torch.save(
        {
            'meta': _SystemPayload(marker),
            'state_dict': {
                'backbone.w': torch.zeros(2)
            }
        },
        path,
        _use_new_zipfile_serialization=not legacy)
    # Documented: an unreadable file is not adapter-only; the load that
    # follows names the refusal.
    assert is_adapter_only_file(path) is False
    with pytest.raises(CheckpointLoadError) as lazy:
        safe_torch_load(path, mmap=True)
    with pytest.raises(CheckpointLoadError) as full:
        safe_torch_load(path)
    assert str(lazy.value) == str(full.value)
    assert 'posix.system' in str(lazy.value)
    assert 'refused for safety' in str(lazy.value)
    # The error --pretrained gave when it read through CheckpointLoader.
    with pytest.raises(CheckpointLoadError) as loader:
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    with pytest.raises(CheckpointLoadError) as pretrained:
        set_pretrained_backbone(_cfg(), path)
    assert str(pretrained.value) == str(loader.value)
    assert not marker.exists(), 'the payload ran'


def test_a_missing_pretrained_file_is_named(tmp_path):
    path = str(tmp_path / 'absent.pth')
    assert is_adapter_only_file(path) is False
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        set_pretrained_backbone(_cfg(), path)


def test_mapped_tensors_live_in_the_file(tmp_path):
    """With ``mmap=True`` a tensor's data is a mapping of the file (Linux's
    ``/proc/self/maps`` shows which file backs an address); without it, it
    is not."""
    if not os.path.exists('/proc/self/maps'):
        pytest.skip('needs /proc/self/maps (Linux)')
    path = str(tmp_path / 'ckpt.pth')
    torch.save({'state_dict': {'w': torch.ones(4096)}}, path)

    def mapped_from_file(tensor):
        address = tensor.data_ptr()
        with open('/proc/self/maps') as f:
            for line in f:
                fields = line.split(maxsplit=5)
                start, end = (int(x, 16) for x in fields[0].split('-'))
                if start <= address < end:
                    return len(fields) == 6 and \
                        fields[5].strip() == os.path.realpath(path)
        return False

    lazy = safe_torch_load(path, map_location='cpu', mmap=True)
    assert mapped_from_file(lazy['state_dict']['w'])
    full = safe_torch_load(path, map_location='cpu')
    assert not mapped_from_file(full['state_dict']['w'])


# In a fresh process: the peak RSS each call adds, with a checkpoint far
# larger than that; the first calls, on a small file, import what they use.
_PEAK_CODE = '''
import resource, sys
import mmadaptformer
from mmengine.config import Config
from mmadaptformer.utils.adapter_only_fit import is_adapter_only_file
from mmadaptformer.utils.pretrained_backbone import set_pretrained_backbone
small, large = sys.argv[1:]
def cfg():
    return Config(dict(model=dict(backbone=dict(type='VisionTransformer'))))
def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
is_adapter_only_file(small)
set_pretrained_backbone(cfg(), small)
before = peak_mib()
assert is_adapter_only_file(large) is False
adapter = peak_mib()
prefix = set_pretrained_backbone(cfg(), large)[1]['prefix']
print('growth', adapter - before, peak_mib() - adapter, prefix)
'''


def test_peak_memory_grows_far_less_than_the_file(tmp_path):
    """Reading all of a 128 MiB checkpoint raises the peak RSS by 128 MiB;
    the mapped read raises it by a few MiB (the pickle)."""
    small, large = str(tmp_path / 'small.pth'), str(tmp_path / 'large.pth')
    torch.save({
        'meta': {},
        'state_dict': {
            'backbone.w': torch.ones(2)
        }
    }, small)
    torch.save(
        {
            'meta': {},
            'state_dict': {
                f'backbone.layers.{i}.w': torch.ones(1024, 1024)
                for i in range(32)
            }
        }, large)
    proc = run_fresh_python(_PEAK_CODE, small, large)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, adapter, prefix, picked = proc.stdout.splitlines()[-1].split()
    assert picked == 'backbone.'
    assert float(adapter) < 32, proc.stdout
    assert float(prefix) < 32, proc.stdout
