# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint records the adapter settings that change the
output without changing the tensors (scale, placement, norm position), and
every loading path refuses a model built with other ones; records written
before they were kept still load."""
import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg, run_tool,
                     save_stock_video_checkpoint, video_data_cfg, write_config)

from mmadaptformer.models import FROZEN_HOST_KEY
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

#: The settings the checkpoint is trained with: tensors of the same keys
#: and shapes for every variant below.
TRAINED = ('model = dict(backbone=dict(placement=\'parallel\', adapter=dict('
           'bottleneck=8, scale=0.1, norm=\'in\')))\n')
#: Setting -> (config line of another value, config key, checkpoint's value
#: and model's value as the error shows them).
VARIANTS = dict(
    scale=('model = dict(backbone=dict(adapter=dict(scale=1.0)))\n',
           'model.backbone.adapter.scale', '0.1', '1.0'),
    placement=("model = dict(backbone=dict(placement='sequential'))\n",
               'model.backbone.placement', "'parallel'", "'sequential'"),
    norm=("model = dict(backbone=dict(adapter=dict(norm='out')))\n",
          'model.backbone.adapter.norm', "'in'", "'out'"))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """An adapter-only checkpoint of the trained settings, written as
    AdapterHook writes it (``make_adapter_checkpoint``), with random
    adapters so that every setting changes the output."""
    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger

    from mmadaptformer.engine import (build_model_and_plan,
                                      make_adapter_checkpoint)
    from mmadaptformer.models import adapter_modules
    from mmadaptformer.utils.fingerprint import state_fingerprints
    root = tmp_path_factory.mktemp('trained_settings')
    stock = str(root / 'stock.pth')
    save_stock_video_checkpoint(stock, seed=0)
    pretrained = write_config(root / 'pretrained.py',
                              TINY_ADAPTFORMER_VIDEO_CONFIG,
                              pretrained_cfg(stock))
    config = write_config(root / 'trained.py', pretrained, TRAINED)
    torch.manual_seed(1)
    model, plan = build_model_and_plan(Config.fromfile(config))
    with torch.no_grad():
        for adapter in adapter_modules(model).values():
            for param in adapter.parameters():
                param.normal_(0, 0.5)
    frozen = set(plan.frozen_keys)
    fingerprints = state_fingerprints(
        (k, v) for k, v in model.state_dict().items() if k in frozen)
    path = str(root / 'adapters.pth')
    checkpoint = make_adapter_checkpoint(
        dict(state_dict=model.state_dict(), meta={}),
        plan,
        fingerprints,
        model=model)
    torch.save(checkpoint, path)
    # The same checkpoint as written before the settings were recorded.
    old = str(root / 'old.pth')
    checkpoint['state_dict']['backbone.' + FROZEN_HOST_KEY].pop(
        'settings', None)
    torch.save(checkpoint, old)
    inputs = torch.rand(1, 1, 3, 4, 32, 32)
    with torch.no_grad():
        feats = model.extract_feat(inputs)[0]
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    return dict(
        root=root,
        config=config,
        checkpoint=path,
        old=old,
        inputs=inputs,
        feats=feats)


def _variant(trained, setting):
    return write_config(trained['root'] / f'{setting}.py', trained['config'],
                        VARIANTS[setting][0])


def _assert_names(text, trained, setting):
    _, key, recorded, now = VARIANTS[setting]
    assert '\n' not in text, text
    assert text.startswith(
        f'The adapter-only checkpoint {trained["checkpoint"]} was trained '
        "with other adapter settings than this model's AdaptFormer: "
        f'{setting} ({key}): checkpoint {recorded}, this model {now}.'), text
    assert 'Load it with the config it was trained with' in text


def _mmengine_load(config, checkpoint):
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(config).model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    return model


def _init_model(config, checkpoint):
    from mmadaptformer.apis import init_model
    return init_model(config, checkpoint)[0]


def _init_recognizer(config, checkpoint):
    from mmaction.apis import init_recognizer
    return init_recognizer(config, checkpoint, device='cpu')


LOADERS = dict(
    load_checkpoint=_mmengine_load,
    init_model=_init_model,
    init_recognizer=_init_recognizer)


@pytest.mark.parametrize('loader', list(LOADERS))
@pytest.mark.parametrize('setting', list(VARIANTS))
def test_other_adapter_settings_are_refused(trained, setting, loader,
                                            clean_loggers):
    with pytest.raises(StateDictMismatchError) as info:
        LOADERS[loader](_variant(trained, setting), trained['checkpoint'])
    _assert_names(str(info.value), trained, setting)


@pytest.mark.parametrize('loader', list(LOADERS))
def test_the_trained_settings_load_and_give_the_trained_output(
        trained, loader, clean_loggers):
    model = LOADERS[loader](trained['config'], trained['checkpoint'])
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(trained['inputs'])[0]
    torch.testing.assert_close(feats, trained['feats'])


@pytest.mark.parametrize('loader', list(LOADERS))
def test_a_record_without_settings_still_loads(trained, loader, clean_loggers):
    """A checkpoint written before the settings were recorded is not
    refused, even where the model's settings differ: nothing says which
    ones it was trained with. The output then differs silently, which is
    what the record prevents."""
    model = LOADERS[loader](_variant(trained, 'scale'), trained['old'])
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(trained['inputs'])[0]
    assert not torch.allclose(feats, trained['feats'])


def test_tools_test_refuses_other_settings_on_one_line(trained,
                                                       tiny_video_data,
                                                       tmp_path):
    """The Runner's path (AdapterHook completes the checkpoint with the
    frozen weights, then the model loads it): one line, no traceback."""
    config = write_config(tmp_path / 'data.py', trained['config'],
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'test.py', config, trained['checkpoint'], '--work-dir',
        tmp_path / 'work', '--cfg-options', 'model.backbone.adapter.scale=1.0'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout, proc.stdout[-3000:]
    line = next(line for line in proc.stdout.splitlines()
                if line.startswith('StateDictMismatchError: '))
    assert 'scale (model.backbone.adapter.scale): checkpoint 0.1, this ' \
        'model 1.0.' in line, line
    assert 'acc/top1' not in proc.stdout
