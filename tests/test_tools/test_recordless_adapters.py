# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint that lost its record of the frozen backbone.

Its tensors alone saved again (``ckpt['state_dict']`` filtered to tensors,
as a tool of another library keeps them) were refused by ``tools/test.py``,
``tools/train.py`` (``load_from``), ``tools/infer.py`` and ``init_model`` as
"damaged, or saved from a smaller architecture", and by
``merge_adapters.py`` as a full checkpoint that "needs no merging". They
are now named for what they are, still refused (nothing can check which
backbone record-less adapters were trained on), and the file they advise
loads. One that lost its meta alone keeps its state dict's record of the
frozen backbone: ``tools/test.py`` loads it, checked against that record,
and ``merge_adapters.py``, which refused it, now merges it with the same
check. Real runs of the tiny image config."""
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
    ViT, its adapter-only ``epoch_1.pth``, that file's tensors alone
    (``tensors.pth``), its state dict alone (``state_dict.pth``) and the
    file without its meta record (``no_record.pth``); another stock tiny
    ViT (``other.pth``)."""
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
    checkpoint = safe_torch_load(str(epoch))
    del checkpoint['meta']['adapter_checkpoint']
    torch.save(checkpoint, str(root / 'no_record.pth'))
    save_stock_image_checkpoint(str(root / 'other.pth'), seed=1)
    return dict(
        root=root,
        config=config,
        stock=stock,
        epoch=str(epoch),
        tensors=str(root / 'tensors.pth'),
        state_dict=str(root / 'state_dict.pth'),
        no_record=str(root / 'no_record.pth'),
        other=str(root / 'other.pth'),
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


def _merge(t, checkpoint, out, backbone='stock', check=True):
    """Run merge_adapters.py on ``checkpoint`` onto ``t[backbone]``."""
    return run_tool([
        'model_converters/merge_adapters.py', t['config'], checkpoint,
        t['root'] / out, '--pretrained', t[backbone]
    ],
                    cwd=t['root'],
                    check=check)


def _merge_refused(t, checkpoint, out, backbone='stock'):
    """merge_adapters.py's refusal of ``checkpoint`` onto the stock
    backbone."""
    return _refused(_merge(t, checkpoint, out, backbone, check=False))


def test_merge_names_an_adapter_only_file_without_its_record(trained):
    t = trained
    out = _merge_refused(t, t['tensors'], 'm1.pth')
    assert 'needs no merging' not in out
    assert f"{t['tensors']} is not an adapter-only checkpoint as " \
        f'written: it holds 8 of the tensors' in out
    assert LOST in out and ADVICE in out
    assert not (t['root'] / 'm1.pth').exists()


def _same_checkpoints(a, b):
    """Whether two merged files hold the same state dict (the settings
    record and every tensor) and the same pretrained source."""
    a, b = safe_torch_load(str(a)), safe_torch_load(str(b))
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key, value in a['state_dict'].items():
        other = b['state_dict'][key]
        if torch.is_tensor(value):
            assert torch.equal(value, other), key
        else:
            assert value == other, key
    assert a['meta']['frozen_host_sources'] == b['meta']['frozen_host_sources']


@pytest.mark.parametrize('name', ['state_dict', 'no_record'])
def test_merge_takes_a_file_that_lost_its_meta_alone(trained, name):
    """Its state dict saved bare, or the checkpoint without
    ``meta['adapter_checkpoint']``: its state dict's record of the frozen
    backbone still fingerprints each tensor. ``tools/test.py`` loads it
    with that check, and ``merge_adapters.py`` (which refused it, saying
    it "needs that record") now merges it with the same check: the file
    it writes is the merge of the run's own file, and on another backbone
    it is refused as that file is, nothing written."""
    t = trained
    proc = run_tool([
        'test.py', t['config'], t[name], '--pretrained', t['stock'],
        '--work-dir', t['root'] / f'as_is_{name}'
    ],
                    cwd=t['root'])
    assert 'accuracy/top1' in proc.stdout
    out = _merge(t, t[name], f'm_{name}.pth').stdout
    assert f'Wrote {t["root"] / f"m_{name}.pth"}: 43 tensors' in out, out
    if not (t['root'] / 'm_epoch.pth').exists():
        _merge(t, t['epoch'], 'm_epoch.pth')
    _same_checkpoints(t['root'] / f'm_{name}.pth', t['root'] / 'm_epoch.pth')
    # What it writes loads and evaluates with no --pretrained.
    proc = run_tool([
        'test.py', t['config'], t['root'] / f'm_{name}.pth', '--work-dir',
        t['root'] / f'merged_{name}'
    ],
                    cwd=t['root'])
    assert 'accuracy/top1' in proc.stdout
    # Never onto a backbone whose tensors its record does not fingerprint.
    out = _merge_refused(t, t[name], f'wrong_{name}.pth', backbone='other')
    assert (f'FrozenBackboneMismatchError: The adapter-only checkpoint '
            f'{t[name]} was trained on a different frozen backbone: 19 of '
            '30 frozen tensors differ') in out, out[-3000:]
    assert f"now {t['other']}. The adapters were trained on " \
        f"{t['stock']}." in out
    assert not (t['root'] / f'wrong_{name}.pth').exists()


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
