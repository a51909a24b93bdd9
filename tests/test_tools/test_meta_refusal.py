# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint whose ``meta`` is not a dict is refused as a problem of its
``meta`` (:class:`CheckpointMetaError`), alike on every path that reads it
(``--resume``, ``init_model``, ``AdapterHook`` in ``tools/test.py``).

``tools/train.py --resume`` refused it as a ``StateDictMismatchError``, the
error of weights that do not fit the model, though the file's weights fit.
The new type is a ``StateDictMismatchError`` still, so that code which
catches that goes on catching it. Real runs of the tools on the tiny video
recognizer."""
import pytest
import torch
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.apis import init_model
from mmadaptformer.engine import CheckpointMetaError
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


@pytest.fixture(scope='module')
def bad_meta(tmp_path_factory, tiny_video_data):
    """The tiny video config on the tiny data, and a checkpoint of it whose
    ``meta`` is a str."""
    root = tmp_path_factory.mktemp('meta_refusal')
    config = write_config(root / 'tiny.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    state = save_stock_video_checkpoint(str(root / 'full.pth'))
    path = root / 'bad_meta.pth'
    torch.save(dict(state_dict=state, meta='epoch 3'), str(path))
    return dict(config=config, path=path)


def test_resume_refuses_it_as_a_meta_error(bad_meta, tmp_path):
    line = refused_line(
        run_tool([
            'train.py', bad_meta['config'], '--work-dir', tmp_path / 'w',
            '--resume', bad_meta['path']
        ],
                 cwd=tmp_path,
                 check=False))
    assert line.startswith(
        f"CheckpointMetaError: {bad_meta['path']}: its 'meta' is a str, not "
        'a dict. Resume from a checkpoint that training saved'), line
    assert not list((tmp_path / 'w').glob('epoch_*.pth'))


def test_init_model_raises_the_same_type(bad_meta):
    """``init_model`` reads the same ``meta`` and refuses it with the same
    type (``tools/test.py`` does through ``AdapterHook``:
    ``tests/test_engine/test_adapter_hook_loads.py``); it is still a
    ``StateDictMismatchError`` (guard of kept behaviour for code that
    catches that)."""
    with pytest.raises(StateDictMismatchError) as info:
        init_model(TINY_VIDEO_CONFIG, bad_meta['path'])
    assert type(info.value) is CheckpointMetaError
    assert str(info.value).startswith(
        f"{bad_meta['path']}: its 'meta' is a str, not a dict.")
