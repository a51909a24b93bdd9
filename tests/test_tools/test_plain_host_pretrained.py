# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``tools/train.py --pretrained FILE`` on a plain backbone (no wrapper)
that loads its own weights, and the advice its refusals give.

* TimeSformer takes no ``init_cfg``: ``--pretrained`` set one, and the run
  was refused for a key the user never wrote. A file of its own keys now
  becomes its ``pretrained``; a whole model's checkpoint is refused
  naming ``--pretrained`` and ``load_from``, which loads it.
* UniFormer runs its ``init_cfg`` only with ``pretrained2d=False`` (its
  default is True): ``--pretrained`` trained it from random weights.
* UniFormer with ``pretrained2d=True`` reads a name of mmaction2's
  ``_MODELS``, never a file: the advice said ``pretrained=FILE``, our
  check refused the name, and a file failed with a ``KeyError`` after the
  work dir was made.
"""
import os.path as osp

import torch
from mmengine.config import Config
from plain_hosts import TIMESFORMER, probe_config, save_host
from refusal_lines import refused_line
from tiny_uniformer import UNIFORMER_HOST, save_uniformer_checkpoint
from tool_runners import run_tool

from mmadaptformer.models import own_loading_hint_of_cfg
from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils.checkpoint_loading import safe_torch_load


def _train(tmp_path, config: str, *args) -> object:
    return run_tool(['train.py', config, '--work-dir', tmp_path / 'w', *args],
                    cwd=tmp_path,
                    check=False)


def _assert_trained_from(tmp_path, proc, stock: dict) -> None:
    """The run trained, its frozen backbone the file's (TimeSformer copies
    its spatial attention into the temporal one)."""
    assert proc.returncode == 0, proc.stdout[-3000:]
    state = safe_torch_load(
        osp.join(tmp_path, 'w', 'epoch_1.pth'),
        map_location='cpu')['state_dict']
    compared = [key for key in stock if 'attentions.1' not in key]
    assert compared
    for key in compared:
        assert torch.equal(state[f'backbone.{key}'], stock[key]), key


def test_pretrained_flag_gives_a_plain_timesformer_its_own_file(
        tmp_path, tiny_video_data):
    path = str(tmp_path / 'host.pth')
    stock = save_host(TIMESFORMER, path)
    config = probe_config(tmp_path, tiny_video_data, TIMESFORMER)
    proc = _train(tmp_path, config, '--pretrained', path)
    assert f'--pretrained: model.backbone.pretrained = {path}' in \
        proc.stdout, proc.stdout[-3000:]
    _assert_trained_from(tmp_path, proc, stock)


def test_a_whole_model_for_a_plain_timesformer_names_the_flag_and_load_from(
        tmp_path, tiny_video_data):
    """Refused before the work dir, naming ``--pretrained``; following the
    advice (``load_from``) trains from the file."""
    path = str(tmp_path / 'recognizer.pth')
    stock = save_host(TIMESFORMER, path, prefix='backbone.')
    config = probe_config(tmp_path, tiny_video_data, TIMESFORMER)
    line = refused_line(
        _train(tmp_path, config, '--pretrained', path),
        no_dir=str(tmp_path / 'w'))
    assert line == (
        f"PretrainedFileError: --pretrained {path}: it is a whole model's "
        "checkpoint (its backbone's keys start with backbone.), but "
        'TimeSformer (model.backbone) takes no init_cfg: it reads its '
        'weights itself from model.backbone.pretrained, under their own '
        'names, with no prefix to strip. Give --pretrained a file of '
        "TimeSformer's own keys (bare or under 'state_dict'), or load the "
        'whole model, head included, with --cfg-options '
        f'load_from={path}.'), line
    proc = _train(tmp_path, config, '--cfg-options', f'load_from={path}')
    _assert_trained_from(tmp_path, proc, stock)


def test_own_weights_advice_for_a_plain_timesformer_works(
        tmp_path, tiny_video_data):
    """A whole model's checkpoint as a plain TimeSformer's ``pretrained``
    loads nothing: the refusal's advice was ``--pretrained``, which does
    not take it, and said TimeSformer inflates. Its advice now
    (``load_from`` in its place) trains from the file."""
    path = str(tmp_path / 'recognizer.pth')
    stock = save_host(TIMESFORMER, path, prefix='backbone.')
    config = probe_config(tmp_path, tiny_video_data,
                          dict(TIMESFORMER, pretrained=path))
    line = refused_line(_train(tmp_path, config), absent=['Epoch(train)'])
    assert ('(keys starting with backbone.) loads with load_from=FILE in '
            'its place (the head too)') in line, line
    assert 'the 2D ViT weights it converts' in line, line
    assert 'inflate' not in line, line
    proc = _train(tmp_path, config, '--cfg-options',
                  'model.backbone.pretrained=None', f'load_from={path}')
    _assert_trained_from(tmp_path, proc, stock)


def test_pretrained_flag_loads_a_plain_uniformer(tmp_path, tiny_video_data):
    """UniFormer's default ``pretrained2d=True`` skipped the ``init_cfg``
    that ``--pretrained`` set: it trained from random weights."""
    path = str(tmp_path / 'uniformer.pth')
    stock = save_uniformer_checkpoint(path)
    config = probe_config(tmp_path, tiny_video_data, UNIFORMER_HOST)
    proc = _train(tmp_path, config, '--pretrained', path)
    assert ('--pretrained: model.backbone.pretrained2d = False (UniFormer '
            'runs its init_cfg only then)') in proc.stdout, proc.stdout[-3000:]
    _assert_trained_from(tmp_path, proc, stock)


def test_uniformer_hint_names_what_its_2d_loading_reads():
    """The names the advice gives are the ones mmaction2's UniFormer reads
    with ``pretrained2d=True``; no file is offered there."""
    from mmaction.models.backbones.uniformer import _MODELS
    hint = own_loading_hint_of_cfg(dict(type='UniFormer'), 'model.backbone')
    assert 'pretrained=FILE' not in hint, hint
    assert 'model.backbone.pretrained2d=True' in hint, hint
    named = [name for name in _MODELS if repr(name) in hint]
    assert sorted(named) == sorted(_MODELS), hint


def test_following_the_uniformer_hint_passes_the_model_checks():
    """The advice's settings (a name, ``pretrained2d=True``) pass the
    checks ``tools/train.py`` makes before the Runner (which refused the
    name as a missing file), and the host reads the name from mmaction2's
    table (downloading it is not tried here)."""
    from mmaction.models.backbones.uniformer import _MODELS
    host = dict(
        UNIFORMER_HOST, pretrained2d=True, pretrained='uniformer_small_in1k')
    cfg = Config(
        dict(
            default_scope='mmaction',
            model=dict(
                type='Recognizer3D',
                backbone=host,
                cls_head=dict(
                    type='I3DHead',
                    in_channels=64,
                    num_classes=2,
                    average_clips='prob'))))
    check_model_config(cfg, 'cfg.py')
    assert _MODELS[host['pretrained']].startswith('https://')


def test_a_file_for_uniformers_2d_loading_is_refused_before_the_work_dir(
        tmp_path, tiny_video_data):
    """It failed with ``KeyError: FILE`` (a traceback) after the work dir
    was made."""
    path = str(tmp_path / 'uniformer.pth')
    save_uniformer_checkpoint(path)
    config = probe_config(
        tmp_path, tiny_video_data,
        dict(UNIFORMER_HOST, pretrained2d=True, pretrained=path))
    line = refused_line(_train(tmp_path, config), no_dir=str(tmp_path / 'w'))
    assert line.endswith(
        'model.backbone.pretrained: UniFormer with pretrained2d=True (given, '
        'or its default) reads model.backbone.pretrained as the name of the '
        "weights it downloads, one of 'uniformer_small_in1k', "
        f"'uniformer_base_in1k', not as a file, but got {path!r}. For a file "
        'of its own keys, set model.backbone.pretrained2d=False, or give the '
        'file with --pretrained.'), line


def test_uniformer_advice_followed_for_a_file_trains(tmp_path,
                                                     tiny_video_data):
    """Guards kept behaviour: the refusal's advice for a file of its own
    keys (``pretrained2d=False``) loads it."""
    path = str(tmp_path / 'uniformer.pth')
    stock = save_uniformer_checkpoint(path)
    torch.save({'state_dict': stock}, path)
    config = probe_config(
        tmp_path, tiny_video_data,
        dict(UNIFORMER_HOST, pretrained2d=False, pretrained=path))
    _assert_trained_from(tmp_path, _train(tmp_path, config), stock)


def test_a_pretrained_init_cfg_a_plain_uniformer_skips_is_refused(
        tmp_path, tiny_video_data):
    """UniFormer's ``init_weights()`` runs its ``init_cfg`` only with
    ``pretrained2d=False``: with its default, a ``Pretrained`` init_cfg
    written in the config trained from random weights. Refused before the
    work dir; the advice followed trains from the file."""
    path = str(tmp_path / 'uniformer.pth')
    stock = save_uniformer_checkpoint(path)
    init_cfg = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    config = probe_config(tmp_path, tiny_video_data,
                          dict(UNIFORMER_HOST, init_cfg=init_cfg))
    line = refused_line(_train(tmp_path, config), no_dir=str(tmp_path / 'w'))
    assert line.endswith(
        "mmaction2's UniFormer with pretrained2d=True (given, or its "
        'default) never runs its init_cfg: its init_weights() loads only '
        'what its own `pretrained` names, so the Pretrained file would not '
        'load and the frozen backbone would stay random; set '
        'model.backbone.pretrained2d=False (tools/train.py --pretrained '
        'does).'), line
    proc = _train(tmp_path, config, '--cfg-options',
                  'model.backbone.pretrained2d=False')
    _assert_trained_from(tmp_path, proc, stock)


def test_test_tool_takes_a_plain_timesformers_pretrained_flag(
        tmp_path, tiny_video_data):
    """``tools/test.py --pretrained`` gives the plain host the same file as
    training did: the adapter-only (head-only) checkpoint's record of the
    frozen backbone fits it. It was refused for the ``init_cfg`` it set."""
    path = str(tmp_path / 'host.pth')
    save_host(TIMESFORMER, path)
    config = probe_config(tmp_path, tiny_video_data, TIMESFORMER)
    proc = _train(tmp_path, config, '--pretrained', path, '--cfg-options',
                  'custom_hooks.0.adapter_only_checkpoint=True')
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc = run_tool([
        'test.py', config,
        osp.join(tmp_path, 'w', 'epoch_1.pth'), '--work-dir', tmp_path / 't',
        '--pretrained', path
    ],
                    cwd=tmp_path,
                    check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f'--pretrained: model.backbone.pretrained = {path}' in \
        proc.stdout, proc.stdout[-3000:]
    assert 'acc/top1: ' in proc.stdout, proc.stdout[-3000:]


def test_nested_weights_for_timesformer_get_advice_that_loads(
        tmp_path, tiny_video_data):
    """A file nesting TimeSformer's weights under ``'model'`` was told to
    go to ``model.backbone.pretrained``, which reads the top level or
    ``'state_dict'`` only and loaded nothing. The advice now is the one
    that loads; following it trains from the file."""
    path = str(tmp_path / 'nested.pth')
    stock = save_host(TIMESFORMER, path)
    torch.save({'model': stock}, path)
    config = probe_config(tmp_path, tiny_video_data, TIMESFORMER)
    line = refused_line(
        _train(tmp_path, config, '--pretrained', path),
        no_dir=str(tmp_path / 'w'))
    assert "nested under 'model'" in line, line
    assert 'pretrained=' not in line, line
    assert line.endswith('if the nested weights already are, save them as '
                         "{'state_dict': WEIGHTS}."), line
    torch.save({'state_dict': stock}, path)
    proc = _train(tmp_path, config, '--pretrained', path)
    _assert_trained_from(tmp_path, proc, stock)
