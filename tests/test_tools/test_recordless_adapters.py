# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint that lost its record of the frozen backbone.

Its tensors alone saved again (``ckpt['state_dict']`` filtered to tensors,
as a tool of another library keeps them) were refused by ``tools/test.py``,
``tools/train.py`` (``load_from``), ``tools/infer.py`` and ``init_model`` as
"damaged, or saved from a smaller architecture", and by
``merge_adapters.py`` as a full checkpoint that "needs no merging"; so was
one that lost its meta alone. They are now named for what they are, still
refused (nothing can check which backbone record-less adapters were
trained on), and the file they advise loads. Real runs of the tiny image
config."""
import os.path as osp

import pytest
import torch
from checkpoint_makers import save_stock_image_checkpoint
from config_writers import image_data_cfg, write_config
from repo_paths import CONFIGS
from tool_runners import run_tool

from mmadaptformer.utils import safe_torch_load

LOST = 'it looks like an adapter-only checkpoint whose record was lost'
DAMAGED = 'the file is damaged'
ADVICE = ('Give instead the adapter-only checkpoint its training run wrote '
          "(its work dir's epoch_N.pth or best_*.pth, which keeps the "
          'record), with the backbone it was trained on as --pretrained')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_image_data):
    """A run of ``configs/tiny/tiny_adaptformer_image.py`` on a stock tiny
    ViT, its adapter-only ``epoch_1.pth``, and that file's tensors alone
    (``tensors.pth``) and state dict alone (``state_dict.pth``)."""
    root = tmp_path_factory.mktemp('recordless')
    config = write_config(
        root / 'cfg.py', osp.join(CONFIGS, 'tiny',
                                  'tiny_adaptformer_image.py'),
        image_data_cfg(tiny_image_data))
    stock = str(root / 'stock.pth')
    save_stock_image_checkpoint(stock)
    run_tool([
        'train.py', config, '--work-dir', root / 'w', '--pretrained', stock,
        '--cfg-options', 'train_cfg.max_epochs=1'
    ],
             cwd=root)
    epoch = root / 'w' / 'epoch_1.pth'
    state = safe_torch_load(str(epoch))['state_dict']
    tensors = {k: v for k, v in state.items() if torch.is_tensor(v)}
    assert 0 < len(tensors) < len(state)  # the record is a dict
    torch.save({'state_dict': tensors}, str(root / 'tensors.pth'))
    torch.save(state, str(root / 'state_dict.pth'))
    return dict(
        root=root,
        config=config,
        stock=stock,
        epoch=str(epoch),
        tensors=str(root / 'tensors.pth'),
        state_dict=str(root / 'state_dict.pth'),
        image=f'{tiny_image_data}/val/horizontal/0.png')


def _refused(proc) -> str:
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout, proc.stdout[-3000:]
    assert DAMAGED not in proc.stdout, proc.stdout[-3000:]
    return proc.stdout


def test_tools_name_recordless_adapters_and_the_advice_loads(trained):
    t = trained
    runs = {
        'test':
        ['test.py', t['config'], t['tensors'], '--pretrained', t['stock']],
        'train': [
            'train.py', t['config'], '--pretrained', t['stock'],
            '--cfg-options', f"load_from={t['tensors']}",
            'train_cfg.max_epochs=1'
        ],
        'infer': [
            'infer.py', t['config'], t['tensors'], t['image'], '--pretrained',
            t['stock']
        ],
    }
    for name, argv in runs.items():
        out = _refused(
            run_tool(
                argv + ['--work-dir', t['root'] / name] * (name != 'infer'),
                cwd=t['root'],
                check=False))
        assert LOST in out and ADVICE in out, (name, out[-3000:])
        assert 'e.g. backbone.layers.0.adaptmlp.down_proj.weight' in out
        assert 'allow_missing' not in out  # the key lists' advice
    # What it advises: the run's own file, with the backbone as
    # --pretrained.
    proc = run_tool([
        'test.py', t['config'], t['epoch'], '--pretrained', t['stock'],
        '--work-dir', t['root'] / 'advised'
    ],
                    cwd=t['root'])
    assert 'accuracy/top1' in proc.stdout


def _merge_refused(t, checkpoint, out):
    """merge_adapters.py's refusal of ``checkpoint`` onto the stock
    backbone."""
    return _refused(
        run_tool([
            'model_converters/merge_adapters.py', t['config'], checkpoint,
            t['root'] / out, '--pretrained', t['stock']
        ],
                 cwd=t['root'],
                 check=False))


def test_merge_names_an_adapter_only_file_without_its_record(trained):
    t = trained
    out = _merge_refused(t, t['tensors'], 'm1.pth')
    assert 'needs no merging' not in out
    assert f"{t['tensors']} is not an adapter-only checkpoint as " \
        f'written: it holds 8 of the tensors' in out
    assert LOST in out and ADVICE in out
    # Its meta alone lost: its state dict's record still says what it is,
    # and the tools it names load it.
    out = _merge_refused(t, t['state_dict'], 'm2.pth')
    assert 'needs no merging' not in out
    assert (f"{t['state_dict']} has no meta, but its state dict holds "
            'backbone.frozen_host_fingerprints') in out
    assert 'tools/test.py and tools/infer.py load this file as it is' in out
    assert not (t['root'] / 'm1.pth').exists()
    assert not (t['root'] / 'm2.pth').exists()
    proc = run_tool([
        'test.py', t['config'], t['state_dict'], '--pretrained', t['stock'],
        '--work-dir', t['root'] / 'as_is'
    ],
                    cwd=t['root'])
    assert 'accuracy/top1' in proc.stdout
    run_tool([
        'model_converters/merge_adapters.py', t['config'], t['epoch'],
        t['root'] / 'm3.pth', '--pretrained', t['stock']
    ],
             cwd=t['root'])
    assert (t['root'] / 'm3.pth').exists()


def test_init_model_names_recordless_adapters(trained):
    from mmengine.config import Config

    from mmadaptformer.apis import ModelInferencer, init_model
    from mmadaptformer.models import set_host_pretrained
    from mmadaptformer.utils.state_dict_check import StateDictMismatchError
    cfg = Config.fromfile(trained['config'])
    set_host_pretrained(cfg, trained['stock'])
    with pytest.raises(StateDictMismatchError) as e:
        init_model(cfg, trained['tensors'])
    assert LOST in str(e.value) and DAMAGED not in str(e.value)
    config = str(trained['root'] / 'with_pretrained.py')
    cfg.dump(config)
    with pytest.raises(StateDictMismatchError) as e:
        ModelInferencer(config, trained['tensors'])
    assert LOST in str(e.value) and ADVICE in str(e.value)


def test_a_full_checkpoint_with_holes_is_still_damaged(trained):
    """Kept behaviour: a full checkpoint that lacks a block tensor holds
    the blocks' weights, and is no adapter-only one."""
    from mmengine.config import Config

    from mmadaptformer.engine import build_model_and_plan
    from mmadaptformer.utils.recordless_adapters import \
        recordless_adapters_cause
    model, _ = build_model_and_plan(Config.fromfile(trained['config']))
    state = model.state_dict()
    assert recordless_adapters_cause(
        model, {k: v
                for k, v in state.items() if 'adaptmlp' in k}) is not None
    del state['backbone.layers.1.attn.qkv.weight']
    assert recordless_adapters_cause(model, state) is None
    # A backbone alone holds no adapters.
    assert recordless_adapters_cause(
        model, {k: v
                for k, v in state.items() if 'adaptmlp' not in k}) is None
