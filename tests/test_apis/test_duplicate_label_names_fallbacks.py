# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A name given twice in the class names inference falls back on, the
label map the config's test set names and the checkpoint's
``meta['dataset_meta']['classes']``, is treated as those sources' other
problems are (:func:`~mmadaptformer.apis.class_names`): a warning naming
the source, the line or entry and the name, and no names from it (a bad
config label map gives labels without names; a bad checkpoint list falls
back on the config, as a file path there does). Before, only a
``label_map`` the user passed was refused; these printed ``left (0.74),
left (0.26)``, two labels that could not be told apart."""
import json
import logging

import torch
from checkpoint_makers import save_as_built_checkpoint
from media_files import write_clip
from repo_paths import TINY_VIDEO_CONFIG
from tool_runners import run_tool

from mmadaptformer import apis


def _warnings(log_records):
    return [
        r.getMessage() for r in log_records if r.levelno == logging.WARNING
        and 'again (first on' in r.getMessage()
    ]


def _config_naming(tmp_path, classes: str) -> str:
    config = tmp_path / 'named.py'
    config.write_text(f'_base_ = [{TINY_VIDEO_CONFIG!r}]\n'
                      f'test_dataloader = dict(dataset=dict(classes='
                      f'{classes!r}))\n')
    return str(config)


def _checkpoint_naming(tmp_path, classes) -> str:
    path = save_as_built_checkpoint(TINY_VIDEO_CONFIG, tmp_path / 'full.pth')
    checkpoint = torch.load(path)
    checkpoint['meta'] = dict(dataset_meta=dict(classes=classes))
    torch.save(checkpoint, path)
    return path


def test_a_config_label_map_naming_a_class_twice_is_warned_of(
        tmp_path, log_records):
    twice = tmp_path / 'twice.txt'
    twice.write_text('left\nleft\n')
    config = _config_naming(tmp_path, str(twice))
    checkpoint = save_as_built_checkpoint(config, tmp_path / 'full.pth')
    engine = apis.ModelInferencer(config, checkpoint)
    assert engine.classes is None
    assert _warnings(log_records) == [
        f'the test set of {config} names classes that cannot be used '
        f"({twice}, line 2: 'left' again (first on line 1); every label "
        'needs its own name.): the results give labels without names. Pass '
        'a label map file (--label-map) to name them.'
    ]


def test_checkpoint_classes_naming_a_class_twice_fall_back_on_the_config(
        tmp_path, log_records):
    names = tmp_path / 'names.txt'
    names.write_text('left\nright\n')
    config = _config_naming(tmp_path, str(names))
    checkpoint = _checkpoint_naming(tmp_path, ['left', 'left'])
    engine = apis.ModelInferencer(config, checkpoint)
    assert engine.classes == ['left', 'right']
    assert _warnings(log_records) == [
        "The checkpoint's classes cannot be used: meta['dataset_meta']"
        "['classes'] (a list), entry 2: 'left' again (first on entry 1); "
        'every label needs its own name. The classes are named from the '
        'config, or pass --label-map.'
    ]


def test_infer_prints_no_name_twice_from_the_checkpoint(tmp_path):
    checkpoint = _checkpoint_naming(tmp_path, ['left', 'left'])
    clip = write_clip(str(tmp_path / 'clip.mp4'), num_frames=12)
    out = tmp_path / 'r.json'
    proc = run_tool(
        ['infer.py', TINY_VIDEO_CONFIG, checkpoint, clip, '--out',
         str(out)],
        cwd=str(tmp_path),
        separate_stderr=True)
    assert "'left' again (first on entry 1)" in proc.stderr, proc.stderr
    assert 'left' not in proc.stdout, proc.stdout
    assert 'left' not in out.read_text()
    assert json.loads(out.read_text())
