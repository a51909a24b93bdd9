# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What an adapter-only file without tensors its record lists would come
to, said for the path that reads it.

The refusal said "the model would be evaluated with a head at its
initialisation" also on ``tools/train.py``'s path (``load_from``), where
the run would train instead; and ``complete_adapter_checkpoint`` called
directly (as a script of one's own, after MMEngine's
``runner.load_checkpoint``, calls it) asked "Was it trained with another
adapter configuration?" of a file whose record lists the key its state
dict lacks: a file edited after it was written."""
import copy

import pytest
import torch
from adapter_only_files import built_with_adapter_only
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import pretrained_cfg, video_data_cfg, write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.engine import ADAPTER_META_KEY
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

EDITED = ('The file was changed after it was written (e.g. a state dict '
          'filtered by hand), not saved with another adapter '
          'configuration; ')
HEADLESS = ('It is an adapter-only file without its head, which was '
            'removed after training wrote the file (e.g. a state dict '
            'filtered by hand), not another adapter configuration; ')


@pytest.fixture(scope='module')
def adapters(tmp_path_factory, tiny_video_data):
    """The tiny config on a stock backbone, its model and plan, and an
    adapter-only checkpoint of it as AdapterHook writes it."""
    from mmengine.logging import MessageHub, MMLogger
    root = tmp_path_factory.mktemp('record_outcomes')
    stock = str(root / 'stock.pth')
    save_stock_video_checkpoint(stock)
    config = write_config(
        root / 'adaptformer.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        video_data_cfg(tiny_video_data) + pretrained_cfg(stock) +
        'train_cfg = dict(max_epochs=1)\n')
    model, plan, checkpoint = built_with_adapter_only(config)
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    return dict(
        root=root,
        config=config,
        model=model,
        plan=plan,
        checkpoint=checkpoint)


def _without(adapters, drop):
    checkpoint = copy.deepcopy(adapters['checkpoint'])
    checkpoint['state_dict'] = {
        k: v
        for k, v in checkpoint['state_dict'].items() if not drop(k)
    }
    return checkpoint


def test_complete_names_a_file_edited_after_it_was_written(adapters):
    """The record lists the adapter tensor the state dict lacks: the file
    was edited, not saved with another configuration; the caller's use is
    not known, so the consequence is said for any load."""
    from mmadaptformer.engine import complete_adapter_checkpoint
    key = 'backbone.blocks.0.adaptmlp.up_proj.bias'
    checkpoint = _without(adapters, lambda k: k == key)
    with pytest.raises(StateDictMismatchError) as info:
        complete_adapter_checkpoint(adapters['model'], checkpoint,
                                    adapters['plan'], 'a.pth')
    text = str(info.value)
    assert text.startswith('a.pth: its state dict lacks 1 of the 15 '
                           'tensors that its record '
                           f"(meta['{ADAPTER_META_KEY}']['saved_keys']) "
                           f'lists as saved ({key}). '), text
    assert EDITED + 'a model loading it would take those tensors from ' \
        'their initialisation, not the trained ones. ' in text, text
    assert 'Was it trained with another adapter configuration' not in text
    assert 'evaluated' not in text, text


@pytest.mark.parametrize(
    'purpose, outcome',
    [('evaluate', 'the model would be evaluated with a head at its '
      'initialisation. '),
     ('train', 'the run would train a head from its initialisation instead '
      'of going on from the trained one. '),
     ('write', 'the file written would hold a head at its initialisation. '),
     ('load', 'a model loading it would take a head from its '
      'initialisation, not the trained one. ')])
def test_the_consequence_fits_the_callers_purpose(adapters, purpose, outcome):
    from mmadaptformer.engine import (EXPECTED_CHECKPOINT,
                                      complete_adapter_checkpoint)
    from mmadaptformer.engine.adapter_checkpoint import checkpoint_meta
    checkpoint = _without(adapters, lambda k: k.startswith('cls_head.'))
    with pytest.raises(StateDictMismatchError) as info:
        checkpoint_meta(checkpoint, 'a.pth', EXPECTED_CHECKPOINT, purpose)
    assert HEADLESS + outcome in str(info.value), str(info.value)
    with pytest.raises(StateDictMismatchError) as info:
        complete_adapter_checkpoint(
            adapters['model'],
            checkpoint,
            adapters['plan'],
            'a.pth',
            purpose=purpose)
    assert HEADLESS + outcome in str(info.value), str(info.value)


def test_an_unknown_purpose_is_named(adapters):
    from mmadaptformer.engine import EXPECTED_CHECKPOINT
    from mmadaptformer.engine.adapter_checkpoint import checkpoint_meta
    with pytest.raises(ValueError, match=r"not 'test'$"):
        checkpoint_meta(adapters['checkpoint'], 'a.pth', EXPECTED_CHECKPOINT,
                        'test')


def test_init_model_says_it_would_evaluate(adapters, clean_loggers):
    """A guard of kept behaviour: init_model evaluates, and says so."""
    from mmadaptformer.apis import init_model
    path = str(adapters['root'] / 'headless.pth')
    torch.save(_without(adapters, lambda k: k.startswith('cls_head.')), path)
    with pytest.raises(StateDictMismatchError) as info:
        init_model(adapters['config'], path)
    assert HEADLESS + 'the model would be evaluated with a head at its ' \
        'initialisation. ' in str(info.value), str(info.value)


def test_training_from_it_says_it_would_train(adapters):
    """``tools/train.py`` with ``load_from`` would train, not evaluate:
    the AdapterHook tells the two apart by the optimizer Runner.train()
    builds before it loads."""
    path = str(adapters['root'] / 'headless_train.pth')
    torch.save(_without(adapters, lambda k: k.startswith('cls_head.')), path)
    proc = run_tool([
        'train.py', adapters['config'], '--work-dir',
        adapters['root'] / 'work', '--cfg-options', f'load_from={path}'
    ],
                    adapters['root'],
                    check=False)
    line = refused_line(proc, absent=['Epoch(train)'])
    assert HEADLESS + 'the run would train a head from its ' \
        'initialisation instead of going on from the trained one. ' in line, \
        line
    assert 'evaluated' not in line, line


def test_testing_it_says_it_would_evaluate(adapters):
    """``tools/test.py`` evaluates, and says so."""
    path = str(adapters['root'] / 'headless_test.pth')
    torch.save(_without(adapters, lambda k: k.startswith('cls_head.')), path)
    proc = run_tool([
        'test.py', adapters['config'], path, '--work-dir',
        adapters['root'] / 'work_test'
    ],
                    adapters['root'],
                    check=False)
    line = refused_line(proc)
    assert HEADLESS + 'the model would be evaluated with a head at its ' \
        'initialisation. ' in line, line
