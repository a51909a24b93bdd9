# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What :meth:`AdapterHook.after_load_checkpoint` refuses in a loaded file
that is not laid out as MMEngine saves checkpoints (a ``meta`` or
``state_dict`` that is not a dict): an error naming the file and what it
found, one line from the tools, not an ``AttributeError`` from the hook.
On a real runner of the tiny AdaptFormer video config and a real
``tools/test.py``."""
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)
from mmengine.config import Config
from mmengine.runner import Runner
from refusal_lines import refused_line

from mmadaptformer.engine import (ADAPTER_META_KEY, AdapterHook,
                                  CheckpointMetaError)
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

EXPECTED = ("Expected an MMEngine checkpoint: a dict with a 'state_dict' "
            "dict of tensors by name and an optional 'meta' dict, as "
            'tools/train.py saves it.')
RECORD = {ADAPTER_META_KEY: {'saved_keys': [], 'frozen_digest': '0'}}


@pytest.fixture(scope='module')
def setup(tmp_path_factory, tiny_video_data):
    """``(config, stock state dict)``: the tiny AdaptFormer config on a
    stock checkpoint's backbone."""
    root = tmp_path_factory.mktemp('adapter_hook_loads')
    stock = str(root / 'stock.pth')
    state = save_stock_video_checkpoint(stock)
    cfg = write_config(root / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data) + pretrained_cfg(stock))
    return cfg, state


def _error(name: str) -> type:
    """The error a bad checkpoint gets: one for its ``meta``, another for
    its state dict."""
    return CheckpointMetaError if name.startswith('meta') else \
        StateDictMismatchError


def _bad_checkpoints(state):
    """``(name, checkpoint, what the error says it found)``."""
    meta_list = dict(state_dict=state, meta=[1, 2])
    meta_str = dict(state_dict=state, meta='epoch 3')
    state_list = dict(state_dict=list(state.values()), meta={})
    int_keys = dict(state_dict={0: torch.zeros(1)}, meta={})
    return [
        ('meta_list', meta_list, "its 'meta' is a list, not a dict."),
        ('meta_str', meta_str, "its 'meta' is a str, not a dict."),
        ('state_list', state_list, "its 'state_dict' is a list, not a dict."),
        ('state_int_keys', int_keys,
         "its 'state_dict' has a key that is not a name: 0."),
        ('adapter_only_none', dict(state_dict=None, meta=RECORD),
         "its 'state_dict' is a NoneType, not a dict."),
        ('adapter_only_without', dict(meta=RECORD), "it has no 'state_dict'."),
    ]


def test_the_hook_names_the_file_and_what_it_found(tmp_path, setup,
                                                   clean_loggers):
    cfg_path, state = setup
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    hook = AdapterHook()
    for name, checkpoint, found in _bad_checkpoints(state):
        runner.cfg.load_from = f'{name}.pth'
        with pytest.raises(StateDictMismatchError) as info:
            hook.after_load_checkpoint(runner, checkpoint)
        assert str(info.value) == f'{name}.pth: {found} {EXPECTED}'
        assert type(info.value) is _error(name)

    # No meta at all, or None: a full checkpoint, here the stock model's,
    # which holds none of the adapters (testing with it is refused later).
    for meta in ({}, None):
        runner.cfg.load_from = 'stock.pth'
        hook.after_load_checkpoint(runner, dict(state_dict=state, meta=meta))
        assert 'stock.pth holds none of the model\'s 8 adapter tensors' in \
            str(hook._without_adapters)
        hook._without_adapters = None


def test_tools_test_ends_with_one_line_naming_the_file(tmp_path, setup):
    cfg, state = setup
    for name, checkpoint, found in _bad_checkpoints(state)[::2]:
        path = tmp_path / f'{name}.pth'
        torch.save(checkpoint, path)
        proc = run_tool(['test.py', cfg, path, '--work-dir', tmp_path / name],
                        cwd=tmp_path,
                        check=False)
        line = refused_line(proc)
        assert line == \
            f'{_error(name).__name__}: {path}: {found} {EXPECTED}'


def test_the_other_hooks_do_not_crash_on_the_same_layouts(
        tmp_path, setup, clean_loggers):
    """``CheckpointCheckHook`` refuses a ``state_dict`` that is not a dict
    by name (it raised ``AttributeError``), and ``EpochRandomnessHook``
    leaves a ``meta`` that is not a dict to ``ResumeCheckHook``'s refusal
    (it raised ``AttributeError`` first)."""
    from mmadaptformer.engine import CheckpointCheckHook, EpochRandomnessHook
    cfg_path, state = setup
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.cfg.load_from = 'state_list.pth'
    with pytest.raises(StateDictMismatchError) as info:
        CheckpointCheckHook().after_load_checkpoint(
            runner, dict(state_dict=list(state.values()), meta={}))
    assert str(
        info.value) == ("state_list.pth: its 'state_dict' is a list, "
                        'not a dict of tensors by name, as MMEngine saves it.')
    runner._resume = True
    EpochRandomnessHook().after_load_checkpoint(
        runner, dict(state_dict=state, meta=[1, 2]))
