# Copyright (c) mmadaptformer contributors. All rights reserved.
"""One adapter-only file whose trained keys are not the model's gets one
sentence from every tool.

``tools/test.py`` (AdapterHook's ``complete_adapter_checkpoint``) said
"missing trainable keys [...], unexpected keys [...]", the inference API
(``init_model``, ``tools/infer.py``) "missing adapter keys [...]" for a
VPT file, and ``check_adapter_checkpoint`` "the model's adapter keys [...]
(N) are not in it; ... Was it trained with another adapter
configuration?" for adapters of other blocks, without the setting that
differs. Both now word it with
:func:`~mmadaptformer.models.backbones.adapter_only_misfit.
check_adapter_only_keys`."""
import pytest
import torch
from adapter_only_files import built_with_adapter_only
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import pretrained_cfg, video_data_cfg, write_config
from other_method_checkpoints import VPT_CFG, vpt_adapter_only
from refusal_lines import model_load_error, refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.utils.state_dict_check import StateDictMismatchError


@pytest.fixture(scope='module')
def files(tmp_path_factory, tiny_video_data):
    root = tmp_path_factory.mktemp('adapter_only_misfit')
    stock = str(root / 'stock.pth')
    save_stock_video_checkpoint(stock)
    data = video_data_cfg(tiny_video_data) + pretrained_cfg(stock)
    config = write_config(root / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG, data)
    vpt = write_config(root / 'vpt.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
                       data + VPT_CFG.format(stock=stock))
    first = write_config(root / 'first_block.py',
                         TINY_ADAPTFORMER_VIDEO_CONFIG,
                         data + 'model = dict(backbone=dict(layers=[0]))\n')
    blocks = str(root / 'first_block.pth')
    torch.save(built_with_adapter_only(first)[2], blocks)
    return dict(
        root=root,
        config=config,
        prompts=vpt_adapter_only(vpt, root / 'prompts.pth'),
        blocks=blocks,
        video=f"{tiny_video_data['videos']}/train_0_0.mp4")


def _test_py_line(files, path) -> str:
    proc = run_tool(
        ['test.py', files['config'], path, '--work-dir', files['root'] / 'w'],
        files['root'],
        check=False)
    line = refused_line(proc, absent=['Epoch(test)'])
    assert line.startswith('StateDictMismatchError: '), line
    return line[len('StateDictMismatchError: '):]


def test_a_file_of_another_method_gets_one_sentence(files, clean_loggers):
    from mmadaptformer.apis import init_model
    path = files['prompts']
    with pytest.raises(StateDictMismatchError) as info:
        init_model(files['config'], path)
    sentence = str(info.value)
    assert sentence.startswith(
        f'{path}: Adapter-only checkpoint does not fit this model: 8 '
        'missing trainable keys '), sentence
    assert "1 unexpected key ['backbone.prompt_embeddings']. It holds " \
        "none of this model's 8 adapter tensors" in sentence, sentence
    assert _test_py_line(files, path) == sentence
    proc = run_tool(['infer.py', files['config'], path, files['video']],
                    files['root'],
                    check=False)
    assert model_load_error(proc).endswith(
        f'ERROR {path}: StateDictMismatchError: {sentence}')


def test_adapters_of_other_blocks_get_one_sentence(files, clean_loggers):
    """The API and ``tools/infer.py`` name the setting that differs, as
    ``tools/test.py`` does: they are given the file's state dict (after the
    load, or before it: ``check_adapter_method(..., state=...)``)."""
    from mmadaptformer.apis import check_adapter_checkpoint
    from mmadaptformer.apis.adapter_checkpoint_check import \
        check_adapter_method
    from mmadaptformer.utils.checkpoint_loading import safe_torch_load
    path = files['blocks']
    sentence = _test_py_line(files, path)
    assert sentence == (
        f'{path}: Adapter-only checkpoint does not fit this model: 4 '
        "missing trainable keys ['backbone.blocks.1.adaptmlp.down_proj.bias',"
        " 'backbone.blocks.1.adaptmlp.down_proj.weight', 'backbone.blocks.1."
        "adaptmlp.up_proj.bias', 'backbone.blocks.1.adaptmlp.up_proj."
        "weight']. It was saved with other adapter settings: layers "
        '(model.backbone.layers): checkpoint [0] (blocks.0), this model '
        '[0, 1] (every block). Use the config it was trained with.')
    model = built_with_adapter_only(files['config'])[0]
    checkpoint = safe_torch_load(path)
    with pytest.raises(StateDictMismatchError) as info:
        check_adapter_checkpoint(model, checkpoint, path)
    assert str(info.value) == sentence
    with pytest.raises(StateDictMismatchError) as info:
        check_adapter_method(
            model,
            checkpoint['meta']['adapter_checkpoint'],
            path,
            'adaptformer',
            state=checkpoint['state_dict'])
    assert str(info.value) == sentence
    proc = run_tool(['infer.py', files['config'], path, files['video']],
                    files['root'],
                    check=False)
    assert model_load_error(proc).endswith(
        f'ERROR {path}: StateDictMismatchError: {sentence}')
