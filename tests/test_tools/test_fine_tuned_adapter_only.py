# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Adapter-only checkpoints of a run fine-tuned from a whole AdaptFormer
model X (``load_from=X``, the recipes' ``AdapterHook(
adapter_only_checkpoint=True)``) record X as their frozen backbone.
``tools/test.py`` asked for ``--pretrained X`` and then refused it (X holds
adapters): now ``--pretrained X`` loads X's frozen backbone only, the
checkpoint's adapters replace X's, and the record's fingerprints are still
checked. Real runs of the tiny video config."""
import pickle

import torch
from checkpoint_makers import save_trained_adaptformer
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool, video_data_cfg,
                     write_config)
from mmengine.config import Config
from refusal_lines import refused_line

from mmadaptformer.utils import safe_torch_load


def _scores(path) -> list:
    """The class scores ``tools/test.py --dump`` wrote, one per video."""
    with open(path, 'rb') as f:
        return [sample['pred_score'] for sample in pickle.load(f)]


def test_pretrained_whole_model_completes_its_adapter_only_checkpoints(
        tmp_path, tiny_video_data, clean_loggers):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    whole = tmp_path / 'whole.pth'
    state = save_trained_adaptformer(config, whole, 0)
    run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        f'load_from={whole}', 'train_cfg.max_epochs=1'
    ],
             cwd=tmp_path)
    ckpt = tmp_path / 'w' / 'epoch_1.pth'
    saved = safe_torch_load(str(ckpt))['state_dict']
    assert 'backbone.blocks.0.attn.qkv.weight' not in saved  # adapter-only

    # The same weights as one full checkpoint: what the run should test.
    full = dict(state)
    full.update((k, v) for k, v in saved.items() if torch.is_tensor(v))
    merged = tmp_path / 'merged.pth'
    torch.save({'state_dict': full, 'meta': {}}, str(merged))
    run_tool([
        'test.py', config, merged, '--work-dir', tmp_path / 'm', '--dump',
        tmp_path / 'merged.pkl'
    ],
             cwd=tmp_path)
    expected = _scores(tmp_path / 'merged.pkl')
    assert len(expected) == 8

    note = (f'INFO - {whole} holds 8 tensors of trained adapters: loading '
            'its frozen backbone only, which the adapter-only checkpoint '
            f'{ckpt} records as the one its adapters were trained on; its '
            'adapters replace these.\n')
    proc = run_tool([
        'test.py', config, ckpt, '--work-dir', tmp_path / 't', '--pretrained',
        whole, '--dump', tmp_path / 'adapters.pkl'
    ],
                    cwd=tmp_path)
    assert note in proc.stdout, proc.stdout[-3000:]
    got = _scores(tmp_path / 'adapters.pkl')
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert torch.equal(a, b)

    video = f"{tiny_video_data['videos']}/train_0_0.mp4"
    outs = {}
    for name, argv in (('merged', [merged]), ('pretrained',
                                              [ckpt, '--pretrained', whole])):
        outs[name] = tmp_path / f'{name}.json'
        proc = run_tool(
            ['infer.py', config, *argv, video, '--out', outs[name]],
            cwd=tmp_path)
    assert note in proc.stdout, proc.stdout[-3000:]
    assert outs['merged'].read_text() == outs['pretrained'].read_text()

    out = tmp_path / 'merged_by_tool.pth'
    run_tool([
        'model_converters/merge_adapters.py', config, ckpt, out,
        '--pretrained', whole
    ],
             cwd=tmp_path)
    written = safe_torch_load(str(out))['state_dict']
    for key, value in full.items():
        if torch.is_tensor(value):
            assert torch.equal(written[key], value), key

    # mmaction2's own API, the config naming X as the frozen backbone.
    from mmaction.apis import init_recognizer
    cfg = Config.fromfile(config)
    cfg.model.backbone.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=str(whole), prefix='backbone.')
    model = init_recognizer(cfg, str(ckpt), device='cpu')
    for key, value in model.state_dict().items():
        if torch.is_tensor(value):
            assert torch.equal(value, full[key]), key


def test_pretrained_whole_model_is_still_checked(tmp_path, tiny_video_data):
    """Guards kept behaviour: a whole model given as --pretrained is still
    refused where no adapter-only checkpoint's record names it (training
    from it would drop its adapters), and beside an adapter-only checkpoint
    recorded on another backbone."""
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    whole, other = tmp_path / 'whole.pth', tmp_path / 'other.pth'
    save_trained_adaptformer(config, whole, 0)
    save_trained_adaptformer(config, other, 1)
    run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        f'load_from={whole}', 'train_cfg.max_epochs=1'
    ],
             cwd=tmp_path)
    ckpt = tmp_path / 'w' / 'epoch_1.pth'

    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 't0', '--pretrained',
        whole, '--cfg-options', 'train_cfg.max_epochs=1'
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, absent=['Epoch(train)', 'records as the one'])
    assert f'PretrainedFileError: {whole} holds 8 tensors of trained ' \
        'adapters (e.g. blocks.0.adaptmlp.down_proj.weight): it is a ' \
        'trained AdaptFormer model (a full checkpoint' in line, line

    proc = run_tool([
        'test.py', config, ckpt, '--work-dir', tmp_path / 't1', '--pretrained',
        other
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, absent=['Epoch(test)', 'records as the one'])
    assert line.startswith(
        f'PretrainedFileError: {other} holds 8 tensors of trained adapters '
        '(e.g. blocks.0.adaptmlp.down_proj.weight): it is a trained '
        'AdaptFormer model, and not the frozen backbone the adapter-only '
        f'checkpoint {ckpt} records either: '), line
    assert line.endswith(
        ' frozen tensors differ. Give the file its adapters were trained '
        f'on, {whole}, as --pretrained (model.backbone.backbone.init_cfg.'
        'checkpoint).'), line
