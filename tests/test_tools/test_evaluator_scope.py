# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/train.py and tools/test.py on an evaluator config with a
``_scope_`` of its own, real runs on real video files in fresh processes.

MMEngine builds such an evaluator's metrics with its ``_scope_`` as the
default scope. The checks looked the metrics up in the config's scope
instead (mmaction2's, where mmpretrain's ``Accuracy`` is not), so they left
them unchecked: top-5 accuracy on two classes, or a ``save_best`` that the
validation does not give, trained a whole epoch (checkpoint written) and
then ended with mmpretrain's ``ValueError`` or MMEngine's ``KeyError``."""
import pytest
from helpers import (TINY_VIDEO_CONFIG, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)
from refusal_lines import refused_line

_SCOPED = ("type='Evaluator', _scope_='mmpretrain', "
           "metrics=[dict(type='Accuracy', topk={})]")


def _config(tmp_path, data, topk: str, extra: str = '') -> str:
    body = (f'{video_data_cfg(data)}val_evaluator = dict(_delete_=True, '
            f'{_SCOPED.format(topk)})\ntest_evaluator = val_evaluator\n'
            f'{extra}')
    return write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG, body)


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_scoped_evaluator_top5_on_two_classes_is_refused_first(
        tmp_path, tiny_video_data, tool):
    """Trained an epoch (or ran the whole test), then ended with
    mmpretrain's ValueError traceback."""
    cfg = _config(tmp_path, tiny_video_data, '(1, 5)')
    args = [tool, cfg]
    if tool == 'test.py':
        ckpt = str(tmp_path / 'ckpt.pth')
        save_stock_video_checkpoint(ckpt)
        args.append(ckpt)
    work = tmp_path / 'work'
    proc = run_tool(args + ['--work-dir', work], cwd=tmp_path, check=False)
    line = refused_line(proc, absent=['Epoch('], no_dir=work)
    key = 'test_evaluator' if tool == 'test.py' else 'val_evaluator'
    assert line.startswith(
        f'ConfigError: {cfg}: {key}: Accuracy cannot score the 2 classes of '
        'model.cls_head.num_classes=2: ValueError: Top-5 accuracy is '
        'unavailable since the number of categories is 2.'), line


def test_scoped_evaluator_save_best_is_checked(tmp_path, tiny_video_data):
    """Trained an epoch, then ended with ``KeyError: 'accuracy/top_1'``."""
    cfg = _config(
        tmp_path, tiny_video_data, '(1, )',
        "default_hooks = dict(checkpoint=dict(save_best='accuracy/top_1'))\n")
    work = tmp_path / 'work'
    proc = run_tool(['train.py', cfg, '--work-dir', work],
                    cwd=tmp_path,
                    check=False)
    line = refused_line(proc, absent=['Epoch('], no_dir=work)
    assert line == (
        f'ConfigError: {cfg}: default_hooks.checkpoint.save_best: '
        "save_best='accuracy/top_1' is no metric the validation gives (did "
        "you mean 'accuracy/top1'?); MMEngine's CheckpointHook would fail on "
        'it (KeyError) at the first validation, after training. The '
        'validation gives: accuracy/top1.'), line
