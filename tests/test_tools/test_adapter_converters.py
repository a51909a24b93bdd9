# Copyright (c) mmadaptformer contributors. All rights reserved.
"""extract_adapters.py and merge_adapters.py name what is wrong with the
checkpoint they are given, and write nothing then."""
import os.path as osp
import re

import pytest
import torch
from helpers import load_tool

from mmadaptformer.models import FrozenBackboneMismatchError
from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


@pytest.fixture(scope='module')
def extract():
    return load_tool('model_converters/extract_adapters.py').main


@pytest.fixture(scope='module')
def merge():
    return load_tool('model_converters/merge_adapters.py').main


def test_extract_names_an_adapter_only_or_foreign_checkpoint(
        extract, merge, video_tasks, tmp_path, capsys, clean_loggers):
    task = video_tasks['full']
    out = tmp_path / 'out.pth'
    # Already adapter-only: said so, not "frozen tensors differ".
    with pytest.raises(
            ValueError,
            match='already an adapter-only checkpoint'
            '.*merge_adapters.py'):
        extract([task['config'], task['checkpoint'], str(out)])
    # The stock backbone has no adapters: the file and the keys are named.
    with pytest.raises(StateDictMismatchError) as err:
        extract([task['config'], video_tasks['stock'], str(out)])
    text = str(err.value)
    assert text.startswith(video_tasks['stock']), text
    assert 'adaptmlp' in text and 'full checkpoint of this config' in text
    assert not osp.exists(out)
    # Merged, it extracts back to the same trainable tensors.
    merged = str(tmp_path / 'merged.pth')
    capsys.readouterr()
    merge([task['config'], task['checkpoint'], merged])
    # Not MMEngine's report of every tensor's initialisation.
    printed = capsys.readouterr()
    assert 'torch.Size' not in printed.out + printed.err
    written = safe_torch_load(merged)['state_dict']
    assert f'Wrote {merged}: {len(written)} tensors' in printed.out
    extract([task['config'], merged, str(out)])
    assert osp.exists(out)


def test_adapters_extracted_from_a_merged_file_name_their_backbone(
        extract, merge, video_tasks, tmp_path, clean_loggers):
    """They recorded "trained on state dict", which then stood in the error
    of a load onto another backbone."""
    task = video_tasks['full']
    other = osp.join(video_tasks['root'], 'other.pth')
    merged = str(tmp_path / 'merged.pth')
    merge([task['config'], task['checkpoint'], merged])
    adapters = str(tmp_path / 'adapters.pth')
    extract([task['config'], merged, adapters])
    with pytest.raises(FrozenBackboneMismatchError) as err:
        merge([
            task['config'], adapters,
            str(tmp_path / 'wrong.pth'), '--pretrained', other
        ])
    text = str(err.value)
    assert f'now {other}.' in text, text
    # The pretrained file the merge verified, kept in the merged meta.
    assert f'The adapters were trained on {video_tasks["stock"]}.' in text
    assert 'state dict' not in text

    # A merged file without that record: the file itself is named.
    checkpoint = safe_torch_load(merged)
    del checkpoint['meta']['frozen_host_sources']
    torch.save(checkpoint, merged)
    extract([task['config'], merged, adapters])
    with pytest.raises(
            FrozenBackboneMismatchError,
            match=re.escape(f'The adapters were trained on {merged}.')):
        merge([
            task['config'], adapters,
            str(tmp_path / 'wrong.pth'), '--pretrained', other
        ])
    assert not osp.exists(tmp_path / 'wrong.pth')
