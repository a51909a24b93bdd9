# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A plain backbone that reads its own weights (TimeSformer's
``pretrained``) from a file of another input size, under AdapterHook: the
``pos_embed`` of another shape was skipped with MMEngine's warning only and,
frozen by the hook, stayed random for the whole run. Now refused at
``before_train`` like a wrapped host's; a parameter that trains
(``extra_trainable``) learns from its initialisation, as in MMEngine."""
import pytest
import torch
from mmengine.registry import MODELS, init_default_scope
from plain_hosts import TIMESFORMER

from mmadaptformer.engine import OwnWeightsLoads
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _loaded(path, frozen):
    """TimeSformer at img_size 48 given the file, initialised while
    OwnWeightsLoads records, its parameters in ``frozen`` frozen."""
    model = MODELS.build(dict(TIMESFORMER, img_size=48, pretrained=path))
    for name, param in model.named_parameters():
        param.requires_grad_(name not in frozen)
    loads = OwnWeightsLoads(model)
    model.init_weights()
    return loads


def test_a_frozen_tensor_of_another_shape_is_refused(tmp_path):
    init_default_scope('mmaction')
    torch.manual_seed(0)
    source = MODELS.build(TIMESFORMER)  # img_size 32
    path = str(tmp_path / 'host.pth')
    torch.save({'state_dict': source.state_dict()}, path)

    everything_but_pos_embed = {
        name
        for name, _ in source.named_parameters() if name != 'pos_embed'
    }
    _loaded(path, everything_but_pos_embed).check()  # it trains: stock

    loads = _loaded(path, {'pos_embed'})
    with pytest.raises(StateDictMismatchError) as info:
        loads.check()
    message = str(info.value)
    assert message.startswith(
        f'TimeSformer loaded {path} (model.pretrained) itself, '
        'non-strictly: 1 of its tensors has another shape'), message
    assert '\n  pos_embed: (1, 5, 64) vs (1, 10, 64)\n' in message, message


def test_the_runners_load_from_is_not_taken_for_the_hosts_own(tmp_path):
    """The recording spans the Runner's load_from after the host's own
    load: a recognizer checkpoint of another img_size given as load_from
    (its pos_embed skipped, the host's own value kept) was refused as the
    host's own file leaving pos_embed random, naming a file that fits.
    And the reverse: a tensor the host's own file skipped that load_from
    gives is not random."""
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from repo_paths import TINY_VIDEO_CONFIG
    init_default_scope('mmaction')

    def recognizer(img_size, **host):
        cfg = Config.fromfile(TINY_VIDEO_CONFIG).model
        cfg.backbone = dict(TIMESFORMER, img_size=img_size, **host)
        cfg.cls_head.in_channels = 64
        return MODELS.build(cfg)

    files = {}
    for size in (32, 48):
        torch.manual_seed(size)
        model = recognizer(size)
        model.init_weights()
        files[size] = str(tmp_path / f'recognizer{size}.pth')
        torch.save({'state_dict': model.state_dict()}, files[size])
        torch.save({'state_dict': model.backbone.state_dict()},
                   str(tmp_path / f'host{size}.pth'))
    for own, load_from in ((32, 48), (48, 32)):
        model = recognizer(32, pretrained=str(tmp_path / f'host{own}.pth'))
        loads = OwnWeightsLoads(model)  # AdapterHook.before_run
        model.init_weights()
        load_checkpoint(model, files[load_from], logger='silent')
        model.backbone.requires_grad_(False)  # frozen by the hook
        loads.check()  # AdapterHook.before_train: not refused
        assert torch.equal(
            model.backbone.pos_embed,
            torch.load(str(tmp_path /
                           'host32.pth'))['state_dict']['pos_embed'])
