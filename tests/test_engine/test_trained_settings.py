# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint records the adapter settings that change the
output without changing the tensors (scale, placement, norm position, the
blocks' wiring), and so does a checkpoint merge_adapters.py merged from it;
every loading path refuses a model built with other ones; records written
before they were kept still load."""
import pytest
import torch
from adapter_only_files import adapter_only_as_written
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool, pretrained_cfg,
                     run_tool, save_stock_video_checkpoint, video_data_cfg,
                     write_config)
from refusal_lines import refused_line

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
          'model.backbone.adapter.norm', "'in'", "'out'"),
    block_types=("model = dict(backbone=dict(block_types=[dict(type='Block', "
                 "norm='norm1', ffn='mlp', branch='drop_path')]))\n",
                 'model.backbone.block_types',
                 "[dict(type='Block', norm='norm2', ffn='mlp', "
                 "branch='drop_path')]", "[dict(type='Block', norm='norm1', "
                 "ffn='mlp', branch='drop_path')]"))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """An adapter-only checkpoint of the trained settings, written as
    AdapterHook writes it (``make_adapter_checkpoint``), with random
    adapters so that every setting changes the output."""
    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger

    from mmadaptformer.engine import build_model_and_plan
    from mmadaptformer.models import adapter_modules
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
    path = str(root / 'adapters.pth')
    checkpoint = adapter_only_as_written(model, plan)
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
    refused_line(proc)
    line = next(line for line in proc.stdout.splitlines()
                if line.startswith('StateDictMismatchError: '))
    assert 'scale (model.backbone.adapter.scale): checkpoint 0.1, this ' \
        'model 1.0.' in line, line
    assert 'acc/top1' not in proc.stdout


@pytest.fixture(scope='module')
def merged(trained):
    """The checkpoint merged with its backbone by merge_adapters.py, and
    the same file as written before merged files kept the settings."""
    from mmengine.logging import MessageHub, MMLogger

    from mmadaptformer.utils import safe_torch_load
    tool = load_tool('model_converters/merge_adapters.py')
    path = str(trained['root'] / 'merged.pth')
    tool.merge(
        tool.parse_args([trained['config'], trained['checkpoint'], path]))
    checkpoint = safe_torch_load(path)
    record = checkpoint['state_dict'].pop('backbone.' + FROZEN_HOST_KEY, None)
    old = str(trained['root'] / 'old_merged.pth')
    torch.save(checkpoint, old)
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    return dict(checkpoint=path, old=old, record=record)


def test_a_merged_checkpoint_records_the_settings_alone(trained, merged):
    """Plain data that weights_only loads, without fingerprints: the file
    holds the frozen tensors itself."""
    assert merged['record'] == dict(
        format='mmadaptformer.trained_settings',
        version=1,
        fingerprints={},
        host='mmaction.models.backbones.vit_mae.VisionTransformer',
        settings=dict(
            placement='parallel',
            scale=0.1,
            norm='in',
            block_types=[
                dict(
                    type='Block', norm='norm2', ffn='mlp', branch='drop_path')
            ]))


@pytest.mark.parametrize('loader', list(LOADERS))
@pytest.mark.parametrize('setting', ['scale', 'block_types'])
def test_other_settings_are_refused_by_a_merged_checkpoint(
        trained, merged, setting, loader, clean_loggers):
    """It loaded without a word: a full checkpoint was not checked."""
    _, key, recorded, now = VARIANTS[setting]
    with pytest.raises(StateDictMismatchError) as info:
        LOADERS[loader](_variant(trained, setting), merged['checkpoint'])
    text = str(info.value)
    assert '\n' not in text, text
    assert text.startswith(
        f'The full checkpoint {merged["checkpoint"]} was trained with other '
        "adapter settings than this model's AdaptFormer: "
        f'{setting} ({key}): checkpoint {recorded}, this model {now}.'), text


@pytest.mark.parametrize('loader', list(LOADERS))
def test_merged_checkpoints_load_with_their_settings_and_old_ones_with_any(
        trained, merged, loader, clean_loggers):
    for config, checkpoint in ((trained['config'], merged['checkpoint']),
                               (trained['config'], merged['old'])):
        model = LOADERS[loader](config, checkpoint)
        model.eval()
        with torch.no_grad():
            feats = model.extract_feat(trained['inputs'])[0]
        torch.testing.assert_close(feats, trained['feats'])
    # Written before merged files kept the settings: nothing to compare.
    model = LOADERS[loader](_variant(trained, 'scale'), merged['old'])
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(trained['inputs'])[0]
    assert not torch.allclose(feats, trained['feats'])


def test_tools_test_refuses_a_merged_checkpoint_with_other_settings(
        trained, merged, tiny_video_data, tmp_path):
    config = write_config(tmp_path / 'data.py', trained['config'],
                          video_data_cfg(tiny_video_data))
    proc = run_tool([
        'test.py', config, merged['checkpoint'], '--work-dir',
        tmp_path / 'work', '--cfg-options', 'model.backbone.adapter.scale=1.0'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc)
    assert line.startswith('StateDictMismatchError: The full checkpoint '
                           f'{merged["checkpoint"]} was trained with other '
                           'adapter settings'), line
    assert 'scale (model.backbone.adapter.scale): checkpoint 0.1, this ' \
        'model 1.0.' in line, line
    assert 'acc/top1' not in proc.stdout


def test_a_merged_checkpoint_as_the_backbone_is_still_a_trained_model(
        trained, merged, clean_loggers):
    """Its record is not an adapter-only one's: --pretrained refuses it as
    the trained model it is."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope

    from mmadaptformer.utils import set_pretrained_backbone
    from mmadaptformer.utils.pretrained_backbone import PretrainedFileError
    cfg = Config.fromfile(trained['config'])
    set_pretrained_backbone(cfg, merged['checkpoint'])
    init_default_scope('mmaction')
    with pytest.raises(PretrainedFileError) as info:
        MODELS.build(cfg.model).init_weights()
    assert f'{merged["checkpoint"]} holds 12 tensors of trained adapters' \
        in str(info.value)
    assert 'it is a trained AdaptFormer model' in str(info.value)
