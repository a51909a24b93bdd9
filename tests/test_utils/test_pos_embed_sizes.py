# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A checkpoint whose ``pos_embed`` alone differs names the real sizes.

Before, the refusal suggested ``convert_official.py SRC DST --num-frames N
--img-size S``: a placeholder the user had to work out, from a config the
message did not show. Now it says how many position tokens the file and the
model hold, the input the model is built for (read from the model that
every caller hands over: its Conv3d patch embedding and grid) and the input
the file was made for, and the converter command carries the model's
numbers; a module that does not show its sizes gets them in words.
"""
import re
import shlex

import pytest
import torch
from checkpoint_makers import save_stock_video_checkpoint
from config_writers import video_data_cfg, write_config
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from repo_paths import (REPO_ROOT, TINY_ADAPTFORMER_VIDEO_CONFIG,
                        TINY_VIDEO_CONFIG)
from tool_runners import run_tool
from torch import nn

from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  check_state_dict)

COMMAND = re.compile(r'(python tools/model_converters/convert_official\.py '
                     r'[^(]*)\(')


def _stock_backbone(**sizes):
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_VIDEO_CONFIG).model.backbone
    cfg.update(sizes)
    return MODELS.build(cfg)


def _refusal(model, state_dict) -> str:
    with pytest.raises(StateDictMismatchError) as info:
        check_state_dict(model, state_dict, source='other.pth')
    return str(info.value)


def _save_frames8(path, backbone_only=False):
    """A stock tiny recognizer's checkpoint made for 8 frames (the tiny
    configs take 4)."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_VIDEO_CONFIG).model
    cfg.backbone.num_frames = 8
    state = MODELS.build(cfg).state_dict()
    if backbone_only:
        state = {k: v for k, v in state.items() if k.startswith('backbone.')}
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def test_test_tool_names_the_models_and_the_files_sizes(
        tmp_path, tiny_video_data):
    config = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                          video_data_cfg(tiny_video_data))
    checkpoint = _save_frames8(tmp_path / 'frames8.pth')
    proc = run_tool(
        ['test.py', config, checkpoint, '--work-dir', tmp_path / 'w'],
        cwd=tmp_path,
        check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'Traceback' not in proc.stdout
    assert ('backbone.pos_embed holds 16 position tokens in the checkpoint '
            '(num_frames=8, img_size=32 with the same patch and tubelet '
            'sizes) and 8 in the model, which is built for num_frames=4, '
            'img_size=32 (patch size 16, tubelet size 2)') in proc.stdout
    # The file given and one beside it, so that the command runs as it is.
    assert (f'convert_official.py {checkpoint} {tmp_path}/'
            'frames8_4frames_32px.pth --num-frames 4 --img-size 32 '
            in proc.stdout)
    # A full model's file: the converter keeps its backbone alone.
    assert 'it keeps the backbone alone, not the head' in proc.stdout


def test_the_suggested_command_makes_a_pretrained_file_fit(tmp_path):
    """The command of an AdaptFormer's ``init_cfg`` refusal (the path of
    ``--pretrained``), run as given, writes a file that loads."""
    from mmadaptformer.models import AdaptFormer  # noqa: F401 (registers)
    src = _save_frames8(tmp_path / 'frames8.pth', backbone_only=True)
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model.backbone
    cfg.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=src, prefix='backbone.')
    with pytest.raises(StateDictMismatchError) as info:
        MODELS.build(cfg).init_weights()
    message = str(info.value)
    assert 'not the head' not in message
    command = COMMAND.search(message).group(1)
    dst = str(tmp_path / 'frames8_4frames_32px.pth')
    assert command == (f'python tools/model_converters/convert_official.py '
                       f'{src} {dst} --num-frames 4 --img-size 32 ')
    # Run as printed, from the repository's root (where the command's
    # tools/ path is): it names the real files, not SRC DST.
    args = shlex.split(command)
    assert args[:2] == ['python', 'tools/model_converters/convert_official.py']
    run_tool(args[1].split('/', 1)[1:] + args[2:], cwd=REPO_ROOT)
    cfg.backbone.init_cfg.checkpoint = dst
    MODELS.build(cfg).init_weights()


def test_a_model_zoo_file_of_16_frames_of_224():
    """MMAction2's model-zoo VideoMAE files hold 16 frames of 224x224; the
    recipes build 8."""
    model = _stock_backbone(img_size=224, num_frames=8, depth=1)
    state = _stock_backbone(img_size=224, num_frames=16, depth=1).state_dict()
    message = _refusal(model, state)
    assert ('pos_embed holds 1568 position tokens in the checkpoint '
            '(num_frames=16, img_size=224 ') in message
    assert 'and 784 in the model, which is built for num_frames=8, ' \
        'img_size=224 (patch size 16, tubelet size 2)' in message
    assert 'SRC DST --num-frames 8 --img-size 224 (' in message


def test_a_file_of_another_frame_size():
    model = _stock_backbone()
    message = _refusal(model, _stock_backbone(img_size=48).state_dict())
    assert ('holds 18 position tokens in the checkpoint (num_frames=4, '
            'img_size=48 with the same patch and tubelet sizes)') in message
    assert '--num-frames 4 --img-size 32 (' in message


def test_tokens_of_no_input_of_the_models_patches_are_counted_only():
    model = _stock_backbone()
    state = model.state_dict()
    state['pos_embed'] = torch.zeros(1, 7, state['pos_embed'].shape[-1])
    message = _refusal(model, state)
    assert 'holds 7 position tokens in the checkpoint and 8 in the model, ' \
        'which is built for num_frames=4, img_size=32' in message
    assert 'Rebuild the table for this model: ' in message
    assert "checkpoint's input" not in message


def test_a_trained_adaptformer_model_is_not_sent_to_the_converter():
    """A whole AdaptFormer model of 8 frames (adapters and head) into the
    4-frame one: the converter refuses trained adapters, so the refusal
    points at the model's sizes alone."""
    from mmadaptformer.models import AdaptFormer  # noqa: F401 (registers)
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG).model
    model = MODELS.build(cfg)
    cfg.backbone.backbone.num_frames = 8
    message = _refusal(model, MODELS.build(cfg).state_dict())
    assert ('backbone.pos_embed holds 16 position tokens in the checkpoint '
            '(num_frames=8, img_size=32 with the same patch and tubelet '
            'sizes) and 8 in the model, which is built for num_frames=4, '
            'img_size=32 (patch size 16, tubelet size 2). It holds this '
            "package's trained adapters, which tools/model_converters/"
            'convert_official.py does not take: build the model for the '
            'input it was trained on.') in message
    assert 'SRC DST' not in message


class TokenTable(nn.Module):
    """A module with a position embedding and no sizes to read."""

    def __init__(self, tokens: int):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, 4))


def test_a_module_without_its_sizes_is_told_them_in_words():
    message = _refusal(TokenTable(8), TokenTable(16).state_dict())
    assert ('pos_embed holds 16 position tokens in the checkpoint and 8 in '
            'the model') in message
    assert ("passing as --num-frames and --img-size the backbone's "
            "num_frames and img_size from the model's config") in message
    assert ' N ' not in message and ' S ' not in message


def test_init_model_names_the_sizes(tmp_path):
    """``init_model`` (the Inferencers' path) gets the same numbers."""
    from mmadaptformer.apis import init_model
    checkpoint = _save_frames8(tmp_path / 'frames8.pth')
    with pytest.raises(StateDictMismatchError) as info:
        init_model(TINY_VIDEO_CONFIG, checkpoint)
    assert (f'convert_official.py {checkpoint} {tmp_path}/frames8_4frames_'
            '32px.pth --num-frames 4 --img-size 32 (') in str(info.value)


def test_stock_checkpoint_still_loads_smoke(tmp_path):
    """Guard of kept behaviour: a file of the model's own sizes loads."""
    from mmadaptformer.apis import init_model
    path = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(path)
    init_model(TINY_VIDEO_CONFIG, path)


# A file whose token count fits more than one input: each is named. Before,
# a file of another frame size was read as one of other frames whenever its
# token count allowed it (4x64 on the 4x32 tiny model: "num_frames=16,
# img_size=32"; 8x224 on 8x112: "num_frames=32, img_size=112").
def test_a_file_of_another_frame_size_is_named_as_one():
    model = _stock_backbone()  # 4 frames of 32 px: 8 tokens
    message = _refusal(model, _stock_backbone(img_size=64).state_dict())
    assert ('holds 32 position tokens in the checkpoint (num_frames=16, '
            'img_size=32 or num_frames=4, img_size=64 with the same patch '
            'and tubelet sizes)') in message
    assert '--num-frames 4 --img-size 32 (' in message


def test_a_224px_file_on_a_112px_model_of_as_many_frames():
    model = _stock_backbone(img_size=112, num_frames=8, depth=1)
    state = _stock_backbone(img_size=224, num_frames=8, depth=1).state_dict()
    message = _refusal(model, state)
    assert ('holds 784 position tokens in the checkpoint (num_frames=32, '
            'img_size=112 or num_frames=8, img_size=224 ') in message
    assert 'SRC DST --num-frames 8 --img-size 112 (' in message


def test_a_file_converted_with_the_defaults_on_a_model_of_other_both():
    """784 tokens on the 4-frame 32 px model: the converter's default
    8x224 (which differs in frames and size) is named, beside the reading
    of the model's frame size."""
    model = _stock_backbone()
    state = _stock_backbone(img_size=224, num_frames=8, depth=1).state_dict()
    state = {k: v for k, v in state.items() if not k.startswith('blocks.')}
    state.update({
        k: v
        for k, v in model.state_dict().items() if k.startswith('blocks.')
    })
    message = _refusal(model, state)
    assert ('holds 784 position tokens in the checkpoint (num_frames=392, '
            'img_size=32 or num_frames=8, img_size=224 with the same patch '
            'and tubelet sizes)') in message
