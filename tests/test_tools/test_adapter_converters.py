# Copyright (c) mmadaptformer contributors. All rights reserved.
"""extract_adapters.py and merge_adapters.py name what is wrong with the
checkpoint they are given, and write nothing then."""
import argparse
import os.path as osp
import re

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool, run_tool,
                     write_config)
from mmengine.config import Config
from refusal_lines import refused_line

from mmadaptformer.models import FROZEN_HOST_KEY, FrozenBackboneMismatchError
from mmadaptformer.utils import safe_torch_load
from mmadaptformer.utils.state_dict_check import StateDictMismatchError


def _inner(tool, name):
    """The tool's work under its ``main``, raising the package's errors
    that ``main`` turns into a one-line exit."""
    module = load_tool(tool)
    return lambda argv: getattr(module, name)(module.parse_args(argv))


@pytest.fixture(scope='module')
def extract():
    return _inner('model_converters/extract_adapters.py', 'extract')


@pytest.fixture(scope='module')
def merge():
    return _inner('model_converters/merge_adapters.py', 'merge')


def test_extract_names_an_adapter_only_or_foreign_checkpoint(
        extract, merge, video_tasks, tmp_path, capsys, clean_loggers):
    task = video_tasks['full']
    out = tmp_path / 'out.pth'
    # Already adapter-only: said so, not "frozen tensors differ".
    with pytest.raises(
            SystemExit,
            match='already an adapter-only checkpoint'
            '.*merge_adapters.py'):
        extract([task['config'], task['checkpoint'], str(out)])
    # The stock backbone has no adapters: the file and the keys are named.
    with pytest.raises(StateDictMismatchError) as err:
        extract([task['config'], video_tasks['stock'], str(out)])
    text = str(err.value)
    assert text.startswith(video_tasks['stock']), text
    assert 'adaptmlp' in text and 'full checkpoint of this config' in text
    assert not osp.exists(out)
    # Merged, it extracts back to the same trainable tensors.
    merged = str(tmp_path / 'merged.pth')
    capsys.readouterr()
    merge([task['config'], task['checkpoint'], merged])
    # Not MMEngine's report of every tensor's initialisation.
    printed = capsys.readouterr()
    assert 'torch.Size' not in printed.out + printed.err
    written = safe_torch_load(merged)['state_dict']
    tensors = [k for k, v in written.items() if torch.is_tensor(v)]
    # And the record of the adapters' settings, which is none.
    assert set(written) - set(tensors) == {'backbone.' + FROZEN_HOST_KEY}
    assert f'Wrote {merged}: {len(tensors)} tensors' in printed.out
    extract([task['config'], merged, str(out)])
    assert osp.exists(out)
    # Each file names its source by base name, not a local folder (guard
    # of kept behaviour, as convert_official.py's converted_from).
    assert safe_torch_load(merged)['meta']['merged_from'] == \
        osp.basename(task['checkpoint']) != task['checkpoint']
    assert safe_torch_load(out)['meta']['extracted_from'] == 'merged.pth'
    # With other settings: its adapters would be recorded with settings
    # they never ran with. The merged file's record refuses them.
    other = tmp_path / 'other_scale.pth'
    with pytest.raises(
            StateDictMismatchError,
            match=re.escape('scale (model.backbone.adapter.scale): '
                            'checkpoint 0.1, this model 1.0.')):
        extract([
            task['config'], merged,
            str(other), '--cfg-options', 'model.backbone.adapter.scale=1.0'
        ])
    assert not osp.exists(other)


def test_adapters_extracted_from_a_merged_file_name_their_backbone(
        extract, merge, video_tasks, tmp_path, clean_loggers):
    """They recorded "trained on state dict", which then stood in the error
    of a load onto another backbone."""
    task = video_tasks['full']
    other = osp.join(video_tasks['root'], 'other.pth')
    merged = str(tmp_path / 'merged.pth')
    merge([task['config'], task['checkpoint'], merged])
    adapters = str(tmp_path / 'adapters.pth')
    extract([task['config'], merged, adapters])
    with pytest.raises(FrozenBackboneMismatchError) as err:
        merge([
            task['config'], adapters,
            str(tmp_path / 'wrong.pth'), '--pretrained', other
        ])
    text = str(err.value)
    assert f'now {other}.' in text, text
    # The pretrained file the merge verified, kept in the merged meta.
    assert f'The adapters were trained on {video_tasks["stock"]}.' in text
    assert 'state dict' not in text

    # A merged file without that record: the backbone its config names,
    # which the frozen tensors were compared with, is named; with a config
    # that names none, the file itself.
    checkpoint = safe_torch_load(merged)
    del checkpoint['meta']['frozen_host_sources']
    torch.save(checkpoint, merged)
    bare = write_config(
        str(tmp_path / 'bare.py'), task['config'],
        'model = dict(backbone=dict(backbone=dict(init_cfg=None)))\n')
    for config, trained_on in ((task['config'], video_tasks['stock']),
                               (bare, merged)):
        extract([config, merged, adapters])
        with pytest.raises(
                FrozenBackboneMismatchError,
                match=re.escape(
                    f'The adapters were trained on {trained_on}.')):
            merge([
                task['config'], adapters,
                str(tmp_path / 'wrong.pth'), '--pretrained', other
            ])
    assert not osp.exists(tmp_path / 'wrong.pth')


def test_the_tools_end_a_refusal_with_one_line_and_the_flag(
        video_tasks, tmp_path, capsys, clean_loggers):
    """From the command line a refused checkpoint ends the tool with its
    message and the --pretrained flag that fixes it, not a traceback; the
    same error from infer.py reads the same."""
    task = video_tasks['full']
    other = osp.join(video_tasks['root'], 'other.pth')
    main = load_tool('model_converters/merge_adapters.py').main
    wrong = tmp_path / 'wrong.pth'
    with pytest.raises(SystemExit) as exit_info:
        main([
            task['config'], task['checkpoint'],
            str(wrong), '--pretrained', other
        ])
    line = exit_info.value.code
    assert isinstance(line, str) and '\n' not in line, line
    assert line.startswith('FrozenBackboneMismatchError: ')
    assert line.endswith(f'On the command line: --pretrained '
                         f'{video_tasks["stock"]} (train.py, test.py, '
                         'infer.py and merge_adapters.py take it).'), line
    assert not wrong.exists()
    # A missing file is a usage error (test_converters_missing_inputs.py).
    with pytest.raises(SystemExit) as exit_info:
        main([task['config'], str(tmp_path / 'gone.pth'), str(wrong)])
    assert exit_info.value.code == 2
    # A type no registry holds is named with the option it came from.
    with pytest.raises(SystemExit) as exit_info:
        main([
            task['config'], task['checkpoint'],
            str(wrong), '--cfg-options', 'model.backbone.type=NoSuchBackbone'
        ])
    assert exit_info.value.code.startswith(
        "ConfigError: --cfg-options model.backbone.type='NoSuchBackbone' is "
        'not in the mmaction::model registry')
    # Anything else is no refusal and keeps its traceback.
    from mmadaptformer.utils.config_mistakes import naming_config_mistakes
    cfg = Config.fromfile(task['config'])
    for error in (
            KeyError('NoSuchBackbone is not in the mmaction::model '
                     'registry. Please check whether the value of '
                     '`NoSuchBackbone` is correct'),  # not the config's
            KeyError('head'),
            ValueError('a bug')):
        with pytest.raises(type(error)) as raised:
            with naming_config_mistakes(cfg, task['config']):
                raise error
        assert raised.value is error


@pytest.mark.parametrize('tool', ['extract_adapters.py', 'merge_adapters.py'])
def test_a_checkpoint_that_is_no_checkpoint_dict_is_one_line(
        tool, tmp_path, clean_loggers):
    """A list, or a dict whose parts are not what a checkpoint holds, ended
    in an AttributeError traceback (``'list' object has no attribute
    'get'``)."""
    main = load_tool(f'model_converters/{tool}').main
    out = tmp_path / 'out.pth'
    adapter_meta = {
        'adapter_checkpoint': dict(saved_keys=['w'], frozen_digest='0')
    }
    cases = [
        ([1, 2], 'is not a checkpoint dict: it holds a list.'),
        (dict(state_dict=[1, 2],
              meta=adapter_meta), "its 'state_dict' is a list"),
        (dict(state_dict={'w': 1}, meta=adapter_meta),
         "its 'state_dict' is not a state dict of tensors: it holds 'w' "
         '(int).'),
        (dict(state_dict={'w': torch.ones(1)},
              meta=[1]), "its 'meta' is a list, not a dict."),
    ]
    # The cases also run from the shell.
    shell = [0]
    if tool == 'merge_adapters.py':
        # Its adapter record is not one (not a dict, or a dict without
        # the record's keys): it was a KeyError, a TypeError or an
        # AttributeError in complete_adapter_checkpoint.
        shell.append(len(cases))
        for record in ([1], None, 'v1', dict(saved_keys=['w'])):
            cases.append((dict(
                state_dict={'w': torch.ones(1)},
                meta={'adapter_checkpoint': record}),
                          "its meta['adapter_checkpoint'] is not the record "
                          'an adapter-only checkpoint carries (a dict with '
                          f'saved_keys and frozen_digest), but {record!r}.'))
    if tool == 'extract_adapters.py':
        # A full checkpoint has no adapter record.
        cases[1:3] = [(dict(state_dict=case[0]['state_dict']), case[1])
                      for case in cases[1:3]]
        cases.append(({'w': torch.ones(1), 'epoch': 3}, "'epoch' (int)"))
    lines = []
    for index, (checkpoint, message) in enumerate(cases):
        path = str(tmp_path / f'bad{index}.pth')
        torch.save(checkpoint, path)
        with pytest.raises(SystemExit) as exit_info:
            main([TINY_ADAPTFORMER_VIDEO_CONFIG, path, str(out)])
        line = exit_info.value.code
        assert isinstance(line, str) and '\n' not in line, line
        # A meta that is not one is named as such; the rest as a file whose
        # weights do not fit.
        error = 'CheckpointMetaError' if "'meta'" in message or \
            "meta['adapter_checkpoint']" in message else \
            'StateDictMismatchError'
        assert line.startswith(f'{error}: {path}'), line
        assert message in line, line
        assert 'Expected a' in line and "a 'state_dict' of tensors" in line
        lines.append(line)
    assert not out.exists()
    # From the shell: status 1 and that line, no traceback.
    for index in shell:
        proc = run_tool([
            f'model_converters/{tool}', TINY_ADAPTFORMER_VIDEO_CONFIG,
            str(tmp_path / f'bad{index}.pth'), out
        ],
                        cwd=tmp_path,
                        check=False)
        assert refused_line(proc) == lines[index], proc.stdout
    assert not out.exists()


def test_an_official_training_checkpoint_says_to_convert_it(
        tmp_path, clean_loggers):
    """The official scripts save an argparse.Namespace beside the weights:
    refused, with the command that converts the file."""
    main = load_tool('model_converters/extract_adapters.py').main
    path = str(tmp_path / 'checkpoint-89.pth')
    torch.save(
        dict(
            model={'w': torch.ones(1)},
            args=argparse.Namespace(model='vit_base_patch16_224')), path)
    with pytest.raises(SystemExit) as exit_info:
        main([TINY_ADAPTFORMER_VIDEO_CONFIG, path, str(tmp_path / 'out.pth')])
    line = exit_info.value.code
    assert '\n' not in line, line
    assert line.startswith(f'CheckpointLoadError: Refused to load checkpoint '
                           f'{path}: it carries an argparse.Namespace'), line
    assert ('python tools/model_converters/convert_official.py '
            f'{path} CONVERTED.pth') in line, line
    assert 'Do not use this file' not in line


def test_merge_names_adapters_of_another_head(video_tasks, merge, tmp_path,
                                              clean_loggers):
    """Adapters and head of a 2-class task with a 3-class config ended
    merge_adapters.py with the traceback of torch's strict load."""
    task = video_tasks['full']
    out = tmp_path / 'merged.pth'
    with pytest.raises(StateDictMismatchError) as error:
        merge([
            task['config'], task['checkpoint'],
            str(out), '--cfg-options', 'model.cls_head.num_classes=3'
        ])
    message = str(error.value)
    assert message.startswith(f'{task["checkpoint"]} (config '
                              f'{task["config"]}) does not fit the model')
    assert re.search(r'cls_head\.\S+\.weight: \(2, \d+\) vs \(3, \d+\)',
                     message), message
    assert message.endswith(
        "Is it an adapter-only checkpoint of this config's model?")
    assert not out.exists()
