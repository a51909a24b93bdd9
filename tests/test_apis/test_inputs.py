# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Inference inputs: a truncated video is named, not decoded (decord would
crash the process), and a single path is one input."""
import json
import os
import os.path as osp
import pathlib
import sys

import pytest
import torch
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_VIDEO_CONFIG,
                     run_python_command, run_tool, save_stock_video_checkpoint)

from mmadaptformer.apis import (VIDEO_EXTENSIONS, ModelInferencer,
                                collect_inputs)

# The child's inferencer has random weights (a stock checkpoint), so it
# compares its own runs: each good video alone, then all inputs in one batch.
INFER_ALONE_AND_TOGETHER = '''\
import json
import sys

from mmadaptformer.apis import ModelInferencer

config, checkpoint, out, *inputs = sys.argv[1:]
inferencer = ModelInferencer(config, checkpoint)
good = [path for path in inputs if 'trunc' not in path]
alone = {path: inferencer([path])[path] for path in good}
together = inferencer(inputs, batch_size=len(inputs))
with open(out, 'w') as f:
    json.dump(dict(alone=alone, together=together), f)
'''


@pytest.fixture(scope='module')
def avi_inputs(tmp_path_factory):
    """Two good AVI files and ``trunc.avi``, the first half of a third:
    decord 0.6 crashes (SIGSEGV) decoding it from memory."""
    from mmadaptformer.testing import make_moving_square_dataset
    root = tmp_path_factory.mktemp('avi_inputs')
    data = make_moving_square_dataset(
        str(root), num_per_class=1, ext='.avi', splits=('val', 'test'))
    videos = sorted(
        osp.join(data['videos'], n) for n in os.listdir(data['videos']))
    with open(videos[-1], 'rb') as f:
        whole = f.read()
    truncated = str(root / 'trunc.avi')
    with open(truncated, 'wb') as f:
        f.write(whole[:len(whole) // 2])
    return dict(good=videos[:2], truncated=truncated)


def _child_env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS='1')


def test_truncated_avi_is_named_and_the_good_videos_answered(
        avi_inputs, tmp_path):
    """In a child process, so that a crash in decord fails this test instead
    of killing the pytest worker."""
    script = tmp_path / 'infer.py'
    script.write_text(INFER_ALONE_AND_TOGETHER)
    out = tmp_path / 'results.json'
    good, bad = avi_inputs['good'], avi_inputs['truncated']
    inputs = [good[0], bad, good[1]]
    stock = str(tmp_path / 'stock.pth')
    save_stock_video_checkpoint(stock)
    proc = run_python_command(
        [sys.executable,
         str(script), TINY_VIDEO_CONFIG, stock,
         str(out)] + inputs, str(tmp_path), _child_env(), 120)
    assert proc.returncode == 0, \
        f'exited {proc.returncode} (-11: SIGSEGV):\n{proc.stdout[-3000:]}'
    results = json.loads(out.read_text())
    together = results['together']
    assert list(together) == inputs
    error = together[bad]['error']
    assert set(together[bad]) == {'error'}
    size = osp.getsize(bad)
    assert error.startswith(
        f'{bad}: cannot be decoded as a video '
        '(truncated RIFF/AVI file: the header declares '), error
    assert error.endswith(f' bytes, the file has {size}).'), error
    for path in good:
        got = together[path]['tiny_vit_video']
        expected = results['alone'][path]['tiny_vit_video']
        assert got['label'] == expected['label']
        torch.testing.assert_close(
            torch.tensor(got['scores']),
            torch.tensor(expected['scores']),
            rtol=1e-6,
            atol=1e-6)


def test_infer_tool_with_tasks_names_a_truncated_avi_and_exits_1(
        avi_inputs, tmp_path):
    """tools/infer.py --task (MultiTaskRecognizer) writes its JSON."""
    from adapter_tasks import random_task_checkpoints
    checkpoint, = random_task_checkpoints(
        TINY_ADAPTFORMER_VIDEO_CONFIG, 'mmaction', tmp_path, seeds=(1, ))
    out = tmp_path / 'r.json'
    good, bad = avi_inputs['good'][0], avi_inputs['truncated']
    proc = run_tool([
        'infer.py', '--task', 'a', TINY_ADAPTFORMER_VIDEO_CONFIG, checkpoint,
        bad, good, '--out',
        str(out)
    ],
                    cwd=str(tmp_path),
                    check=False,
                    timeout=120)
    assert proc.returncode == 1, \
        f'exited {proc.returncode} (-11: SIGSEGV):\n{proc.stdout[-3000:]}'
    results = json.loads(out.read_text())
    assert list(results) == [bad, good]
    assert set(results[bad]) == {'error'}
    assert results[bad]['error'].startswith(
        f'{bad}: cannot be decoded as a video (truncated RIFF/AVI file')
    assert set(results[good]) == {'a'}
    assert len(results[good]['a']['scores']) == 2
    assert f'{bad}: ERROR {bad}: cannot be decoded' in proc.stdout


def test_a_single_path_is_one_input(tmp_path, monkeypatch):
    # '.' is a folder: read character by character, 'clip.mp4' would
    # expand it and take other/v.mp4 too.
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'v.mp4').write_bytes(b'')
    (tmp_path / 'clip.mp4').write_bytes(b'')
    assert collect_inputs('clip.mp4') == ['clip.mp4']
    assert collect_inputs(['clip.mp4']) == ['clip.mp4']
    assert collect_inputs('other') == [osp.join('other', 'v.mp4')]


def test_path_like_inputs_become_strings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'v.mp4').write_bytes(b'')
    (tmp_path / 'clip.mp4').write_bytes(b'')
    files = collect_inputs(pathlib.Path('clip.mp4'))
    assert files == ['clip.mp4'] and type(files[0]) is str
    files = collect_inputs((pathlib.Path('other'), 'clip.mp4'))
    assert files == [osp.join('other', 'v.mp4'), 'clip.mp4']
    assert all(type(f) is str for f in files)


def test_symlinked_folders_are_searched_once_each(tmp_path, monkeypatch):
    """os.walk does not enter a symlinked folder: ``linked`` was not
    searched. A link back up and a second link to the same folder are
    not searched again (the loop would not end)."""
    from mmadaptformer.apis import InferenceInputError
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'real').mkdir()
    (tmp_path / 'real' / 'v.mp4').write_bytes(b'')
    (tmp_path / 'top').mkdir()
    os.symlink(tmp_path / 'real', tmp_path / 'top' / 'linked')
    os.symlink(tmp_path / 'real', tmp_path / 'top' / 'same')
    os.symlink(tmp_path / 'top', tmp_path / 'real' / 'up')
    assert collect_inputs('top') == [osp.join('top', 'linked', 'v.mp4')]
    # A folder without a file of the kinds asked for names them.
    (tmp_path / 'frames').mkdir()
    (tmp_path / 'frames' / 'f.png').write_bytes(b'')
    assert collect_inputs('frames',
                          ('.png', )) == [osp.join('frames', 'f.png')]
    with pytest.raises(
            InferenceInputError,
            match=r'^frames: a folder without video files, in it or its '
            r'subfolders \(looked for \.mp4, \.avi'):
        collect_inputs(['top', 'frames'], VIDEO_EXTENSIONS)


def test_a_file_given_twice_is_classified_once(tmp_path, monkeypatch,
                                               log_records):
    """Named and also found in a folder given, a video was classified twice
    for one entry of the results."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'clips').mkdir()
    for name in ('a.mp4', 'b.mp4'):
        (tmp_path / 'clips' / name).write_bytes(b'')
    a, b = osp.join('clips', 'a.mp4'), osp.join('clips', 'b.mp4')
    assert collect_inputs([b, 'clips', b]) == [b, a]
    assert 'inputs: 2 files were given more than once (e.g. clips/b.mp4); ' \
        'each is classified once.' in [r.getMessage() for r in log_records]


def test_hidden_files_and_folders_in_a_folder_are_left_out(
        tmp_path, monkeypatch, log_records):
    """A folder copied from a Mac holds ``._a.mp4`` beside ``a.mp4``: each
    was an input decord could not read, and the run's exit status was 1.
    A hidden folder (``.ipynb_checkpoints``) held copies of the videos."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'clips' / '.ipynb_checkpoints').mkdir(parents=True)
    for name in ('a.mp4', '._a.mp4', '.ipynb_checkpoints/a-checkpoint.mp4'):
        (tmp_path / 'clips' / name).write_bytes(b'')
    assert collect_inputs('clips') == [osp.join('clips', 'a.mp4')]
    assert 'clips: left out 2 hidden files or folders (names starting ' \
        "with '.'), e.g. clips/._a.mp4." in [
            r.getMessage() for r in log_records]
    # Named on the command line, a hidden file is an input as given.
    assert collect_inputs(osp.join(
        'clips', '._a.mp4')) == [osp.join('clips', '._a.mp4')]


@pytest.mark.parametrize('inputs, named',
                         [(None, 'inputs: .*got NoneType'),
                          (3, 'inputs: .*got int'),
                          (b'clip.mp4', 'inputs: .*got bytes'),
                          ({'clip.mp4'}, 'inputs: .*got set'),
                          (['clip.mp4', 3], r'inputs\[1\]: .*got int 3'),
                          ([b'clip.mp4'], r'inputs\[0\]: .*got bytes')])
def test_other_types_are_refused_by_name(inputs, named, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'clip.mp4').write_bytes(b'')
    with pytest.raises(TypeError, match=named) as info:
        collect_inputs(inputs)
    assert 'a path (str or os.PathLike) or a sequence of paths' in str(
        info.value)


def test_inferencer_takes_one_path_as_the_one_element_list(
        avi_inputs, tmp_path, monkeypatch, clean_loggers):
    """A path without '/', run from its folder: read character by character
    it would expand '.'."""
    import shutil
    shutil.copy(avi_inputs['good'][0], tmp_path / 'clip.avi')
    save_stock_video_checkpoint(str(tmp_path / 'stock.pth'))
    monkeypatch.chdir(tmp_path)
    inferencer = ModelInferencer(TINY_VIDEO_CONFIG, 'stock.pth')
    expected = inferencer(['clip.avi'])
    assert list(expected) == ['clip.avi']
    assert 'tiny_vit_video' in expected['clip.avi']
    assert inferencer('clip.avi') == expected
    assert inferencer(pathlib.Path('clip.avi')) == expected


def test_the_apis_refuse_a_folder_with_nothing_to_classify(
        tmp_path, clean_loggers):
    """``inferencer('empty/')`` returned ``{}`` without a word, as
    tools/infer.py did before it refused such a folder."""
    from mmadaptformer.apis import InferenceInputError, MultiTaskRecognizer
    save_stock_video_checkpoint(str(tmp_path / 'stock.pth'))
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'photo.jpg').write_bytes(b'')
    inferencer = ModelInferencer(TINY_VIDEO_CONFIG,
                                 str(tmp_path / 'stock.pth'))
    engine = MultiTaskRecognizer()
    engine.add_task('a', TINY_VIDEO_CONFIG, str(tmp_path / 'stock.pth'))
    for call in (inferencer, engine):
        with pytest.raises(
                InferenceInputError,
                match=f'{tmp_path / "empty"}: a folder without '
                'video files'):
            call([str(tmp_path / 'empty')])


def test_a_classes_path_in_a_checkpoint_is_not_opened(tmp_path, log_records):
    """meta['dataset_meta']['classes'] comes from the checkpoint: a path in
    it was opened and its lines printed (and written to --out) as class
    names, so a checkpoint could make tools/infer.py show a local file."""
    from mmengine.config import Config

    from mmadaptformer.apis import class_names
    secret = tmp_path / 'secret.txt'
    secret.write_text('SECRET-1\nSECRET-2\n')
    meta = dict(dataset_meta=dict(classes=str(secret)))
    names = class_names(Config(dict()), meta=meta, num_classes=2)
    assert names is None
    said = [r.getMessage() for r in log_records]
    assert any('is a file path' in m and 'not read' in m for m in said), said
    # Names given as a list are still used.
    meta = dict(dataset_meta=dict(classes=['jump', 'run']))
    assert class_names(
        Config(dict()), meta=meta, num_classes=2) == ['jump', 'run']


@pytest.mark.parametrize('ci, main_process', [(None, True), ('yes', True),
                                              ('on', True), ('TRUE', True),
                                              (None, False)])
def test_progress_bar_shows_where_progress_is_enabled(ci, main_process,
                                                      monkeypatch):
    """The inferencers' bar follows the package's one rule
    (:func:`~mmadaptformer.utils.progress.progress_enabled`): it had its
    own, which drew under ``CI=yes``/``on`` and on every rank."""
    from mmadaptformer.apis import progress_bar
    from mmadaptformer.testing.terminal import pseudo_terminal
    from mmadaptformer.utils import progress
    if ci is None:
        monkeypatch.delenv('CI', raising=False)
    else:
        monkeypatch.setenv('CI', ci)
    monkeypatch.setattr(progress, 'is_main_process', lambda: main_process)
    with pseudo_terminal() as (tty, read):
        monkeypatch.setattr(sys, 'stderr', tty)
        shown = ci is None and main_process
        assert progress.progress_enabled(tty) is shown
        bar = progress_bar(10)
        assert (bar is not None) is shown
        # Nothing to show for one input, even where bars are drawn.
        assert progress_bar(1) is None
        if shown:
            bar.update()
            assert '1/10' in read()
        else:
            assert read() == ''


def test_a_file_that_is_no_video_says_so(tmp_path):
    """A text file named ``.mp4`` passes the container check (no header it
    knows) and failed in decord with 'Error reading 12 bytes...': the
    error now says its first bytes match no video container."""
    from mmengine.config import Config

    from mmadaptformer.apis import InferenceInputError, TestInputs
    from mmadaptformer.utils.video_containers import container_name
    fake = tmp_path / 'notes.mp4'
    fake.write_bytes(b'not a video\n')
    inputs = TestInputs(Config.fromfile(TINY_VIDEO_CONFIG))
    with pytest.raises(InferenceInputError) as error:
        inputs(str(fake))
    assert str(error.value) == (
        f'{fake}: cannot be decoded as a video (it is text, not a video: '
        "b'not a video\\n').")
    assert '\n' not in str(error.value)
    # The containers it knows, by their first bytes.
    assert container_name(b'RIFF\x00\x00\x00\x00AVI ') == 'RIFF/AVI'
    assert container_name(b'\x00\x00\x00\x18ftypmp42') == 'MP4/MOV'
    assert container_name(b'\x00\x00\x00\x08wide') == 'MP4/MOV'
    assert container_name(b'\x1a\x45\xdf\xa3\x9f') == 'WebM/Matroska'
    assert container_name(b'not a video') is None


def test_a_transform_failing_after_the_read_is_no_broken_input(tmp_path):
    """A test pipeline whose Resize no longer fits its ThreeCrop (an option
    changed the scale) said 'cannot be decoded as a video (AssertionError:
    )' for every input; now it names the transform, its key and the line
    that failed."""
    from mmengine.config import Config

    from mmadaptformer.apis import InferenceInputError, TestInputs
    from mmadaptformer.testing import make_moving_square_dataset
    data = make_moving_square_dataset(
        str(tmp_path), num_per_class=1, splits=('val', ))
    video = osp.join(data['videos'], sorted(os.listdir(data['videos']))[0])
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    cfg.test_dataloader.dataset.pipeline[3] = dict(
        type='Resize', scale=(-1, 64))
    with pytest.raises(InferenceInputError) as error:
        TestInputs(cfg)(video)
    message = str(error.value)
    assert message.startswith(
        f"{video}: after the video was read, the test pipeline's ThreeCrop "
        '(test_dataloader.dataset.pipeline[4]) failed: AssertionError: '
        'raised at mmaction/datasets/transforms/processing.py:'), message
    assert message.endswith(
        ': assert crop_h == img_h or crop_w == img_w. Check that '
        "transform's settings and those of the ones before it."), message
    assert 'decoded' not in message


def test_config_class_names_take_a_label_map_only_where_it_is(
        tmp_path, monkeypatch):
    """A dataset's ``classes`` naming a label map that is not here (the
    recipes' relative paths, run from elsewhere) gives no names, or the
    label map beside ``ann_file``, never the path's characters."""
    from mmengine.config import Config

    from mmadaptformer.apis.label_maps import config_class_names
    monkeypatch.chdir(tmp_path)

    def names(**dataset):
        return config_class_names(
            Config(dict(test_dataloader=dict(dataset=dataset))))

    assert names(classes='data/food-101/meta/classes.txt') is None
    (tmp_path / 'lists').mkdir()
    (tmp_path / 'lists' / 'x_label_map.txt').write_text('run\nsit\n')
    assert names(
        classes='data/x_label_map.txt',
        ann_file='lists/val.txt') == ['run', 'sit']
    (tmp_path / 'classes.txt').write_text('up\ndown\n')
    assert names(classes='classes.txt') == ['up', 'down']
    assert names(metainfo=dict(classes=('a', 'b'))) == ['a', 'b']


def test_config_class_names_read_a_checked_datasets_classes_under_its_root(
        tmp_path, monkeypatch):
    """CheckedImageDataset reads a relative ``classes`` file under its
    ``data_root``, whether the config names its type or gives the class
    (a pure-Python config); mmpretrain's CustomDataset reads it as given."""
    from mmengine.config import Config

    from mmadaptformer.apis.label_maps import config_class_names
    from mmadaptformer.datasets import CheckedImageDataset
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'root').mkdir()
    (tmp_path / 'root' / 'names.txt').write_text('cat\ndog\n')
    (tmp_path / 'names.txt').write_text('here\n')

    def names(kind):
        return config_class_names(
            Config(
                dict(
                    test_dataloader=dict(
                        dataset=dict(
                            type=kind, data_root='root',
                            classes='names.txt')))))

    assert names('CheckedImageDataset') == ['cat', 'dog']
    assert names(CheckedImageDataset) == ['cat', 'dog']
    assert names('CustomDataset') == ['here']


def test_the_test_pipeline_is_built_as_compose_builds_it_or_named():
    """Built transforms pass as Compose takes them; what cannot be built
    names its key and index, through a wrapped dataset too."""
    from mmengine.config import Config
    from mmengine.dataset import Compose

    from mmadaptformer.apis import build_test_pipeline, test_pipeline_cfg
    from mmadaptformer.utils import ConfigError
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)

    def mark(results):
        return dict(results, marked=True)

    cfg.test_dataloader.dataset.pipeline = [mark]
    pipeline = build_test_pipeline(cfg, 'mmaction', 'c.py')
    assert isinstance(pipeline, Compose)
    assert pipeline(dict(a=1)) == dict(a=1, marked=True)
    cfg.test_dataloader.dataset = dict(
        type='RepeatDataset',
        times=2,
        dataset=dict(pipeline=[mark, 'SampleFrames']))
    with pytest.raises(
            ConfigError,
            match=r'^c\.py: test_dataloader\.dataset\.dataset\.pipeline\[1\] '
            r'cannot be built: TypeError: cfg should be a dict'):
        build_test_pipeline(cfg, 'mmaction', 'c.py')
    cfg.test_dataloader.dataset.dataset.pipeline = []
    cfg.test_pipeline = None
    with pytest.raises(ConfigError, match=r'^c\.py: neither '):
        test_pipeline_cfg(cfg, 'c.py')
