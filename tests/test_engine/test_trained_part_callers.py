# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The resume refusal and the adapter-only checkpoint check ask which keys
are the model's trained part where the evaluation refusals ask it
(:func:`~mmadaptformer.utils.trained_part_fit.added_part_keys`), so they
agree on a model whose adapters ``inject_adapters`` attached without a
frozen-host wrapper (README: "adds adapters to any built ``nn.Module``").

They asked a second function that looked only inside the wrappers, found
no adapters there, and failed: resuming from a stock checkpoint raised an
``IndexError``, and a head-only checkpoint blamed the frozen backbone.
"""
import os.path as osp

import pytest
from config_writers import image_data_cfg, write_config
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner
from repo_paths import TINY_IMAGE_CONFIG

from mmadaptformer.apis.adapter_checkpoint_check import \
    check_adapter_checkpoint
from mmadaptformer.engine import ADAPTER_META_KEY, ResumeStateError
from mmadaptformer.models import inject_adapters
from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

ONE_EPOCH = 'train_cfg = dict(max_epochs=1)\n'
ADAPTERS = dict(bottleneck=4)


def _runner(path, work_dir, **options):
    cfg = Config.fromfile(path)
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(options)
    return Runner.from_cfg(cfg)


@pytest.fixture(scope='module')
def stock(tmp_path_factory, tiny_image_data):
    """``(config, epoch_1.pth)`` of a one-epoch run of the stock tiny image
    model (no adapters)."""
    root = tmp_path_factory.mktemp('stock')
    path = write_config(root / 'stock.py', TINY_IMAGE_CONFIG,
                        image_data_cfg(tiny_image_data) + ONE_EPOCH)
    _runner(path, root / 'work').train()
    return path, str(root / 'work' / 'epoch_1.pth')


def test_resuming_injected_adapters_from_a_stock_checkpoint_names_them(
        tmp_path, stock, clean_loggers):
    _, checkpoint = stock
    path = write_config(
        tmp_path / 'adapters.py', stock[0],
        "custom_hooks = [dict(type='AdapterHook', mode='adaptformer')]\n")
    runner = _runner(path, tmp_path / 'w', resume=True, load_from=checkpoint)
    inject_adapters(runner.model.backbone, adapter=ADAPTERS)
    with pytest.raises(ResumeStateError) as info:
        runner.train()
    assert str(info.value).startswith(
        f'{checkpoint} cannot be resumed with this config: it holds none of '
        "the model's 8 adapter tensors (e.g. backbone.layers.0.adaptmlp."
        'down_proj.weight), so the adapters would train from their '
        'initialisation while the run went on after epoch 1'), str(info.value)


def test_a_head_only_checkpoint_on_injected_adapters_names_them(
        tmp_path, stock, clean_loggers):
    """A linear probe's adapter-only checkpoint (the head alone) checked
    on the same model with adapters attached: the adapters are named, not
    counted as frozen tensors of "a different frozen backbone"."""
    path = write_config(
        tmp_path / 'probe.py', stock[0],
        "custom_hooks = [dict(type='AdapterHook', mode='linear_probe', "
        'adapter_only_checkpoint=True)]\n')
    runner = _runner(path, tmp_path / 'w', load_from=stock[1])
    runner.train()
    source = osp.join(tmp_path, 'w', 'epoch_1.pth')
    checkpoint = safe_torch_load(source)
    assert list(checkpoint['state_dict']) == ['head.fc.weight', 'head.fc.bias']

    init_default_scope('mmpretrain')
    model = MODELS.build(Config.fromfile(path).model)
    model.load_state_dict(runner.model.state_dict())
    inject_adapters(model.backbone, adapter=ADAPTERS)
    with pytest.raises(StateDictMismatchError) as info:
        check_adapter_checkpoint(model, checkpoint, source)
    assert str(info.value).startswith(
        f'{source}: Adapter-only checkpoint does not fit this model: 8 '
        "missing trainable keys ['backbone.layers.0.adaptmlp.down_proj."
        "bias', "), str(info.value)
    assert "]. It was saved in AdapterHook mode 'linear_probe', which " \
        'trains the head (and its extra_trainable parameters) alone: the ' \
        "model's adapters (8 tensors, e.g. backbone.layers.0.adaptmlp." \
        'down_proj.weight) stayed at their random initialisation' in \
        str(info.value), str(info.value)
    # Without the adapters it is the model the checkpoint was trained on.
    model = MODELS.build(Config.fromfile(path).model)
    model.load_state_dict(runner.model.state_dict())
    digest = check_adapter_checkpoint(model, checkpoint, source)
    assert digest == checkpoint['meta'][ADAPTER_META_KEY]['frozen_digest']
