# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Training's ``load_from`` of an AdaptFormer model trained on other classes
fine-tunes it: everything but the head of another number of classes loads,
the head keeps the config's initialisation, and one warning line says so.
Each refusal of such a file used to send the user to the other:
``load_from`` to ``--pretrained`` (which refuses a file with adapters) and
back. ``--resume`` and ``tools/test.py`` still refuse it. Real runs of the
tiny video config."""
import torch
from checkpoint_makers import save_trained_adaptformer
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool, video_data_cfg,
                     write_config)
from refusal_lines import refused_line

from mmadaptformer.utils import safe_torch_load

SKIPPED = ('its head was trained for another number of classes: '
           'num_classes (model.cls_head.num_classes): checkpoint 5, this '
           'model 2 (cls_head.fc_cls.weight: (5, 64) vs (2, 64), '
           'cls_head.fc_cls.bias: (5,) vs (2,)). Fine-tuning on 2 classes: '
           'loading all of it but these 2 head tensors (cls_head.fc_cls.'
           'weight, cls_head.fc_cls.bias), which keep this config\'s '
           'initialisation.')


def test_load_from_a_model_of_other_classes_fine_tunes_it(
        tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    five = tmp_path / 'five.pth'
    state = save_trained_adaptformer(config, five, num_classes=5)
    adapters = [key for key in state if 'adaptmlp' in key]
    assert len(adapters) == 8

    # lr=0: the first epoch's checkpoint (a full one) holds the weights as
    # loaded.
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'w', '--cfg-options',
        f'load_from={five}', 'train_cfg.max_epochs=1',
        'optim_wrapper.optimizer.lr=0.',
        'custom_hooks.0.adapter_only_checkpoint=False'
    ],
                    cwd=tmp_path)
    assert f'WARNING - {five}: {SKIPPED}' in proc.stdout, proc.stdout[-3000:]
    assert 'Epoch(train) [1][2/2]' in proc.stdout
    saved = safe_torch_load(str(tmp_path / 'w' / 'epoch_1.pth'))['state_dict']
    assert set(saved) == set(state)
    for key in adapters:
        assert torch.equal(saved[key], state[key]), key
    for key, value in state.items():
        if not key.startswith('cls_head.') and torch.is_tensor(value):
            assert torch.equal(saved[key], value), key
    assert saved['cls_head.fc_cls.weight'].shape == (2, 64)
    assert saved['cls_head.fc_cls.bias'].shape == (2, )

    # Testing it would predict from a random head: refused, with the way
    # to fine-tune it.
    proc = run_tool(['test.py', config, five, '--work-dir', tmp_path / 't'],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc)
    assert (f'StateDictMismatchError: {five} does not fit the model: its '
            'head was trained for another number of classes'
            in proc.stdout), proc.stdout[-3000:]
    assert line.startswith(
        'To fine-tune a model trained on other classes, give the file to '
        'tools/train.py as --cfg-options load_from=FILE (without --resume)'
    ), line

    # A resumed run goes on with the head it saved: one of another number
    # of classes is refused (here a 2-class training checkpoint on a
    # 5-class config; the datasets declare 5 too, or train.py refuses the
    # head for the data before the Runner).
    five_classes = ['model.cls_head.num_classes=5'] + [
        f'{loader}.dataset.num_classes=5'
        for loader in ('train_dataloader', 'val_dataloader')
    ]
    proc = run_tool([
        'train.py', config, '--work-dir', tmp_path / 'r', '--resume',
        tmp_path / 'w' / 'epoch_1.pth', '--cfg-options', *five_classes
    ],
                    cwd=tmp_path,
                    check=False)
    refused_line(proc, absent=['Fine-tuning on', 'Epoch(train)'])
    assert ('does not fit the model: its head was trained for another '
            'number of classes: num_classes (model.cls_head.num_classes): '
            'checkpoint 2, this model 5') in proc.stdout, proc.stdout[-3000:]


def test_load_from_a_model_of_other_classes_is_checked_as_any(
        tmp_path, tiny_video_data):
    """Guards kept behaviour: only the head of another number of classes
    is set aside; adapters of other settings and keys the model lacks are
    refused before anything loads, as in any load_from."""
    config = write_config(tmp_path / 'cfg.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    five = tmp_path / 'five.pth'
    state = save_trained_adaptformer(config, five, num_classes=5)
    state['backbone.unknown'] = torch.zeros(3)
    unknown = tmp_path / 'unknown.pth'
    torch.save({'state_dict': state, 'meta': {}}, str(unknown))
    cases = [
        (unknown, [], f'StateDictMismatchError: {unknown} does not fit the '
         'model', '1 unexpected keys (in the checkpoint, not in the model): '
         'backbone.unknown'),
        (five, ['model.backbone.adapter.bottleneck=4'],
         f'StateDictMismatchError: The state dict of {five} holds adapter '
         "tensors that do not fit this model's adapters",
         'saved with other adapter settings: bottleneck '
         '(model.backbone.adapter.bottleneck): checkpoint 8, this model 4'),
    ]
    for i, (ckpt, options, error, detail) in enumerate(cases):
        proc = run_tool([
            'train.py', config, '--work-dir', tmp_path / f'w{i}',
            '--cfg-options', f'load_from={ckpt}', *options
        ],
                        cwd=tmp_path,
                        check=False)
        refused_line(proc, absent=['Fine-tuning on', 'Epoch(train)'])
        assert error in proc.stdout, proc.stdout[-3000:]
        assert detail in proc.stdout, proc.stdout[-3000:]
