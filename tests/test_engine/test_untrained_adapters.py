# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A full checkpoint without the model's adapters (the stock model's, a
converted VideoMAE one) given to an AdaptFormer config: evaluating it is
refused, since the adapters would predict at their initialisation (random
with the video recipes' ``init='trunc_normal'``); training from it is not,
since training trains them."""
import pytest
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, run_tool, video_data_cfg,
                     write_config)
from refusal_lines import refused_line

from mmadaptformer.apis import ModelInferencer
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

_REFUSAL = ('holds none of the model\'s 4 adapter tensors (e.g. '
            'backbone.blocks.1.adaptmlp.down_proj.weight): the model would '
            'be evaluated with adapters at their initialisation')


@pytest.mark.parametrize('init', ['trunc_normal', 'lora'])
def test_testing_a_checkpoint_without_the_adapters_is_refused(
        init, video_tasks, tmp_path):
    config = video_tasks['last']['config']  # adapters in the last block
    stock = video_tasks['stock']
    proc = run_tool([
        'test.py', config, stock, '--work-dir', tmp_path / 'w',
        '--cfg-options', f'model.backbone.adapter.init={init}'
    ],
                    cwd=tmp_path,
                    check=False)
    refused_line(proc)
    out = proc.stdout
    assert f'StateDictMismatchError: {stock} {_REFUSAL}' in out, out[-3000:]
    assert 'acc/top1' not in out


def test_testing_vpt_without_its_prompts_is_refused(video_tasks,
                                                    tiny_video_data, tmp_path):
    """VPT's prompts train as extra_trainable, not as adapters: the same
    refusal, in VPT's words."""
    config = write_config(
        tmp_path / 'vpt.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) +
        "model = dict(backbone=dict(type='VPT', num_prompts=4, "
        '_delete_=True, backbone=dict(type=\'VisionTransformer\', '
        'img_size=32, patch_size=16, embed_dims=64, depth=2, num_heads=2, '
        'mlp_ratio=2, qkv_bias=True, num_frames=4, tubelet_size=2, '
        "norm_cfg=dict(type='LN', eps=1e-6), init_cfg=None)))\n"
        "custom_hooks = [dict(type='AdapterHook', mode='linear_probe', "
        "extra_trainable=[r'prompt_embeddings'])]\n")
    stock = video_tasks['stock']
    proc = run_tool(['test.py', config, stock, '--work-dir', tmp_path / 'w'],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert (f'StateDictMismatchError: {stock} holds none of the model\'s 1 '
            'prompt tensors (e.g. backbone.prompt_embeddings): the model '
            'would be evaluated with prompts at their initialisation'
            ) in proc.stdout, proc.stdout[-3000:]


def test_inference_refuses_it(video_tasks, clean_loggers):
    """The inference API and add_task say what tools/test.py says (the same
    function), not "the file is damaged, or ... a smaller architecture"."""
    from mmadaptformer.apis import MultiTaskRecognizer
    config, stock = video_tasks['full']['config'], video_tasks['stock']
    expected = (f'{stock} (config {config}) holds none of the model\'s 8 '
                'adapter tensors (e.g. backbone.blocks.0.adaptmlp.down_proj.'
                'weight): the model would be evaluated with adapters at '
                'their initialisation')
    with pytest.raises(StateDictMismatchError) as info:
        ModelInferencer(config, stock)
    assert str(info.value).startswith(expected), str(info.value)
    assert 'evaluate it with its own config' in str(info.value)
    assert 'damaged' not in str(info.value)
    engine = MultiTaskRecognizer()
    engine.add_task('full', config, video_tasks['full']['checkpoint'])
    with pytest.raises(Exception) as info:
        engine.add_task('stock', config, stock)
    assert expected in str(info.value), str(info.value)
    assert engine.tasks == ['full']


def test_training_from_it_trains_the_adapters(video_tasks, tmp_path):
    """load_from a stock full checkpoint starts training (and validating
    after the epoch) as before."""
    proc = run_tool([
        'train.py', video_tasks['last']['config'], '--work-dir',
        tmp_path / 'w', '--cfg-options', f'load_from={video_tasks["stock"]}',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1'
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'acc/top1' in proc.stdout
    assert (tmp_path / 'w' / 'epoch_1.pth').is_file()
