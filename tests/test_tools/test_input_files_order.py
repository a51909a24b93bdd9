# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every tool checks the files its command line names in one order
(:func:`~mmadaptformer.utils.cli_types.input_files_problem`): a config
given as an address, a file that is not there, a config that is no config
file, a checkpoint that is another kind of file; each a usage error
(exit status 2) before anything loads.

Before, the order was written four times: ``tools/train.py`` and
``tools/infer.py`` named a misplaced ``--pretrained``/``--resume`` before a
CONFIG that is no config (``test.py`` and the converters the other way
round); ``infer.py --task NAME CHECKPOINT CONFIG`` ran, and failed that
task in every input (exit status 1); and a CONFIG given as an address
ended ``train.py`` and ``test.py`` with ``FileNotFoundError: [Errno 2] No
such file or directory: 'https://...'`` (exit status 1), ``infer.py`` with
that line as its usage error.
"""
import pytest
from checkpoint_makers import save_stock_video_checkpoint
from media_files import write_black_png, write_clip
from refusal_lines import usage_line
from repo_paths import TINY_VIDEO_CONFIG
from tool_runners import run_tool

MERGE = 'model_converters/merge_adapters.py'
TOOLS = ['train.py', 'test.py', 'infer.py', MERGE]
ADDRESS = 'https://example.com/cfg.py'


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """A stock tiny video checkpoint, an mp4 clip, a PNG image and a text
    file."""
    root = tmp_path_factory.mktemp('input_order')
    checkpoint = str(root / 'stock.pth')
    save_stock_video_checkpoint(checkpoint)
    video = write_clip(str(root / 'clip.mp4'))
    image = write_black_png(str(root / 'img.png'))
    notes = str(root / 'notes.txt')
    with open(notes, 'w') as f:
        f.write('not a config\n')
    return dict(
        checkpoint=checkpoint,
        video=video,
        image=image,
        notes=notes,
        root=root)


def _run(files, tool, config, *options, checkpoint=None):
    """``tool CONFIG [CHECKPOINT] [INPUT | OUT] OPTIONS``; its usage line."""
    args = [config]
    if tool != 'train.py':
        args.append(checkpoint or files['checkpoint'])
    if tool == 'infer.py':
        args.append(files['video'])
    if tool == MERGE:
        args.append(str(files['root'] / 'out.pth'))
    if tool in ('train.py', 'test.py'):
        args += ['--work-dir', str(files['root'] / 'w')]
    proc = run_tool([tool, *args, *options],
                    cwd=str(files['root']),
                    check=False)
    return usage_line(proc, no_dir=str(files['root'] / 'w'))


@pytest.mark.parametrize('tool', TOOLS)
def test_a_config_that_is_none_is_named_before_a_misplaced_pretrained(
        files, tool):
    """``TOOL notes.txt ... --pretrained img.png``: every tool names the
    CONFIG first (train.py and infer.py named ``--pretrained``)."""
    line = _run(files, tool, files['notes'], '--pretrained', files['image'])
    assert f"The config {files['notes']} is not a config file" in line
    assert '--pretrained' not in line


def test_train_names_the_config_before_a_misplaced_resume(files):
    """``train.py notes.txt --resume clip.mp4``: the CONFIG first."""
    line = _run(files, 'train.py', files['notes'], '--resume', files['video'])
    assert f"The config {files['notes']} is not a config file" in line


@pytest.mark.parametrize('tool', TOOLS)
def test_a_missing_file_is_named_before_a_config_that_is_none(files, tool):
    """Guard of kept behaviour: the CONFIG is a checkpoint and
    ``--pretrained`` is not there: the missing file is named first, in
    every tool."""
    nope = str(files['root'] / 'nope.pth')
    line = _run(files, tool, files['checkpoint'], '--pretrained', nope)
    assert f'{nope}: no such file' in line


@pytest.mark.parametrize('tool', TOOLS)
def test_a_config_address_is_a_usage_error(files, tool):
    """MMEngine reads configs from local files only: an address is named
    as such, exit status 2 (train.py and test.py ended with exit status 1
    and a FileNotFoundError)."""
    line = _run(files, tool, ADDRESS)
    assert line.endswith(f'error: config {ADDRESS}: it is read from a local '
                         'file, not an address; download it first'), line


def test_infer_task_with_files_swapped_is_a_usage_error(files):
    """``infer.py --task a CHECKPOINT CONFIG clip.mp4``: named before any
    task loads, exit status 2, as a task's missing file is (it ran and
    failed the task in every input, exit status 1)."""
    proc = run_tool([
        'infer.py', '--task', 'a', files['checkpoint'], TINY_VIDEO_CONFIG,
        files['video']
    ],
                    cwd=str(files['root']),
                    check=False)
    line = usage_line(proc)
    assert (f"error: The config {files['checkpoint']} is not a config file"
            ) in line
    assert 'it is a checkpoint (torch.save): the tools take the config ' \
        'first' in line


@pytest.mark.parametrize('tool', TOOLS)
def test_a_checkpoint_named_as_a_config_is_a_usage_error(files, tool):
    """A checkpoint saved under a ``.py`` name, given as the CONFIG: named
    for what it is, exit status 2 (train.py, test.py and the converters
    ended with a ``UnicodeDecodeError`` traceback, exit status 1; infer.py
    with that error's text)."""
    renamed = files['root'] / 'renamed.py'
    renamed.write_bytes(open(files['checkpoint'], 'rb').read())
    line = _run(files, tool, str(renamed))
    assert (f'error: The config {renamed} is not a config file, whatever '
            'its name: it is a checkpoint (torch.save): the tools take the '
            'config first') in line


@pytest.mark.parametrize('tool', TOOLS)
def test_a_config_that_is_not_text_is_a_usage_error(files, tool):
    """A ``.py`` CONFIG with bytes that are no UTF-8: one line, exit status
    2, not MMEngine's ``UnicodeDecodeError`` traceback; infer.py says it in
    the same words (it said ``The config X: UnicodeDecodeError: 'utf-8'
    codec can't decode ...``)."""
    garbage = files['root'] / 'garbage.py'
    garbage.write_bytes(b'a = 1\n\x80\x81 garbage\n')
    line = _run(files, tool, str(garbage))
    assert (f'error: The config {garbage} (or a _base_ of it) is not UTF-8 '
            'text (invalid start byte at byte 6): MMEngine reads configs as '
            'Python, JSON or YAML text.') in line


def test_a_task_config_that_is_not_text_is_that_tasks_error(files):
    """``infer.py --task a garbage.py CKPT --task b CONFIG CKPT``: task a
    fails in every input with the line train.py and test.py give, naming
    the config; it named the checkpoint (``stock.pth: UnicodeDecodeError:
    'utf-8' codec can't decode byte 0x80 ...``)."""
    garbage = files['root'] / 'garbage_task.py'
    garbage.write_bytes(b'a = 1\n\x80\x81 garbage\n')
    checkpoint = files['checkpoint']
    proc = run_tool([
        'infer.py', '--task', 'a',
        str(garbage), checkpoint, '--task', 'b', TINY_VIDEO_CONFIG, checkpoint,
        files['video']
    ],
                    cwd=str(files['root']),
                    check=False)
    assert (f'task a: ERROR ConfigError: The config {garbage} (or a _base_ '
            'of it) is not UTF-8 text (invalid start byte at byte 6): '
            'MMEngine reads configs as Python, JSON or YAML text.'
            ) in proc.stdout, proc.stdout
    assert 'UnicodeDecodeError' not in proc.stdout


def test_infer_label_map_address_is_a_usage_error(files):
    """``--label-map https://...``: label maps are read from local files;
    said once, exit status 2 (it was the task's error in every input, exit
    status 1, as ``no such file``)."""
    line = _run(files, 'infer.py', TINY_VIDEO_CONFIG, '--label-map',
                'https://example.com/classes.txt')
    assert line.endswith('error: --label-map https://example.com/classes.txt'
                         ': it is read from a local file, not an address; '
                         'download it first'), line


@pytest.mark.parametrize('first_line', [
    '# A free-form config: bytes 4-8 read as an MP4 box name',
    '# A wide variant', 'BM = 1  # a BMP magic'
])
def test_a_config_whose_text_looks_like_a_magic_number_is_a_config(
        files, first_line):
    """A config is text: its first bytes are not taken for a video's or an
    image's magic number (``# A free-form ...`` has ``free``, an MP4 box
    name, at bytes 4-8, and was refused as 'a video file (MP4/MOV)' by
    every tool, exit status 2)."""
    from mmadaptformer.utils.cli_types import input_files_problem
    from mmadaptformer.utils.config_loading import check_config_file
    config = files['root'] / 'magic_looking.py'
    config.write_text(f'{first_line}\n_base_ = [{TINY_VIDEO_CONFIG!r}]\n')
    check_config_file(str(config))
    assert input_files_problem([(str(config), 'config')],
                               [(files['checkpoint'], 'checkpoint')]) is None
