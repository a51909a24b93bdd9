# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The README's "When things go wrong" quotes what the tools print.

Each case runs a refusal the section quotes, as a user runs it (a tool in a
subprocess, on the tiny video config and its data), and checks both ends:
the section still holds the quote, and the tool's last line and exit status
match it. In a quote, ``...`` stands for text the README leaves out and
``CONFIG`` for the config's path. A reworded message, or a README that
quotes an old one, fails here.

These guard kept behaviour: each message was checked by hand against the
README when the test was written (they agreed), so none fails on the code
of that day.
"""
import os
import os.path as osp
import re
from typing import Optional

import pytest
from helpers import REPO_ROOT, TINY_VIDEO_CONFIG, run_tool, write_config

SECTION = '## When things go wrong'


def section_text() -> str:
    """The section's text, its whitespace runs (line breaks inside a code
    span included) made single spaces."""
    with open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    start = text.index(SECTION)
    end = text.index('\n## ', start + len(SECTION))
    return ' '.join(text[start:end].split())


def quote_pattern(quote: str) -> 're.Pattern':
    """``quote`` as a regular expression, its ``...`` and ``CONFIG`` as
    any text."""
    holes = ('...', 'CONFIG')
    parts = re.split(r'(\.\.\.|CONFIG)', quote)
    return re.compile(''.join('.*?' if part in holes else re.escape(part)
                              for part in parts))


def case(quote: str,
         *args: str,
         tool: str = 'train.py',
         status: int = 1,
         lines: Optional[str] = None) -> pytest.param:
    """A refusal the README quotes: ``tool`` on the tiny video config (with
    ``lines`` added to it, if given) and ``args``, exit status
    ``status``."""
    return pytest.param(
        tool, lines, list(args), status, quote, id=args[-1] if args else tool)


def option(quote: str, entry: str, status: int = 1) -> pytest.param:
    """``tools/train.py`` refusing ``--cfg-options ENTRY``."""
    return case(quote, '--cfg-options', entry, status=status)


CASES = [
    option(
        '--cfg-options optim_wrapper.optimizer.lrr=0.1: SGD takes no '
        "argument 'lrr' (did you mean 'lr'?). It takes: lr, momentum, ...",
        'optim_wrapper.optimizer.lrr=0.1'),
    option("SGD takes a number as lr (default 0.001), got the text 'O.1'",
           'optim_wrapper.optimizer.lr=O.1'),
    option(
        "'AdamWW' is not in the mmaction::optimizer registry; did you "
        "mean 'AdamW' ...", 'optim_wrapper.optimizer.type=AdamWW'),
    option(
        'train.py: error: --cfg-options '
        'train_dataloader.dataset.pipeline.9.x=1 cannot be merged into the '
        'config CONFIG: KeyError: "Index 9 exceeds the length of list ..."',
        'train_dataloader.dataset.pipeline.9.x=1',
        status=2),
    option(
        "DefaultSampler takes no argument 'shufle' (did you mean "
        "'shuffle'?)", 'train_dataloader.sampler.shufle=True'),
    option(
        "'batch_sise' is no dataloader argument (did you mean 'batch_size' "
        '...?)', 'train_dataloader.batch_sise=2'),
    case(
        "train_dataloader.dataset.ann_flie: unknown argument 'ann_flie' of "
        "CheckedVideoDataset (did you mean 'ann_file'?)",
        lines="train_dataloader = dict(dataset=dict(ann_flie='x'))\n"),
    option(
        "CheckedVideoDataset reads no data_prefix key 'vdieo' (did you mean "
        "'video'?)", 'val_dataloader.dataset.data_prefix.vdieo=x'),
    option(
        'train_dataloader.dataset (CheckedVideoDataset) with --cfg-options '
        "train_dataloader.dataset.check_files='nope' cannot be built: "
        'ValueError: ...', "train_dataloader.dataset.check_files='nope'"),
    case(
        'val_dataloader.dataset.ann_file (CheckedVideoDataset): the '
        'annotation file data/val.txt does not exist',
        lines="val_dataloader = dict(dataset=dict(ann_file='data/val.txt'))"
        '\n'),
    option('visualizer.vis_backends.0.type=TensorboardVisBackend',
           'vis_backends.0.type=TensorboardVisBackend'),
    option(
        "'cudnn_benchmrk' is no env_cfg key (did you mean "
        "'cudnn_benchmark'?)", 'env_cfg.cudnn_benchmrk=True'),
    option("(did you mean 'checkpoint' or 'checkpoint_check'?)",
           'default_hooks.chekpoint.interval=2'),
    option("did you mean 'acc/top1' or 'acc/top5'?",
           'default_hooks.checkpoint.save_best=accuracy/top1'),
    option(
        "--cfg-options load_from='x.pth': the checkpoint x.pth does not "
        'exist.', "load_from='x.pth'"),
    option("did you mean 'num_clips'?",
           'train_dataloader.dataset.pipeline.1.num_clip=2'),
    option("did you mean 'num_threads'?",
           'val_dataloader.dataset.pipeline.0.num_thread=2'),
    option('test_dataloader.dataset.pipeline.1.num_clips=1',
           'test_pipeline.1.num_clips=1'),
    option("did you mean 'INFO'?", 'log_level=info'),
    option("did you mean 'max_norm'?",
           "optim_wrapper.clip_grad={'max_norn':1.}"),
    option("did you mean 'max_testing_views'?",
           'model.test_cfg.max_testing_view=2'),
    case(
        'test.py: error: checkpoint x.pth: no such file',
        'x.pth',
        tool='test.py',
        status=2),
]


@pytest.fixture(scope='module')
def user_dir(tmp_path_factory, tiny_video_data):
    """A folder holding the tiny config's data where it looks for it
    (``data/tiny_video``, relative to where the tool runs)."""
    root = tmp_path_factory.mktemp('user')
    os.makedirs(root / 'data')
    os.symlink(
        osp.dirname(tiny_video_data['train']), root / 'data' / 'tiny_video')
    return root


@pytest.mark.parametrize('tool, lines, args, status, quote', CASES)
def test_quoted_refusal_is_what_the_tool_prints(user_dir, tool, lines, args,
                                                status, quote):
    assert quote in section_text(), f'the README no longer quotes {quote!r}'
    name = f'case{len(list(user_dir.iterdir()))}'
    config = TINY_VIDEO_CONFIG if lines is None else write_config(
        user_dir / f'{name}.py', TINY_VIDEO_CONFIG, lines)
    work_dir = user_dir / f'work_{name}'
    proc = run_tool([tool, config, *args, '--work-dir', work_dir],
                    cwd=user_dir,
                    check=False)
    out = proc.stdout
    assert proc.returncode == status, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]
    assert not work_dir.exists()
    last = ' '.join(out.strip().splitlines()[-1].split())
    assert quote_pattern(quote).search(last), (quote, last)
