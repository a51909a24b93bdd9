# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint that lost its meta record, its state dict's
record of the frozen backbone kept, on a backbone it was not trained on.

``tools/test.py`` and ``tools/train.py`` (``load_from``) refused it as a file
that "lacks some of the model's tensors: the file is damaged, or was saved
from a smaller architecture": the CheckpointCheckHook's dry run of the load
(on meta tensors) stopped at the record's check and fell back to comparing
keys. ``tools/infer.py``, ``merge_adapters.py``, ``mmpretrain.get_model``
and ``mmaction.apis.init_recognizer`` say which it is: adapters trained on
another frozen backbone, how many of its tensors differ, and the
``--pretrained`` to give; so do those two now. The video recognizer's such
file (it holds the trained final norm, a host tensor) was refused so on
the backbone it was trained on too. Real runs of the tiny configs."""
import os.path as osp

import pytest
import torch
from adapter_tasks import train_task
from checkpoint_makers import (save_stock_image_checkpoint,
                               save_stock_video_checkpoint)
from config_writers import image_data_cfg, pretrained_cfg, write_config
from repo_paths import CONFIGS
from tool_runners import run_tool

from mmadaptformer.utils import safe_torch_load

DAMAGED = 'the file is damaged'


def _lose_meta(epoch: str, root) -> dict:
    """``epoch`` without ``meta['adapter_checkpoint']`` (``no_record.pth``)
    and its state dict saved bare (``state_dict.pth``), in ``root``."""
    checkpoint = safe_torch_load(epoch)
    torch.save(checkpoint['state_dict'], str(root / 'state_dict.pth'))
    del checkpoint['meta']['adapter_checkpoint']
    torch.save(checkpoint, str(root / 'no_record.pth'))
    return dict(
        no_record=str(root / 'no_record.pth'),
        state_dict=str(root / 'state_dict.pth'))


@pytest.fixture(scope='module')
def image_run(tmp_path_factory, tiny_image_data):
    """A run of ``configs/tiny/tiny_adaptformer_image.py`` on a stock tiny
    ViT (``stock.pth``), its adapter-only ``epoch_1.pth`` without its meta
    record; another seed's stock tiny ViT (``other.pth``)."""
    root = tmp_path_factory.mktemp('recordless_wrong')
    config = write_config(
        root / 'cfg.py', osp.join(CONFIGS, 'tiny',
                                  'tiny_adaptformer_image.py'),
        image_data_cfg(tiny_image_data))
    stock, other = str(root / 'stock.pth'), str(root / 'other.pth')
    save_stock_image_checkpoint(stock)
    save_stock_image_checkpoint(other, seed=1)
    run_tool([
        'train.py', config, '--work-dir', root / 'w', '--pretrained', stock,
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
             cwd=root)
    return dict(
        _lose_meta(str(root / 'w' / 'epoch_1.pth'), root),
        root=root,
        config=config,
        stock=stock,
        other=other)


def _other_backbone(file: str) -> str:
    """The start of the frozen-backbone refusal of ``file``, as
    ``tools/infer.py`` and ``merge_adapters.py`` word it."""
    return (f'FrozenBackboneMismatchError: The adapter-only checkpoint '
            f'{file} was trained on a different frozen backbone: 19 of 30 '
            f'frozen tensors differ from this model\'s (pos_embed, '
            'patch_embed.projection.weight, ')


@pytest.mark.parametrize('name', ['no_record', 'state_dict'])
def test_test_py_names_the_other_backbone(image_run, name):
    t = image_run
    proc = run_tool([
        'test.py', t['config'], t[name], '--pretrained', t['other'],
        '--work-dir', t['root'] / f'test_{name}'
    ],
                    cwd=t['root'],
                    check=False)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert DAMAGED not in out and 'Traceback' not in out, out[-3000:]
    assert _other_backbone(t[name]) in out, \
        out[-3000:]
    assert (f"now {t['other']}. The adapters were trained on "
            f"{t['stock']}.") in out
    assert f"--pretrained {t['stock']} (train.py, test.py" in out
    # The backbone it names loads it.
    proc = run_tool([
        'test.py', t['config'], t[name], '--pretrained', t['stock'],
        '--work-dir', t['root'] / f'advised_{name}'
    ],
                    cwd=t['root'])
    assert 'accuracy/top1' in proc.stdout


def test_train_py_load_from_names_the_other_backbone(image_run):
    t = image_run
    proc = run_tool([
        'train.py', t['config'], '--pretrained', t['other'], '--work-dir',
        t['root'] / 'train', '--cfg-options', f"load_from={t['no_record']}",
        'train_cfg.max_epochs=1'
    ],
                    cwd=t['root'],
                    check=False)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert DAMAGED not in out, out[-3000:]
    assert _other_backbone(t['no_record']) in out, \
        out[-3000:]
    assert not osp.exists(t['root'] / 'train' / 'epoch_1.pth')


def test_mmpretrain_get_model_says_the_same(image_run):
    """Guards kept behaviour: the toolbox's own load path (no hook's
    check before it) named it so already."""
    from mmengine.config import Config
    from mmpretrain import get_model

    from mmadaptformer.models import (FrozenBackboneMismatchError,
                                      set_host_pretrained)
    t = image_run
    cfg = Config.fromfile(t['config'])
    set_host_pretrained(cfg, t['other'])
    with pytest.raises(FrozenBackboneMismatchError) as e:
        get_model(cfg, pretrained=t['no_record'])
    assert 'trained on a different frozen backbone: 19 of 30 frozen ' \
        'tensors differ' in str(e.value)
    assert f"The adapters were trained on {t['stock']}." in str(e.value)


def _video_test(config: str, checkpoint: str, work_dir) -> dict:
    """``Runner.test()`` of ``config`` with ``checkpoint``, as
    ``tools/test.py`` runs it."""
    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.runner import Runner
    cfg = Config.fromfile(config)
    cfg.work_dir = str(work_dir)
    cfg.load_from = checkpoint
    try:
        return Runner.from_cfg(cfg).test()
    finally:
        MMLogger._instance_dict.clear()
        MessageHub._instance_dict.clear()


def test_video_runner_and_init_recognizer(tmp_path, tiny_video_data,
                                          clean_loggers):
    """The video recognizer, whose adapter-only file holds two host
    tensors (the trained final norm): through the CheckpointCheckHook
    (``Runner.test()``, as ``tools/test.py``) it was refused as damaged on
    the backbone it was trained on too, its dry run of the load comparing
    nothing with the record; now it tests as the run's own file does. On
    another backbone the hook names it as mmaction2's ``init_recognizer``
    did already."""
    from mmaction.apis import init_recognizer

    from mmadaptformer.models import FrozenBackboneMismatchError
    stock, other = str(tmp_path / 'stock.pth'), str(tmp_path / 'other.pth')
    save_stock_video_checkpoint(stock)
    save_stock_video_checkpoint(other, seed=1)
    task = train_task(str(tmp_path), 'task', tiny_video_data, stock)
    files = _lose_meta(task['checkpoint'], tmp_path)
    held = safe_torch_load(files['state_dict'])
    assert 'backbone.fc_norm.weight' in held, sorted(held)
    expected = _video_test(task['config'], task['checkpoint'],
                           tmp_path / 'run_file')
    for name, file in files.items():
        assert _video_test(task['config'], file,
                           tmp_path / f'as_is_{name}') == expected, name
    config = write_config(tmp_path / 'on_other.py', task['config'],
                          pretrained_cfg(other))
    with pytest.raises(FrozenBackboneMismatchError) as e:
        _video_test(config, files['no_record'], tmp_path / 'on_other')
    assert f"The adapter-only checkpoint {files['no_record']} was trained " \
        'on a different frozen backbone' in str(e.value)
    assert f'The adapters were trained on {stock}.' in str(e.value)
    with pytest.raises(FrozenBackboneMismatchError) as e:
        init_recognizer(config, files['state_dict'], device='cpu')
    assert f'The adapters were trained on {stock}.' in str(e.value)
