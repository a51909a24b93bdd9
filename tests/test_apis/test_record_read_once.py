# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``init_model`` reads an adapter-only checkpoint's record once per load:
it checked its layout four times (once itself, in ``check_adapter_method``
before the load, in ``check_adapter_checkpoint`` and its second
``check_adapter_method`` after it) and checked the method twice."""
import pytest
import torch
from adapter_only_files import built_with_adapter_only
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg,
                     video_data_cfg, write_config)

import mmadaptformer.apis.adapter_checkpoint_check as check_module
import mmadaptformer.apis.model_init as model_init_module
import mmadaptformer.engine.adapter_checkpoint.adapter_only as adapter_only

#: The modules that bind the record's check by name.
_READERS = (model_init_module, check_module, adapter_only)


@pytest.fixture(scope='module')
def adapter_file(tmp_path_factory, tiny_video_data):
    """A tiny AdaptFormer config whose pretrained file is the frozen
    backbone, and an adapter-only checkpoint of its model."""
    from mmengine.logging import MessageHub, MMLogger
    root = tmp_path_factory.mktemp('record_once')
    data = video_data_cfg(tiny_video_data)
    first = write_config(root / 'first.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                         data)
    model, plan, _ = built_with_adapter_only(first)
    frozen = set(plan.frozen_keys)
    torch.save(
        dict(state_dict={
            k: v
            for k, v in model.state_dict().items() if k in frozen
        }), root / 'pretrained.pth')
    config = write_config(root / 'adapters.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          data + pretrained_cfg(str(root / 'pretrained.pth')))
    checkpoint = built_with_adapter_only(config)[2]
    path = str(root / 'adapters.pth')
    torch.save(checkpoint, path)
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    return config, path


def _counted(monkeypatch, module, name, calls):
    """Count the calls of ``module.name`` (the real function runs)."""
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def test_init_model_reads_the_record_once(adapter_file, monkeypatch,
                                          clean_loggers):
    from mmadaptformer.apis import init_model
    config, path = adapter_file
    calls = []
    for module in _READERS:
        _counted(monkeypatch, module, 'check_adapter_record', calls)
    _counted(monkeypatch, check_module, 'check_adapter_only_host', calls)
    model, meta = init_model(config, path)
    assert calls.count('check_adapter_record') == 1, calls
    # The method is checked once, before the load, given the state dict.
    assert calls.count('check_adapter_only_host') == 1, calls
    assert meta['adapter_checkpoint']['frozen_digest']
    assert not model.training


def test_check_adapter_checkpoint_reads_the_record_once(
        adapter_file, monkeypatch, clean_loggers):
    """Alone, on a loaded model, it still checks both and gives the
    digest."""
    from mmadaptformer.apis import check_adapter_checkpoint, init_model
    from mmadaptformer.utils.checkpoint_loading import safe_torch_load
    config, path = adapter_file
    model, _ = init_model(config, path)
    checkpoint = safe_torch_load(path)
    calls = []
    for module in _READERS:
        _counted(monkeypatch, module, 'check_adapter_record', calls)
    _counted(monkeypatch, check_module, 'check_adapter_only_host', calls)
    digest = check_adapter_checkpoint(model, checkpoint, path)
    assert digest == checkpoint['meta']['adapter_checkpoint']['frozen_digest']
    assert calls == ['check_adapter_record', 'check_adapter_only_host']
