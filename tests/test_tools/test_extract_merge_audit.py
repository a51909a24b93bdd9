# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Behaviour of extract_adapters.py / merge_adapters.py and the adapter-only
checkpoint code they call that no other test pinned down.

Guards of kept behaviour (mutation audit of 2026-12-06, helper J): the
code passes; the plausible bug each docstring names fails it, and no other
test of the tools failed on it."""
import argparse
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from refusal_lines import refused_line
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_modules import load_tool
from tool_runners import run_tool

from mmadaptformer.engine.adapter_checkpoint import HOST_SOURCES_META_KEY
from mmadaptformer.utils.pretrained_backbone import config_backbone_file

EXTRACT = 'model_converters/extract_adapters.py'


def _reference(meta, cfg=None):
    tool = load_tool(EXTRACT)
    args = argparse.Namespace(
        pretrained=None, config=TINY_ADAPTFORMER_VIDEO_CONFIG)
    return tool.reference_backbone(
        args, meta, cfg or Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG))


def test_an_empty_state_dict_is_named_empty(tmp_path):
    """Dropping the emptiness check (``or not state``) named an empty state
    dict as a head-less one."""
    empty = tmp_path / 'empty.pth'
    torch.save(dict(state_dict={}, meta={}), empty)
    proc = run_tool(
        [EXTRACT, TINY_ADAPTFORMER_VIDEO_CONFIG, empty, tmp_path / 'o.pth'],
        cwd=tmp_path,
        check=False)
    assert refused_line(proc) == (
        f"StateDictMismatchError: {empty}: its 'state_dict' is empty, not a "
        'state dict of tensors. Expected a full checkpoint: a dict with a '
        "'state_dict' of tensors (and optionally a 'meta' dict), as "
        'tools/train.py saves it, or a bare state dict.')
    assert not (tmp_path / 'o.pth').exists()


def test_a_recorded_address_is_compared_with():
    """A merged checkpoint whose backbone came from an address records the
    address; ``osp.isfile(source)`` alone (without ``not is_local``) took
    it for a file that is not there and fell back to the config's."""
    address = 'https://127.0.0.1:9/stock.pth'
    meta = {HOST_SOURCES_META_KEY: {'backbone': address}}
    assert _reference(meta) == (address, None, False)


def test_the_last_pretrained_entry_is_the_configs_backbone(tmp_path):
    """Training loads an ``init_cfg`` list in order, so the last
    ``Pretrained`` entry's weights stay; ``named[0]`` compared with the
    first."""
    first, last = tmp_path / 'first.pth', tmp_path / 'last.pth'
    for path in (first, last):
        path.write_bytes(b'')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.model.backbone.backbone.init_cfg = [
        dict(type='Pretrained', checkpoint=str(first)),
        dict(type='Normal', layer='Linear'),
        dict(type='Pretrained', checkpoint=str(last)),
    ]
    assert config_backbone_file(cfg, 'c.py') == (str(last), '')
    assert _reference({}, cfg) == (str(last), None, True)


@pytest.mark.parametrize('entry', ['init_cfg', 'pretrained'])
def test_a_wrappers_host_backbone_is_read(tmp_path, entry):
    """The wrapper's host (``model.backbone.backbone``) holds the
    pretrained file; without descending to it (``host = host.backbone``)
    nothing was found; its own ``pretrained`` counts where no ``init_cfg``
    names one."""
    stock = tmp_path / 'stock.pth'
    stock.write_bytes(b'')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    host = cfg.model.backbone.backbone
    host.init_cfg = dict(type='Pretrained', checkpoint=str(stock)) \
        if entry == 'init_cfg' else None
    if entry == 'pretrained':
        host.pretrained = str(stock)
    assert config_backbone_file(cfg, 'c.py') == (str(stock), '')


def test_a_fingerprint_is_the_documented_numbers():
    """Fingerprints are written into adapter-only checkpoints and compared
    with ones computed later, so their numbers must not change: the shape,
    the dtype, the sum of the bits and the sum weighted by ``(i mod M) +
    1`` (``M`` = 65521). Weights from 0 (one row or the tail) or dropping
    the full rows' weighted sum still tell most tensors apart, yet refuse
    every checkpoint written before; no test fixed the numbers."""
    from mmadaptformer.utils.fingerprint import tensor_fingerprint
    numel = 65521 * 2 + 7
    tensor = torch.arange(numel, dtype=torch.int32).reshape(-1, 1)
    total = sum(range(numel))
    weighted = sum((i % 65521 + 1) * i for i in range(numel))
    assert tensor_fingerprint(tensor) == ((numel, 1), 'int32', total, weighted)


def test_a_digest_covers_the_names():
    """Two records of the same tensors under other names (another
    backbone's layout) have other digests; without the names in it they
    had one."""
    from mmadaptformer.utils.fingerprint import digest, state_fingerprints
    tensors = [torch.zeros(2), torch.ones(2)]
    first = state_fingerprints(zip(['a', 'b'], tensors))
    renamed = state_fingerprints(zip(['a2', 'b2'], tensors))
    assert digest(first) != digest(renamed)
    assert digest(first) == digest(dict(reversed(list(first.items()))))


@pytest.fixture(scope='module')
def task(tmp_path_factory):
    """A full checkpoint of the tiny AdaptFormer video task (random
    adapters and head) and its backbone alone, without the adapters."""
    from adapter_tasks import random_task_checkpoints
    root = tmp_path_factory.mktemp('audit_task')
    full = random_task_checkpoints(TINY_ADAPTFORMER_VIDEO_CONFIG, 'mmaction',
                                   str(root), (1, ))[0]
    state = torch.load(full, weights_only=True)['state_dict']
    stock = str(root / 'stock.pth')
    torch.save(
        dict(
            state_dict={
                k: v
                for k, v in state.items()
                if k.startswith('backbone.') and '.adaptmlp.' not in k
            }), stock)
    return dict(full=full, stock=stock, state=state)


def _edited(task, path, edit) -> str:
    state = dict(task['state'])
    edit(state)
    torch.save(dict(state_dict=state, meta={}), path)
    return str(path)


def test_one_trained_frozen_tensor_is_refused(task, tmp_path):
    """A single frozen tensor that differs from the backbone (trained, e.g.
    one norm) is refused as several are; ``if len(differ) > 1`` dropped it
    from the adapter-only output without a word."""
    key = 'backbone.blocks.1.norm2.weight'

    def train_one(state):
        state[key] = state[key] + 1

    full = _edited(task, tmp_path / 'one.pth', train_one)
    out = tmp_path / 'o.pth'
    proc = run_tool([
        EXTRACT, TINY_ADAPTFORMER_VIDEO_CONFIG, full, out, '--pretrained',
        task['stock']
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 2, proc.stdout[-2000:]
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith('extract_adapters.py: error: 1 of the '), line
    assert f'leaves frozen differ from the pretrained backbone ' \
        f'{task["stock"]} in {full} ({key}):' in line, line
    assert r"extra_trainable=[r'^backbone\.blocks\.1\.norm2\.']" in line
    assert not out.exists()


def test_a_full_checkpoint_with_some_adapters_is_not_one_without_any(
        task, tmp_path):
    """A checkpoint that lacks one of the adapters' tensors holds adapters
    of other settings; ``all`` for ``any`` in
    ``refuse_without_trained_part`` called it a checkpoint without
    adapters (a stock model's)."""
    key = 'backbone.blocks.0.adaptmlp.down_proj.weight'
    full = _edited(task, tmp_path / 'part.pth', lambda s: s.pop(key))
    proc = run_tool(
        [EXTRACT, TINY_ADAPTFORMER_VIDEO_CONFIG, full, tmp_path / 'o.pth'],
        cwd=tmp_path,
        check=False)
    line = refused_line(proc)
    assert line.startswith(
        f'StateDictMismatchError: The state dict of {full} (config '
        f'{TINY_ADAPTFORMER_VIDEO_CONFIG}) holds adapter tensors that do not '
        'fit this model\'s adapters'), line
    assert f'Missing (1 of 8): {key}.' in line, line


def test_the_adapter_record_is_as_documented():
    """The record ``make_adapter_checkpoint`` writes (module docstring of
    ``adapter_checkpoint.adapter_only``): format 1, the plan's mode, how
    many frozen tensors the digest covers and the saved keys, sorted; the
    state dict holds those and the wrapper's fingerprints. A count of the
    saved keys as ``frozen_keys``, or a fixed mode, went unnoticed."""
    from adapter_only_files import built_with_adapter_only

    from mmadaptformer.engine import ADAPTER_META_KEY
    from mmadaptformer.models import FROZEN_HOST_KEY
    from mmadaptformer.utils.fingerprint import digest, state_fingerprints
    model, plan, checkpoint = built_with_adapter_only(
        TINY_ADAPTFORMER_VIDEO_CONFIG)
    frozen = set(plan.frozen_keys)
    fingerprints = state_fingerprints(
        (k, v) for k, v in model.state_dict().items() if k in frozen)
    assert len(plan.frozen_keys) != len(plan.saved_keys)
    assert checkpoint['meta'][ADAPTER_META_KEY] == dict(
        version=1,
        mode=plan.mode,
        frozen_digest=digest(fingerprints),
        frozen_keys=len(plan.frozen_keys),
        saved_keys=sorted(plan.saved_keys))
    assert sorted(checkpoint['state_dict']) == sorted(
        list(plan.saved_keys) + ['backbone.' + FROZEN_HOST_KEY])


def test_only_loaded_hosts_are_named_as_sources():
    """A wrapper whose host weights were not loaded from a file has no
    source; listing it as None would record ``None`` in a merged file's
    meta."""
    from adapter_only_files import built_with_adapter_only

    from mmadaptformer.engine.adapter_checkpoint import frozen_host_sources
    model, _, _ = built_with_adapter_only(TINY_ADAPTFORMER_VIDEO_CONFIG)
    assert model.backbone.host_source is None
    assert frozen_host_sources(model) == {}
    model.backbone.host_source = 'stock.pth'
    # As read: the full path (see test_tilde_paths_R.py).
    assert frozen_host_sources(model) == {'backbone': osp.abspath('stock.pth')}


def test_merge_says_a_full_checkpoint_needs_no_merging(task, tmp_path):
    """Without the check of the record (``ADAPTER_META_KEY not in
    meta``), a full checkpoint given to merge_adapters.py ended in a
    ``KeyError`` of the meta instead of saying what it is."""
    out = tmp_path / 'o.pth'
    proc = run_tool([
        'model_converters/merge_adapters.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        task['full'], out
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc) == (
        f"Error: {task['full']} is not an adapter-only checkpoint (its meta "
        "has no 'adapter_checkpoint'); it needs no merging.")
    assert not out.exists()


def test_merge_names_an_adapter_record_without_a_state_dict(tmp_path):
    """A file with the adapter record but no ``'state_dict'`` was read as a
    bare state dict (``adapter_only`` ignored), and refused for holding a
    ``'meta'`` that is no tensor."""
    from mmadaptformer.engine import ADAPTER_META_KEY
    record = dict(saved_keys=[], frozen_digest='0' * 64)
    path = tmp_path / 'record_only.pth'
    torch.save({'meta': {ADAPTER_META_KEY: record}}, path)
    proc = run_tool([
        'model_converters/merge_adapters.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        path, tmp_path / 'o.pth'
    ],
                    cwd=tmp_path,
                    check=False)
    assert refused_line(proc) == (
        f"StateDictMismatchError: {path}: it has no 'state_dict'. Expected "
        "an adapter-only checkpoint: a dict with a 'meta' dict and a "
        "'state_dict' of tensors, as extract_adapters.py or training with "
        'AdapterHook writes it.')


def test_merge_says_what_it_would_write_without_the_head(tmp_path):
    """An adapter-only file whose head was removed from its state dict and
    its record: merge_adapters.py says the file it would write would hold
    a head at its initialisation, not what "a model loading it" would do
    (``purpose='load'`` for ``'write'``). Given the backbone its adapters
    were built on: on another one the frozen backbone is refused first."""
    from adapter_only_files import built_with_adapter_only

    from mmadaptformer.engine import ADAPTER_META_KEY
    model, _, checkpoint = built_with_adapter_only(
        TINY_ADAPTFORMER_VIDEO_CONFIG)
    stock = tmp_path / 'stock.pth'
    torch.save(
        dict(
            state_dict={
                k: v
                for k, v in model.state_dict().items()
                if k.startswith('backbone.') and '.adaptmlp.' not in k
            }), stock)
    record = checkpoint['meta'][ADAPTER_META_KEY]
    record['saved_keys'] = [
        k for k in record['saved_keys'] if not k.startswith('cls_head.')
    ]
    for key in [k for k in checkpoint['state_dict'] if k.startswith('cls_')]:
        del checkpoint['state_dict'][key]
    path = tmp_path / 'headless.pth'
    torch.save(checkpoint, path)
    out = tmp_path / 'o.pth'
    proc = run_tool([
        'model_converters/merge_adapters.py', TINY_ADAPTFORMER_VIDEO_CONFIG,
        path, out, '--pretrained', stock
    ],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc)
    assert line.startswith(f'StateDictMismatchError: {path}: Adapter-only '
                           'checkpoint holds its adapters but none'), line
    assert 'the file written would hold a head at its initialisation' in line
    assert not out.exists()
