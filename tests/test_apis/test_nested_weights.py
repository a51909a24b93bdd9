# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint whose whole state dict sits under one key (``{'model':
state_dict}``, as official releases save them) is named as such, with the
convert command, on every inference path: ``init_model``, ``tools/infer.py``,
``ModelInferencer``, MMEngine's ``load_checkpoint`` and mmaction2's
``init_recognizer`` (through ``check_whole_model_fits``). They called it
"a backbone checkpoint ... without its head" (or one without the model's
adapters), though the file holds the head and no weight is at its top
level; ``tools/train.py --pretrained`` and ``tools/test.py`` named it right.
"""
import os.path as osp

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     load_tool, save_as_built_checkpoint,
                     save_stock_video_checkpoint)
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmadaptformer.apis import ModelInferencer, init_model
from mmadaptformer.utils.state_dict_check import StateDictMismatchError

#: What every path says of the file (the words tools/test.py prints): its
#: tensors carry the model's own names, so the advice is to take them out,
#: not to convert them (which would rebuild the pos_embed for ViT-B's 224 px
#: and 8 frames and drop the head). (Around the number of tensors and the
#: first key, which differ by file.)
NESTED = ("does not fit the model: its weights are nested under 'model' (",
          "), named in MMAction2's and MMPretrain's own layout "
          "('backbone.patch_embed.projection.weight'), not as official "
          'training code or timm name them (a checkpoint of an MMAction2, '
          "MMPretrain or mmadaptformer model, saved under 'model'), where "
          "MMEngine does not look (it reads 'state_dict' or the top level): "
          'its tensors already carry '
          "the model's own names, so take them out as they are, converting "
          'nothing: tools/model_converters/convert_official.py SRC DST '
          '--key model --unwrap-only. Nothing of it was loaded.')
#: What the old code said instead (a file in the toolboxes' own names was
#: said to be saved as official training code and timm save theirs).
MISDIAGNOSES = ('backbone checkpoint', 'holds none', 'without its head',
                'timm save')


def _nest(full: str, path) -> str:
    """``full``'s state dict saved under ``'model'``, alone."""
    state = torch.load(full, map_location='cpu')['state_dict']
    torch.save({'model': state}, str(path))
    return str(path)


@pytest.fixture(scope='module')
def nested(tmp_path_factory):
    """Nested checkpoints of the stock tiny video recognizer (``'stock'``)
    and of the tiny AdaptFormer on it (``'adaptformer'``), each with its
    head: random weights."""
    root = tmp_path_factory.mktemp('nested_weights')
    save_stock_video_checkpoint(str(root / 'stock_full.pth'))
    adapter_full = save_as_built_checkpoint(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                            root / 'adaptformer_full.pth')
    return dict(
        stock=_nest(str(root / 'stock_full.pth'), root / 'stock.pth'),
        adaptformer=_nest(adapter_full, root / 'adaptformer.pth'))


CASES = [('stock', TINY_VIDEO_CONFIG),
         ('adaptformer', TINY_ADAPTFORMER_VIDEO_CONFIG)]


def _assert_named(message: str, file: str) -> None:
    assert f'{file}' in message, message
    assert all(part in message for part in NESTED), message
    for wrong in MISDIAGNOSES:
        assert wrong not in message, message


@pytest.mark.parametrize('kind,config', CASES)
def test_init_model_names_the_nesting(nested, kind, config):
    with pytest.raises(StateDictMismatchError) as info:
        init_model(config, nested[kind])
    _assert_named(str(info.value), nested[kind])


@pytest.mark.parametrize('kind,config', CASES)
def test_model_inferencer_names_the_nesting(nested, kind, config):
    with pytest.raises(StateDictMismatchError) as info:
        ModelInferencer(config, nested[kind])
    _assert_named(str(info.value), nested[kind])


@pytest.mark.parametrize('kind,config', CASES)
def test_mmengine_load_checkpoint_names_the_nesting(nested, kind, config):
    """MMEngine's public ``load_checkpoint`` (behind mmpretrain's
    ``get_model`` and Inferencers), into the model as the config builds
    it."""
    from mmengine.runner import load_checkpoint
    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(config).model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(StateDictMismatchError) as info:
        load_checkpoint(model, nested[kind], map_location='cpu')
    _assert_named(str(info.value), 'The checkpoint')
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize('kind,config', CASES)
def test_mmaction2_init_recognizer_names_the_nesting(nested, kind, config):
    from mmaction.apis import init_recognizer
    with pytest.raises(StateDictMismatchError) as info:
        init_recognizer(config, nested[kind], device='cpu')
    _assert_named(str(info.value), 'The checkpoint')


def test_tools_infer_names_the_nesting(nested, video_files, capsys,
                                       clean_loggers):
    """``python tools/infer.py configs/tiny/tiny_vit_video.py nested.pth
    VIDEO``, the audit's reproduction."""
    video = osp.join(video_files['videos'], video_files['good'][0])
    capsys.readouterr()
    code = load_tool('infer.py').main(
        [TINY_VIDEO_CONFIG, nested['stock'], video])
    printed = capsys.readouterr()
    assert code == 1
    _assert_named(printed.out + printed.err, nested['stock'])
