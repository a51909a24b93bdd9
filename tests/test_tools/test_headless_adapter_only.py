# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint without its head, given to ``tools/test.py``
and ``merge_adapters.py``.

They said "missing trainable keys [cls_head...] ... Was it trained with
another adapter configuration?": the adapters fit, the head is what is
missing. The refusal now names the head and its keys and says that it is
not another adapter configuration."""
import torch
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import pretrained_cfg, video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

# As the file's record lists them: the state dict lacks what it saved.
HEAD_KEYS = ('cls_head.bn.num_batches_tracked, cls_head.bn.running_mean, '
             'cls_head.bn.running_var, cls_head.fc_cls.bias, '
             'cls_head.fc_cls.weight')


def _trained_on(config, stock, path):
    """A full checkpoint of ``config``'s model on the ``stock`` backbone
    (its init_weights loads it), with random adapters and head."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope

    import mmadaptformer  # noqa: F401
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def _headless_adapters(tmp_path, data):
    """The tiny config on a stock backbone and an adapter-only file of it
    (through the real extract_adapters.py) with its head keys removed."""
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    config = write_config(tmp_path / 'adaptformer.py',
                          TINY_ADAPTFORMER_VIDEO_CONFIG,
                          video_data_cfg(data) + pretrained_cfg(stock))
    full = _trained_on(config, stock, tmp_path / 'full.pth')
    adapters = str(tmp_path / 'adapters.pth')
    run_tool(['model_converters/extract_adapters.py', config, full, adapters],
             tmp_path)
    checkpoint = torch.load(adapters, weights_only=False)
    state = checkpoint['state_dict']
    assert any(k.startswith('cls_head.') for k in state)
    checkpoint['state_dict'] = {
        k: v
        for k, v in state.items() if not k.startswith('cls_head.')
    }
    headless = str(tmp_path / 'headless.pth')
    torch.save(checkpoint, headless)
    return config, headless


def _assert_names_the_head(line):
    assert line.startswith('StateDictMismatchError: '), line
    assert 'without its head' in line, line
    assert HEAD_KEYS in line, line
    assert 'not another adapter configuration' in line, line
    assert 'Was it trained with another adapter configuration' not in line


def test_test_py_names_the_missing_head(tmp_path, tiny_video_data):
    config, headless = _headless_adapters(tmp_path, tiny_video_data)
    proc = run_tool(
        ['test.py', config, headless, '--work-dir', tmp_path / 'work'],
        tmp_path,
        check=False)
    line = refused_line(proc, absent=['Epoch(test)'])
    _assert_names_the_head(line)
    assert headless in line, line


def test_merge_adapters_names_the_missing_head(tmp_path, tiny_video_data):
    config, headless = _headless_adapters(tmp_path, tiny_video_data)
    out = tmp_path / 'merged.pth'
    proc = run_tool(
        ['model_converters/merge_adapters.py', config, headless, out],
        tmp_path,
        check=False)
    # merge_adapters.py passes no source to the check: no file name.
    _assert_names_the_head(refused_line(proc, absent=['Wrote']))
    assert not out.exists()
