# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The checkpoint converters refuse their files swapped, or a config or
video given as a checkpoint, as command-line errors (exit status 2) before
anything is read, as tools/train.py, test.py and infer.py do.

Before, ``merge_adapters.py ADAPTERS.pth CONFIG OUT`` ended with
``NotAConfigFileError: ...`` and exit status 1, as if the run had failed,
and ``merge_adapters.py CONFIG CONFIG OUT`` (``extract_adapters.py`` and
``convert_official.py`` alike) loaded the config as a checkpoint and ended
with ``CheckpointLoadError: Checkpoint file ... is a config file, not a
checkpoint``, exit status 1.
"""
import pytest
import torch
from media_files import write_clip
from repo_paths import TINY_ADAPTFORMER_VIDEO_CONFIG
from tool_modules import load_tool, tool_refusal

EXTRACT = 'model_converters/extract_adapters.py'
MERGE = 'model_converters/merge_adapters.py'
CONVERT = 'model_converters/convert_official.py'
ORDER = ('the tools take the config first, then the checkpoint, then the '
         'inputs')


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """A small checkpoint and an mp4 clip."""
    root = tmp_path_factory.mktemp('converter_swapped')
    checkpoint = str(root / 'model.pth')
    torch.save(dict(state_dict=dict(w=torch.zeros(2)), meta={}), checkpoint)
    video = write_clip(str(root / 'clip.mp4'), num_frames=4)
    return dict(checkpoint=checkpoint, video=video, root=root)


@pytest.mark.parametrize('tool', [EXTRACT, MERGE])
def test_checkpoint_and_config_swapped(files, tool, capsys):
    out = files['root'] / 'out.pth'
    err = tool_refusal(
        load_tool(tool),
        [files['checkpoint'], TINY_ADAPTFORMER_VIDEO_CONFIG,
         str(out)], capsys)
    assert (f'error: The config {files["checkpoint"]} is not a config file: '
            ) in err, err
    assert 'it is a checkpoint (torch.save): ' + ORDER in err, err
    assert not out.exists()


@pytest.mark.parametrize('tool', [EXTRACT, MERGE])
@pytest.mark.parametrize('given, what', [
    ('config', 'a config file, not a checkpoint'),
    ('video', 'a video file (MP4/MOV), not a checkpoint'),
])
def test_adapter_tools_name_another_file_as_checkpoint(files, tool, given,
                                                       what, capsys):
    path = TINY_ADAPTFORMER_VIDEO_CONFIG if given == 'config' \
        else files['video']
    out = files['root'] / 'out.pth'
    for argv in ([TINY_ADAPTFORMER_VIDEO_CONFIG, path,
                  str(out)], [
                      TINY_ADAPTFORMER_VIDEO_CONFIG, files['checkpoint'],
                      str(out), '--pretrained', path
                  ]):
        err = tool_refusal(load_tool(tool), argv, capsys)
        assert f'{path}: it is {what}: {ORDER}' in err, err
        assert 'CheckpointLoadError' not in err, err
    assert not out.exists()


def test_convert_official_names_a_config_as_source(files, capsys):
    out = files['root'] / 'converted.pth'
    err = tool_refusal(
        load_tool(CONVERT), [TINY_ADAPTFORMER_VIDEO_CONFIG,
                             str(out)], capsys)
    assert (f'error: source checkpoint {TINY_ADAPTFORMER_VIDEO_CONFIG}: it is '
            'a config file, not a checkpoint') in err, err
    assert not out.exists()


@pytest.mark.parametrize('given', ['config', 'video'])
def test_convert_official_quotes_its_own_usage(files, given, capsys):
    """convert_official.py takes SRC DST and no config: a config or a video
    given as SRC was told "the tools take the config first, then the
    checkpoint ... (tools/infer.py CONFIG CHECKPOINT INPUT ...)", an order
    this tool does not have."""
    path = TINY_ADAPTFORMER_VIDEO_CONFIG if given == 'config' \
        else files['video']
    out = files['root'] / 'converted.pth'
    err = tool_refusal(load_tool(CONVERT), [path, str(out)], capsys)
    line = err.strip().splitlines()[-1]
    assert f'source checkpoint {path}: it is ' in line, err
    assert '(convert_official.py SRC DST [OPTIONS])' in line, err
    assert 'tools/infer.py' not in line and ORDER not in line, err
    assert not out.exists()
