# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refusals of adapter-only checkpoints name the real cause and the file.

* A file of a TimeSformerHead model (``cls_head.fc_cls.*`` only) given with
  the BNLinearHead config was refused as "an adapter-only file saved
  without its head (e.g. a state dict filtered by hand)": it holds the head
  its training run saved, and that head had other settings.
* A file of a run that kept the head frozen (``AdapterHook(head=[])``),
  whose record counts the head among its frozen tensors, was refused the
  same way, with the advice to give the file its training run wrote: the
  file given. The inference API (``init_model``, ``tools/infer.py``) said
  the first as "saved without its head (e.g. a state dict and its record
  filtered by hand)" and the second as "trained on a different frozen
  backbone".
* A frozen-backbone record that is not one was refused without the file's
  name ("The state dict entry frozen_host_fingerprints ...", its prefix
  lost too on the tools' path), as a FrozenBackboneMismatchError whose
  advice (``--pretrained BACKBONE.pth``) cannot mend a damaged file.
"""
import pytest
import torch
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import write_config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer.apis import init_model
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

EXTRACT = 'model_converters/extract_adapters.py'
MERGE = 'model_converters/merge_adapters.py'


def _config(path, stock, head, body=''):
    return write_config(
        path, TINY_ADAPTFORMER_VIDEO_CONFIG,
        'model = dict(backbone=dict(backbone=dict(init_cfg=dict('
        f"_delete_=True, type='Pretrained', checkpoint={stock!r}, "
        f"prefix='backbone.'))), cls_head=dict(type={head!r}))\n" + body)


def _full_checkpoint(config, path):
    """A full checkpoint of ``config``'s model on its pretrained backbone
    (its init_weights loads it), random adapters and head."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope

    import mmadaptformer  # noqa: F401
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def _adapters(tmp_path, head):
    """``(recipe config, adapter-only file)``: the file extracted by the
    real extract_adapters.py from a model with a ``head`` head, the config
    the tiny recipe's (BNLinearHead), both on one stock backbone."""
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    trained = _config(tmp_path / 'trained.py', stock, head)
    recipe = _config(tmp_path / 'recipe.py', stock, 'BNLinearHead')
    full = _full_checkpoint(trained, tmp_path / 'full.pth')
    adapters = str(tmp_path / 'adapters.pth')
    run_tool([EXTRACT, trained, full, adapters], tmp_path)
    return recipe, adapters


def test_adapters_of_another_head_type_are_not_called_headless(tmp_path):
    recipe, adapters = _adapters(tmp_path, 'TimeSformerHead')

    proc = run_tool([MERGE, recipe, adapters, tmp_path / 'merged.pth'],
                    tmp_path,
                    check=False)
    line = refused_line(proc)
    assert line.startswith(f'StateDictMismatchError: {adapters}: '), line
    assert ('2 missing (cls_head.bn.running_mean, cls_head.bn.running_var), '
            'while it holds 2 others (cls_head.fc_cls.bias, '
            'cls_head.fc_cls.weight)') in line, line
    assert 'whose head (or neck) has other settings, e.g. another head ' \
        'type, not a file saved without its head' in line, line
    assert 'Load it with the config it was trained with' in line, line
    assert 'filtered by hand' not in line, line
    assert not (tmp_path / 'merged.pth').exists()
    # The inference API's path, which compares the frozen digest first.
    with pytest.raises(StateDictMismatchError) as err:
        init_model(recipe, adapters)
    text = str(err.value)
    assert text.startswith(f'{adapters}: '), text
    assert 'whose head (or neck) has other settings, e.g. another head ' \
        'type, not a file saved without its head nor another frozen ' \
        'backbone' in text, text
    assert 'filtered by hand' not in text, text


def test_adapters_of_a_run_with_a_frozen_head_are_not_called_headless(
        tmp_path):
    from adapter_only_files import built_with_adapter_only
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    frozen_head = _config(
        tmp_path / 'frozen_head.py', stock, 'BNLinearHead',
        "custom_hooks = [dict(type='AdapterHook', head=[], "
        "extra_trainable=[r'^backbone\\.fc_norm\\.'])]\n")
    recipe = _config(tmp_path / 'recipe.py', stock, 'BNLinearHead')
    _, _, checkpoint = built_with_adapter_only(frozen_head)
    adapters = str(tmp_path / 'adapters.pth')
    torch.save(checkpoint, adapters)

    proc = run_tool([MERGE, recipe, adapters, tmp_path / 'merged.pth'],
                    tmp_path,
                    check=False)
    line = refused_line(proc)
    assert line.startswith(f'StateDictMismatchError: {adapters}: '), line
    assert "none of the model's head (cls_head.*) tensors: 4 missing" in line
    assert "its record (meta['adapter_checkpoint']) counts 5 more frozen " \
        'tensors than this model has frozen: those of its head (buffers ' \
        'included), which the run that wrote it kept frozen (e.g. ' \
        'AdapterHook head=[]' in line, line
    assert 'Load it with the config it was trained with' in line, line
    assert 'Give the adapter-only checkpoint its training run' not in line
    # The inference API's path: not "trained on a different frozen
    # backbone", which the frozen head's digest would say.
    with pytest.raises(StateDictMismatchError) as err:
        init_model(recipe, adapters)
    text = str(err.value)
    assert text.startswith(f'{adapters}: '), text
    assert "(meta['adapter_checkpoint']) counts the 5 of them" in text, text
    assert 'the run that wrote it kept its head frozen (e.g. AdapterHook ' \
        'head=[]' in text, text


def test_a_record_that_is_not_one_names_the_file_and_its_key(tmp_path):
    recipe, adapters = _adapters(tmp_path, 'BNLinearHead')
    checkpoint = torch.load(adapters, weights_only=False)
    checkpoint['state_dict']['backbone.frozen_host_fingerprints'][
        'format'] = 'edited'
    damaged = str(tmp_path / 'damaged.pth')
    torch.save(checkpoint, damaged)
    expected = (f'StateDictMismatchError: {damaged}: its state dict entry '
                'backbone.frozen_host_fingerprints is not a '
                "'mmadaptformer.frozen_host' record with fingerprints (got "
                "format 'edited'); it was not written by mmadaptformer, or "
                'was changed since.')

    proc = run_tool([MERGE, recipe, damaged, tmp_path / 'merged.pth'],
                    tmp_path,
                    check=False)
    line = refused_line(proc)
    assert line.startswith(expected), line
    assert '--pretrained' not in line, line
    # The inference API's own load path.
    with pytest.raises(StateDictMismatchError) as err:
        init_model(recipe, damaged)
    assert f'StateDictMismatchError: {err.value}'.startswith(expected)


def test_a_damaged_fingerprint_names_the_file_and_its_key(tmp_path):
    """A record whose fingerprint of one tensor is not one (the file was
    changed) is refused as a damaged record, naming the file, the entry
    and the tensor; before, the load stopped with ``ValueError: too many
    values to unpack (expected 4)``."""
    recipe, adapters = _adapters(tmp_path, 'BNLinearHead')
    checkpoint = torch.load(adapters, weights_only=False)
    fingerprints = checkpoint['state_dict'][
        'backbone.frozen_host_fingerprints']['fingerprints']
    key = next(iter(fingerprints))
    fingerprints[key] = 'edited'
    damaged = str(tmp_path / 'damaged.pth')
    torch.save(checkpoint, damaged)
    with pytest.raises(StateDictMismatchError) as err:
        init_model(recipe, damaged)
    assert str(err.value).startswith(
        f'{damaged}: its state dict entry backbone.frozen_host_fingerprints '
        "is not a 'mmadaptformer.frozen_host' record with fingerprints (got "
        f"'edited' as the fingerprint of {key}); it was not written by "
        'mmadaptformer, or was changed since.'), str(err.value)
