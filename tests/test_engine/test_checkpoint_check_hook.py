# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What :class:`CheckpointCheckHook` says of a checkpoint that does not fit:
the cause the model's own load path would name (adapters of other
settings, another host), keys as in the checkpoint (``state_dict()``
keys, not module paths), and the ``--pretrained`` hint only where the
head is at fault. On a real runner and a real ``tools/test.py``."""
import pytest
import torch
from helpers import run_tool, stripes_config
from mmengine.config import Config
from mmengine.runner import Runner
from refusal_lines import refused_line

from mmadaptformer.engine import CheckpointCheckHook
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _refusal(proc) -> str:
    refused_line(proc)
    out = proc.stdout
    return out[out.rindex('StateDictMismatchError: '):]


@pytest.mark.parametrize(
    'option, named, detail',
    [('model.backbone.adapter.bottleneck=16',
      'bottleneck (model.backbone.adapter.bottleneck): checkpoint 8, this '
      'model 16.', 'backbone.blocks.0.adaptmlp.down_proj.weight: checkpoint '
      '(8, 64) vs model (16, 64)'),
     ('model.backbone.layers=[1]', 'layers (model.backbone.layers): '
      'checkpoint [0, 1] (every block), this model [1] (blocks.1).',
      "unexpected keys ['backbone.blocks.0.adaptmlp.down_proj.bias'")],
    ids=['bottleneck', 'layers'])
def test_tools_test_with_other_adapter_settings_names_them(
        video_tasks, tmp_path, option, named, detail):
    """It said "other adapter settings (layers, bottleneck, norm, learnable
    scale)": now the setting, its config key and both values."""
    task = video_tasks['full']  # trained with bottleneck 8, every block
    proc = run_tool([
        'test.py', task['config'], task['checkpoint'], '--work-dir',
        tmp_path / 'w', '--cfg-options', option
    ],
                    cwd=tmp_path,
                    check=False)
    text = _refusal(proc)
    assert f'saved with other adapter settings: {named}' in text, text
    assert 'learnable scale)' not in text
    assert task['checkpoint'] in text
    assert detail in text, text
    assert 'backbone.backbone.' not in text
    assert '(load_from)' not in text
    assert '--pretrained' not in text
    assert 'acc/top1' not in proc.stdout


def test_generic_refusal_names_state_dict_keys_and_no_pretrained_hint(
        video_tasks, tmp_path, clean_loggers):
    """A full checkpoint whose frozen patch embedding has another shape:
    the key is the checkpoint's, and --pretrained (which would load the
    same backbone) is not suggested."""
    task = video_tasks['full']
    cfg = Config.fromfile(task['config'])
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    state = dict(runner.model.state_dict())
    key = 'backbone.patch_embed.projection.weight'
    assert key in state
    state[key] = torch.zeros(32, *state[key].shape[1:])
    runner.cfg.load_from = 'wide.pth'
    with pytest.raises(StateDictMismatchError) as info:
        CheckpointCheckHook().after_load_checkpoint(
            runner, dict(state_dict=state, meta={}))
    text = str(info.value)
    assert text.startswith('wide.pth does not fit the model'), text
    assert f'  {key}: (32, 3, 2, 16, 16) vs (64, 3, 2, 16, 16)' in text, text
    assert 'backbone.backbone.' not in text
    assert '--pretrained' not in text


def test_tools_test_with_image_adapters_on_the_video_config_names_the_host(
        video_tasks, tiny_image_data, tmp_path):
    """Adapters trained on the image ViT (mmpretrain), tested with the
    video AdaptFormer config (mmaction ViT): the host, not block_types or
    key lists."""
    cfg = stripes_config(
        tmp_path, tiny_image_data, "custom_hooks = [dict(type='AdapterHook', "
        'adapter_only_checkpoint=True, allow_random_backbone=True)]\n')
    run_tool([
        'train.py', cfg, '--work-dir', tmp_path / 'img', '--cfg-options',
        'train_cfg.max_epochs=1'
    ],
             cwd=tmp_path)
    image = str(tmp_path / 'img' / 'epoch_1.pth')
    proc = run_tool([
        'test.py', video_tasks['full']['config'], image, '--work-dir',
        tmp_path / 'w'
    ],
                    cwd=tmp_path,
                    check=False)
    text = _refusal(proc)
    assert text.startswith(
        f'StateDictMismatchError: The adapter-only checkpoint {image} is of '
        'another model: its adapters were trained on mmpretrain '
        'VisionTransformer'), text
    assert 'wraps mmaction VisionTransformer' in text
    assert 'Use the config it was trained with' in text
    assert 'block_types' not in text
    assert 'missing trainable keys' not in text
