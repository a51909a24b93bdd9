# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An adapter-only checkpoint edited by hand after it was written (tensors
removed from its state dict, or from its state dict and its record), given
to ``tools/infer.py`` and ``tools/test.py``.

``infer.py`` classified with a file without its head (a random head) or
without its adapters, and with exit status 0; ``test.py`` called a file
without its adapters "another adapter configuration"; and ``infer.py``
blamed the frozen backbone for a file whose head was removed from its
record too. Each now says what the file lacks and that it was edited."""
import pytest
import torch
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import pretrained_cfg, video_data_cfg, write_config
from refusal_lines import model_load_error, refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

HEAD = ('cls_head.bn.num_batches_tracked, cls_head.bn.running_mean, '
        'cls_head.bn.running_var, cls_head.fc_cls.bias, '
        'cls_head.fc_cls.weight')


@pytest.fixture(scope='module')
def adapters(tmp_path_factory, tiny_video_data):
    """The tiny config on a stock backbone, an adapter-only file of it
    (through the real extract_adapters.py) and a video."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope

    import mmadaptformer  # noqa: F401
    root = tmp_path_factory.mktemp('edited_adapters')
    stock = str(root / 'stock.pth')
    save_stock_video_checkpoint(stock)
    config = write_config(
        root / 'adaptformer.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + pretrained_cfg(stock))
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    full = str(root / 'full.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, full)
    path = str(root / 'adapters.pth')
    run_tool(['model_converters/extract_adapters.py', config, full, path],
             root)
    video = f"{tiny_video_data['videos']}/train_0_0.mp4"
    return dict(root=root, config=config, path=path, video=video)


def _edited(adapters, name, drop, record_too=False):
    """The adapter-only file without the keys ``drop`` matches (and, with
    ``record_too``, without them in its record's saved_keys)."""
    checkpoint = torch.load(adapters['path'], weights_only=False)
    checkpoint['state_dict'] = {
        k: v
        for k, v in checkpoint['state_dict'].items() if not drop(k)
    }
    if record_too:
        info = checkpoint['meta']['adapter_checkpoint']
        info['saved_keys'] = [k for k in info['saved_keys'] if not drop(k)]
    path = str(adapters['root'] / f'{name}.pth')
    torch.save(checkpoint, path)
    return path


def _infer(adapters, path):
    proc = run_tool(['infer.py', adapters['config'], path, adapters['video']],
                    adapters['root'],
                    check=False)
    # No label with its score: nothing was classified.
    return model_load_error(proc, absent=[': adaptformer: '])


def test_infer_refuses_a_file_without_its_head(adapters):
    path = _edited(adapters, 'headless', lambda k: k.startswith('cls_head.'))
    line = _infer(adapters, path)
    assert line.startswith(f'model adaptformer: ERROR {path}: '
                           f'StateDictMismatchError: {path}: its state dict '
                           'lacks 5 of the 15 tensors that its record '
                           "(meta['adapter_checkpoint']['saved_keys']) "
                           f'lists as saved ({HEAD}), all of its head '
                           '(cls_head.*). It is an adapter-only file '
                           'without its head, which was removed after '
                           'training wrote the file'), line
    assert 'not another adapter configuration' in line, line


@pytest.mark.parametrize('tool', ['infer.py', 'test.py'])
def test_a_file_without_its_adapters_was_changed_not_configured(
        adapters, tool):
    path = _edited(adapters, 'no_adapters', lambda k: '.adaptmlp.' in k)
    if tool == 'infer.py':
        line = _infer(adapters, path)
    else:
        proc = run_tool([
            'test.py', adapters['config'], path, '--work-dir',
            adapters['root'] / 'work'
        ],
                        adapters['root'],
                        check=False)
        line = refused_line(proc, absent=['Epoch(test)'])
    assert f'StateDictMismatchError: {path}: its state dict lacks 8 of the ' \
        '15 tensors that its record ' in line, line
    assert '(backbone.blocks.0.adaptmlp.down_proj.bias, ' in line, line
    assert 'The file was changed after it was written (e.g. a state dict ' \
        'filtered by hand), not saved with another adapter configuration' \
        in line, line
    assert 'Was it trained with another adapter configuration' not in line


def test_infer_names_the_head_left_out_of_the_record_too(adapters):
    path = _edited(
        adapters,
        'headless_record',
        lambda k: k.startswith('cls_head.'),
        record_too=True)
    line = _infer(adapters, path)
    assert f'StateDictMismatchError: {path}: Adapter-only checkpoint holds ' \
        "none of the model's head (cls_head.*) tensors: its record " \
        "(meta['adapter_checkpoint']) lists 5 of them neither as saved " \
        'nor among its 29 frozen tensors (cls_head.fc_cls.weight, ' in line, \
        line
    assert 'not another frozen backbone nor another adapter ' \
        'configuration' in line, line
    assert 'FrozenBackboneMismatchError' not in line, line
