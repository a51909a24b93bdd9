# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The frozen-host wrapper's own load path refuses adapters without a
record of their frozen backbone, through the toolboxes' own APIs.

An adapter-only checkpoint without ``backbone.frozen_host_fingerprints``
in its state dict (one written before that record existed, its record in
``meta`` alone, or its tensors alone saved again) was taken by
``mmengine.runner.load_checkpoint``, ``mmpretrain.get_model``,
``ImageClassificationInferencer`` and mmaction2's ``init_recognizer`` onto
whatever backbone the config names, with a warning whose advice
(``extract_adapters.py``, which takes a full checkpoint) did not work on
such a file. They now refuse it, naming the file, what it lacks and
advice that the tests run; the callers that check the meta record
(``init_model``, the Runner's ``AdapterHook``) load it as before. Real
runs of the tiny configs.
"""
import os.path as osp
import re

import pytest
import torch
from adapter_tasks import train_task
from checkpoint_makers import save_stock_image_checkpoint
from config_writers import image_data_cfg, pretrained_cfg, write_config
from repo_paths import CONFIGS
from tool_runners import run_tool

from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

META_ONLY = ("is an adapter-only checkpoint (meta['adapter_checkpoint']) "
             'without the record of its frozen backbone in its state dict '
             '(backbone.frozen_host_fingerprints)')
LOST = 'it looks like an adapter-only checkpoint whose record was lost'
EPOCH_ADVICE = ('Give instead the adapter-only checkpoint its training run '
                "wrote (its work dir's epoch_N.pth or best_*.pth, which "
                'keeps the record)')


def _recordless(epoch: str, root) -> dict:
    """``old.pth``: ``epoch`` without its state dict's record (as written
    before that record existed: meta record only); ``tensors.pth``: its
    tensors alone."""
    checkpoint = safe_torch_load(epoch)
    checkpoint['state_dict'] = {
        k: v
        for k, v in checkpoint['state_dict'].items() if torch.is_tensor(v)
    }
    assert 'adapter_checkpoint' in checkpoint['meta']
    files = dict(old=str(root / 'old.pth'), tensors=str(root / 'tensors.pth'))
    torch.save(checkpoint, files['old'])
    torch.save({'state_dict': checkpoint['state_dict']}, files['tensors'])
    return files


@pytest.fixture(scope='module')
def image(tmp_path_factory, tiny_image_data):
    """A one-epoch run of the tiny AdaptFormer image config on a stock
    tiny ViT: its config (the backbone as its pretrained file), its
    adapter-only ``epoch_1.pth`` and that file without its record."""
    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.runner import Runner
    root = tmp_path_factory.mktemp('recordless_image')
    stock = str(root / 'stock.pth')
    save_stock_image_checkpoint(stock)
    config = write_config(
        str(root / 'cfg.py'),
        osp.join(CONFIGS, 'tiny', 'tiny_adaptformer_image.py'),
        image_data_cfg(tiny_image_data) + pretrained_cfg(stock))
    cfg = Config.fromfile(config)
    cfg.work_dir = str(root / 'work')
    cfg.train_cfg.max_epochs = 1
    Runner.from_cfg(cfg).train()
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    epoch = str(root / 'work' / 'epoch_1.pth')
    return dict(
        root=root,
        config=config,
        stock=stock,
        epoch=epoch,
        image=f'{tiny_image_data}/val/horizontal/0.png',
        **_recordless(epoch, root))


def _image_loads(config: str, checkpoint: str) -> dict:
    """The state dicts of the model that ``load_checkpoint``,
    ``mmpretrain.get_model`` and ``ImageClassificationInferencer`` load
    ``checkpoint`` into."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint
    from mmpretrain import ImageClassificationInferencer, get_model
    init_default_scope('mmpretrain')
    model = MODELS.build(Config.fromfile(config).model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    return dict(
        load_checkpoint=model.state_dict(),
        get_model=get_model(Config.fromfile(config),
                            pretrained=checkpoint).state_dict(),
        inferencer=ImageClassificationInferencer(
            config, pretrained=checkpoint).model.state_dict())


def _assert_trained(states: dict, epoch: str) -> None:
    """Every model holds the trained tensors of ``epoch``."""
    trained = safe_torch_load(epoch)['state_dict']
    for api, state in states.items():
        for key, value in trained.items():
            if torch.is_tensor(value):
                assert torch.equal(state[key], value), (api, key)


def test_toolbox_loads_refuse_adapters_without_a_record(image):
    """Before: each of them loaded both files, with a warning."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint
    from mmpretrain import ImageClassificationInferencer, get_model
    loads = dict(
        load_checkpoint=lambda f: load_checkpoint(
            MODELS.build(Config.fromfile(image['config']).model),
            f,
            map_location='cpu'),
        get_model=lambda f: get_model(
            Config.fromfile(image['config']), pretrained=f),
        inferencer=lambda f: ImageClassificationInferencer(
            image['config'], pretrained=f))
    for api, load in loads.items():
        init_default_scope('mmpretrain')
        for kind in ('old', 'tensors'):
            with pytest.raises(StateDictMismatchError) as e:
                load(image[kind])
            message = str(e.value)
            assert message.startswith(
                f'AdaptFormer: the state dict of {image[kind]} '), message
            assert (f'30 backbone tensors it leaves out, which would come '
                    f'from {image["stock"]} (model.backbone.backbone.'
                    'init_cfg.checkpoint)') in message, message
            if kind == 'old':
                assert META_ONLY in message, message
            else:
                assert LOST in message and EPOCH_ADVICE in message, message
                assert ('holds 8 tensors of trained adapters (e.g. '
                        'backbone.layers.0.adaptmlp.down_proj.weight), none '
                        'of the 30 backbone tensors and no record') in message
    # What the refusal of the tensors-only file advises: the run's own
    # file, which every one of them loads.
    _assert_trained(
        _image_loads(image['config'], image['epoch']), image['epoch'])


def test_the_advice_for_a_meta_record_file_records_it(image):
    """The refusal's commands (merge_adapters.py, then
    extract_adapters.py) make files that the toolboxes' loads take; the
    callers that check the meta record load the file as it is (kept
    behaviour), without a warning that nothing checks it."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint

    from mmadaptformer.apis import init_model
    init_default_scope('mmpretrain')
    with pytest.raises(StateDictMismatchError) as e:
        load_checkpoint(
            MODELS.build(Config.fromfile(image['config']).model),
            image['old'],
            map_location='cpu')
    message = str(e.value)
    merge = re.search(
        r'python tools/model_converters/merge_adapters\.py (\S+) (\S+) '
        r'(\S+) --pretrained (\S+) \(', message)
    extract = re.search(
        r'then python tools/model_converters/extract_adapters\.py (\S+) '
        r'(\S+) (\S+) for', message)
    assert merge and extract, message
    assert merge.groups() == ('CONFIG', image['old'], 'FULL.pth',
                              image['stock'])
    assert extract.groups() == ('CONFIG', 'FULL.pth', 'ADAPTERS.pth')
    assert 'CONFIG is the config it was trained with' in message
    root = image['root']
    full, adapters = str(root / 'full.pth'), str(root / 'adapters.pth')
    run_tool([
        'model_converters/merge_adapters.py', image['config'], image['old'],
        full, '--pretrained', image['stock']
    ],
             cwd=root)
    run_tool([
        'model_converters/extract_adapters.py', image['config'], full, adapters
    ],
             cwd=root)
    # extract_adapters.py, given the file itself, gives the same commands
    # (it said only that merge_adapters.py makes a full one of it).
    proc = run_tool([
        'model_converters/extract_adapters.py', image['config'], image['old'],
        root / 'x.pth'
    ],
                    cwd=root,
                    check=False)
    assert proc.returncode == 1, proc.stdout
    assert ('python tools/model_converters/merge_adapters.py '
            f'{image["config"]} {image["old"]} FULL.pth') in proc.stdout, \
        proc.stdout
    for checkpoint in (full, adapters):
        _assert_trained(
            _image_loads(image['config'], checkpoint), image['epoch'])
    # Kept: init_model and tools/test.py check its meta record.
    model, _ = init_model(image['config'], image['old'])
    _assert_trained({'init_model': model.state_dict()}, image['epoch'])
    proc = run_tool([
        'test.py', image['config'], image['old'], '--work-dir',
        root / 'test_old'
    ],
                    cwd=root)
    assert 'accuracy/top1' in proc.stdout
    assert 'nothing checks' not in proc.stdout


def test_init_recognizer_refuses_adapters_without_a_record(
        tmp_path, tiny_video_data, stock_video_backbone, clean_loggers):
    """Before: mmaction2's init_recognizer loaded both files, with a
    warning; the run's own file still loads."""
    from mmaction.apis import init_recognizer
    task = train_task(
        str(tmp_path), 'v', tiny_video_data, stock_video_backbone)
    files = _recordless(task['checkpoint'], tmp_path)
    for kind, expected in (('old', META_ONLY), ('tensors', LOST)):
        with pytest.raises(StateDictMismatchError) as e:
            init_recognizer(task['config'], files[kind], device='cpu')
        assert f'the state dict of {files[kind]} ' in str(e.value)
        assert expected in str(e.value), str(e.value)
    model = init_recognizer(task['config'], task['checkpoint'], device='cpu')
    _assert_trained({'init_recognizer': model.state_dict()},
                    task['checkpoint'])
