# Copyright (c) mmadaptformer contributors. All rights reserved.
"""tools/infer.py: one model or many tasks, videos and images, and the
answers to bad inputs."""
import json
import logging
import os
import os.path as osp
import pickle
import re
import shutil

import pytest
import torch
from file_server import CodePayload
from helpers import (TINY_IMAGE_CONFIG, image_data_cfg, load_tool,
                     pretrained_cfg, write_config)
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from refusal_lines import refused_line

from mmadaptformer.utils.device_choices import device_choices


@pytest.fixture(scope='module')
def inputs(tmp_path_factory, tiny_video_data):
    """A folder with two good videos, and bad files next to it."""
    root = tmp_path_factory.mktemp('inputs')
    folder = root / 'clips'
    folder.mkdir()
    names = sorted(
        n for n in __import__('os').listdir(tiny_video_data['videos']))[:2]
    for name in names:
        shutil.copy(osp.join(tiny_video_data['videos'], name), folder)
    good = [str(folder / n) for n in names]
    # Not .txt: a list of inputs, refused as an INPUT (--list takes it).
    notes = root / 'notes.csv'
    notes.write_text('not a video\n')
    data = open(good[0], 'rb').read()
    truncated = root / 'truncated.mp4'
    truncated.write_bytes(data[:len(data) // 4])
    image = root / 'frame.png'
    import cv2
    import numpy as np
    cv2.imwrite(str(image), np.zeros((32, 32, 3), np.uint8))
    return dict(
        folder=str(folder),
        good=good,
        notes=str(notes),
        truncated=str(truncated),
        image=str(image))


def test_one_model_answers_good_inputs_and_names_bad_ones(
        infer, video_tasks, inputs, tmp_path, capsys, clean_loggers):
    task = video_tasks['full']
    out = tmp_path / 'r.json'
    # Read and refused while running (exit status 1); an INPUT that is not
    # there is a usage error before anything loads (exit status 2, see
    # test_infer_exit_codes.py).
    bad = [inputs['notes'], inputs['truncated'], inputs['image']]
    code = infer([
        task['config'], task['checkpoint'], inputs['folder'], *bad, '--out',
        str(out)
    ])
    assert code == 1
    results = json.loads(out.read_text())
    assert list(results) == inputs['good'] + bad
    for path in inputs['good']:
        answer = results[path]['full']
        assert len(answer['scores']) == 2
        assert abs(sum(answer['scores']) - 1) < 1e-5
        assert answer['label'] == max(
            range(2), key=answer['scores'].__getitem__)
        assert answer['class'] is None
    for path in bad:
        assert set(results[path]) == {'error'}
        assert results[path]['error'].startswith(path)
    assert 'neither a video nor an image' in results[inputs['notes']]['error']
    assert 'cannot be decoded' in results[inputs['truncated']]['error']
    assert 'is an image' in results[inputs['image']]['error']
    printed = capsys.readouterr().out
    assert f'{inputs["good"][0]}: full: ' in printed


def test_many_tasks_refuse_another_backbone_and_answer_the_rest(
        infer, video_tasks, inputs, tmp_path, capsys, clean_loggers):
    """A task whose checkpoint cannot be loaded (trained on another
    backbone) fails in every input's results but is printed once, not once
    per input; the others answer, the status is 1. (A checkpoint that does
    not exist is a bad argument: exit status 2, see below.)"""
    out = tmp_path / 'r.json'
    args = []
    for name in ('full', 'last', 'other'):
        args += [
            '--task', name, video_tasks[name]['config'],
            video_tasks[name]['checkpoint']
        ]
    capsys.readouterr()
    code = infer(args + inputs['good'] +
                 ['--out', str(out), '--batch-size', '2'])
    assert code == 1
    results = json.loads(out.read_text())
    printed = capsys.readouterr()
    single = load_tool('infer.py')
    for path in inputs['good']:
        assert set(results[path]) == {'full', 'last', 'other'}
        assert "'other'" in results[path]['other']['error']
        assert 'another frozen backbone' in results[path]['other']['error']
        for name in ('full', 'last'):
            assert f'{path}: {name}: ' in printed.out
    assert len(inputs['good']) > 1
    for name in ('other', ):
        message = results[inputs['good'][0]][name]['error']
        assert printed.err.count(f'task {name}: ERROR {message}\n') == 1, \
            printed.err
        assert (printed.out + printed.err).count(message) == 1, printed
    # The two loaded tasks match their single-model runs.
    for name in ('full', 'last'):
        alone = tmp_path / f'{name}.json'
        assert single.main([
            video_tasks[name]['config'], video_tasks[name]['checkpoint'],
            *inputs['good'], '--out',
            str(alone)
        ]) == 0
        expected = json.loads(alone.read_text())
        for path in inputs['good']:
            torch.testing.assert_close(
                torch.tensor(results[path][name]['scores']),
                torch.tensor(expected[path][name]['scores']),
                rtol=1e-5,
                atol=1e-7)


@pytest.fixture(scope='module')
def image_model(tmp_path_factory, tiny_image_data):
    """The tiny image config on the stripes folder and a full checkpoint."""
    root = tmp_path_factory.mktemp('image_model')
    cfg_path = write_config(root / 'stripes.py', TINY_IMAGE_CONFIG,
                            image_data_cfg(tiny_image_data))
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg_path).model)
    model.init_weights()
    ckpt = str(root / 'full.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return dict(config=cfg_path, checkpoint=ckpt, root=str(root))


def test_image_model_matches_test_dump_with_class_names(
        infer, image_model, tiny_image_data, tmp_path, clean_loggers):
    dump = tmp_path / 'preds.pkl'
    load_tool('test.py').main([
        image_model['config'], image_model['checkpoint'], '--work-dir',
        str(tmp_path / 'work'), '--dump',
        str(dump)
    ])
    with open(dump, 'rb') as f:
        expected = pickle.load(f)
    out = tmp_path / 'r.json'
    val = osp.join(tiny_image_data, 'val')
    assert infer([
        image_model['config'], image_model['checkpoint'], val, '--out',
        str(out)
    ]) == 0
    results = json.loads(out.read_text())
    assert len(results) == len(expected) == 8
    by_path = {e['img_path']: e for e in expected}
    for path, answers in results.items():
        answer = answers['stripes']
        torch.testing.assert_close(
            torch.tensor(answer['scores']),
            by_path[path]['pred_score'].float(),
            rtol=1e-6,
            atol=1e-6)
        assert answer['class'] == ['horizontal', 'vertical'][answer['label']]


def test_checkpoint_of_another_architecture_is_named(infer, image_model,
                                                     video_tasks, inputs,
                                                     tmp_path, capsys,
                                                     clean_loggers):
    out = tmp_path / 'r.json'
    capsys.readouterr()
    code = infer([
        image_model['config'], video_tasks['full']['checkpoint'],
        inputs['image'], '--out',
        str(out)
    ])
    assert code == 1
    printed = capsys.readouterr()
    error = _not_loaded(printed.err, 'stripes')
    assert error.startswith(video_tasks['full']['checkpoint'])
    # Printed once, for the model; no input was tried, nothing written.
    assert (printed.out + printed.err).count(error) == 1, printed
    assert printed.out == '' and not out.exists()


def test_class_names_come_from_the_checkpoint_not_the_data_now(
        infer, image_model, tiny_image_data, tmp_path, caplog, capsys,
        clean_loggers):
    """A checkpoint saved by MMEngine's Runner records the classes it was
    trained on; the data folder may have changed since (here it gained a
    class that sorts first), and a label map may name another number of
    classes. The names must be the trained ones, or none."""
    from mmengine.logging import MMLogger

    from mmadaptformer.apis import (LabelMapError, ModelInferencer,
                                    MultiTaskRecognizer)
    data = tmp_path / 'data'
    shutil.copytree(tiny_image_data, data)
    shutil.copytree(data / 'val' / 'vertical', data / 'val' / 'diagonal')
    config = write_config(tmp_path / 'later.py', image_model['config'],
                          image_data_cfg(str(data)))
    state = torch.load(image_model['checkpoint'])['state_dict']
    trained = str(tmp_path / 'trained.pth')
    torch.save(
        dict(
            state_dict=state,
            meta=dict(dataset_meta=dict(classes=('horizontal', 'vertical')))),
        trained)
    image = str(data / 'val' / 'vertical' / '0.png')
    out = tmp_path / 'r.json'
    assert infer([config, trained, image, '--out', str(out)]) == 0
    answer = json.loads(out.read_text())[image]['later']
    assert answer['class'] == ['horizontal', 'vertical'][answer['label']]
    engine = MultiTaskRecognizer()
    engine.add_task('a', config, trained)
    assert engine.classes_of('a') == ['horizontal', 'vertical']
    # Without classes in the checkpoint, the folders name 3 classes for a
    # 2-class head: no names rather than wrong ones, and a warning.
    untold = str(tmp_path / 'untold.pth')
    torch.save(dict(state_dict=state, meta={}), untold)
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        assert ModelInferencer(config, untold).classes is None
    finally:
        logger.removeHandler(handler)
    assert any('names 3 classes, but the model has 2' in r.getMessage()
               for r in records), [r.getMessage() for r in records]
    assert ModelInferencer(image_model['config'],
                           untold).classes == ['horizontal', 'vertical']
    # A label map of the wrong length is refused, naming it.
    label_map = tmp_path / 'labels.txt'
    label_map.write_text('a\nb\nc\n')
    with pytest.raises(
            ValueError,
            match=r'labels\.txt: 3 class names, but '
            'the model has 2 classes'):
        ModelInferencer(config, trained, label_map=str(label_map))
    # From the command line: a bad argument (exit status 2, as a missing
    # label map), one line naming the file, not a checkpoint error repeated
    # for every input.
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        infer([config, trained, image, '--label-map', str(label_map)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        f': error: --label-map {label_map}: 3 class names, but the model has '
        '2 classes (one name per line, label 0 first).')
    # A blank line between names would shift every later name by one.
    label_map.write_text('stripes across\n\nstripes down\n')
    with pytest.raises(LabelMapError, match=r'labels\.txt, line 2: a blank'):
        ModelInferencer(config, trained, label_map=str(label_map))
    # Blank lines at the end are fine.
    label_map.write_text('stripes across\nstripes down\n\n')
    assert ModelInferencer(
        config, trained, label_map=str(label_map)).classes == [
            'stripes across', 'stripes down'
        ]


def test_a_bad_label_map_the_config_names_costs_only_the_names(
        infer, image_model, tiny_image_data, tmp_path, log_records):
    """The config's label map (a recipe's ``classes``) is only a fallback
    for names: one with a blank line gives no names and a warning naming
    it, the scores are answered, and it is not taken for --label-map."""
    from mmadaptformer.apis import ModelInferencer
    label_map = tmp_path / 'stripes_label_map.txt'
    label_map.write_text('stripes across\n\nstripes down\n')
    config = write_config(
        tmp_path / 'named.py', image_model['config'],
        f'test_dataloader = dict(dataset=dict(classes={str(label_map)!r}))\n')
    image = osp.join(tiny_image_data, 'val', 'vertical', '0.png')
    out = tmp_path / 'r.json'
    assert infer([config, image_model['checkpoint'], image, '--out',
                  str(out)]) == 0
    answer = json.loads(out.read_text())[image]['named']
    assert answer['class'] is None and len(answer['scores']) == 2
    log_records.clear()
    assert ModelInferencer(config, image_model['checkpoint']).classes is None
    assert any(f'{label_map}, line 2: a blank line' in r.getMessage()
               for r in log_records), [r.getMessage() for r in log_records]


def test_arguments_that_cannot_work_are_refused_before_loading(
        infer, video_tasks, inputs, tmp_path, capsys):
    """Exit status 2 and the argument named, before any model loads: a task
    name given twice (the first task's answers were overwritten by the
    second's error), the reserved name 'error' (the results' error key), a
    missing config, checkpoint, --pretrained or label map (a missing
    checkpoint exited 1, a missing --pretrained was named as the
    checkpoint), --out naming a folder (found only after all the work),
    --topk below 1 (0 printed nothing, -1 one class) and a device that is
    not there (a RuntimeError named as the checkpoint)."""
    full = video_tasks['full']
    video = inputs['good'][0]
    error_config = tmp_path / 'error.py'
    error_config.write_text(f'_base_ = [{full["config"]!r}]\n')
    cases = [
        ([
            '--task', 'a', full['config'], full['checkpoint'], '--task', 'a',
            full['config'], full['checkpoint'], video
        ], '--task a is given twice, with .*full.py and .*full.py; the '
         'results are keyed by task name'),
        (['--task', 'error', full['config'], full['checkpoint'],
          video], "'error' is reserved"),
        (['--task', 'a',
          str(tmp_path / 'gone.py'), full['checkpoint'],
          video], 'gone.py: no such file'),
        ([
            full['config'], full['checkpoint'], video, '--label-map',
            str(tmp_path / 'names.txt')
        ], '--label-map .*names.txt: no such'),
        ([full['config'], full['checkpoint'], video, '--out',
          str(tmp_path)], 'is a folder'),
        ([str(error_config), full['checkpoint'], video],
         'error.py: the results name the model after the config file'),
        ([full['config'], str(tmp_path / 'gone.pth'),
          video], 'checkpoint .*gone.pth: no such file'),
        (['--task', 'a', full['config'],
          str(tmp_path / 'gone.pth'),
          video], 'checkpoint .*gone.pth: no such file'),
        ([
            full['config'], full['checkpoint'], video, '--pretrained',
            str(tmp_path / 'nope.pth')
        ], '--pretrained .*nope.pth: no such file'),
        ([full['config'], full['checkpoint'], video, '--topk',
          '0'], 'argument --topk: must be >= 1, got 0'),
        ([full['config'], full['checkpoint'], video, '--topk',
          '-1'], 'argument --topk: must be >= 1, got -1'),
        ([full['config'], full['checkpoint'], video, '--device',
          'cuda:99'], '--device cuda:99: this machine has'),
        ([full['config'], full['checkpoint'], video, '--device',
          'gpu'], '--device gpu: .*; ' + device_choices('give')),
    ]
    if not torch.cuda.is_available():
        cases.append(
            ([full['config'], full['checkpoint'], video, '--device',
              'cuda'], '--device cuda: this machine has no CUDA device'))
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit:
            infer(argv)
        assert exit.value.code == 2, argv
        assert re.search(message, capsys.readouterr().err), argv


def test_the_error_key_is_no_task_name(video_tasks, clean_loggers):
    from mmadaptformer.apis import (ModelInferencer, MultiTaskRecognizer,
                                    TaskError)
    full = video_tasks['full']
    with pytest.raises(ValueError, match="'error'.*is reserved"):
        ModelInferencer(full['config'], full['checkpoint'], name='error')
    with pytest.raises(TaskError, match="'error' is reserved"):
        MultiTaskRecognizer().add_task('error', full['config'],
                                       full['checkpoint'])


def test_a_model_that_cannot_load_names_what_caused_it(infer, video_tasks,
                                                       inputs, tmp_path,
                                                       capsys, clean_loggers):
    """A config mistake names the config file (and its line or key), not
    the checkpoint: they read ``ERROR full.pth: KeyError: 'AdaptFormr is
    not in the mmaction::model registry...'`` and ``ERROR full.pth:
    SyntaxError: '(' was never closed (<unknown>, line 2)``."""
    full = video_tasks['full']
    typo = write_config(tmp_path / 'typo.py', full['config'],
                        "model = dict(backbone=dict(type='AdaptFormr'))\n")
    broken = write_config(tmp_path / 'broken.py', full['config'],
                          'model = dict(backbone=dict(\n')
    expected = {
        typo: (f"ConfigError: {typo}: model.backbone.type='AdaptFormr' is "
               'not in the mmaction::model registry; did you mean '
               "'AdaptFormer'? Check the spelling, or import the module "
               'that registers it (custom_imports).'),
        broken: (f'ConfigError: The config {broken} is not valid Python: '
                 "'(' was never closed (line 2)."),
    }
    video = inputs['good'][0]
    for config, line in expected.items():
        name = osp.splitext(osp.basename(config))[0]
        capsys.readouterr()
        if config == broken:
            # A config that cannot be read: a usage error, said once
            # (test_infer_unreadable_config.py).
            with pytest.raises(SystemExit) as exit:
                infer([config, full['checkpoint'], video])
            assert exit.value.code == 2
            assert line.split(': ', 1)[1] in capsys.readouterr().err
        else:
            assert infer([config, full['checkpoint'], video]) == 1
            assert _not_loaded(capsys.readouterr().err, name) == line
        # One of several tasks: the same line, the others answer.
        out = tmp_path / 'r.json'
        assert infer([
            '--task', 'bad', config, full['checkpoint'], '--task', 'full',
            full['config'], full['checkpoint'], video, '--out',
            str(out)
        ]) == 1
        results = json.loads(out.read_text())[video]
        assert results['bad'] == dict(error=line)
        assert len(results['full']['scores']) == 2


@pytest.fixture(scope='module')
def damaged(tmp_path_factory, video_tasks):
    """Files that are no checkpoint, each with what the error says of it:
    the stock backbone cut in half, random bytes, a text file, and one
    that carries code (``marker`` is created if it ran)."""
    root = tmp_path_factory.mktemp('damaged')
    data = open(video_tasks['stock'], 'rb').read()
    files = dict(
        truncated=data[:len(data) // 2],
        random=bytes(range(256)) * 16,
        text=b'epoch 3, top-1 71.2\n')
    found = 'is truncated or corrupted and cannot be read'
    out = {}
    for kind, content in files.items():
        (root / f'{kind}.pth').write_bytes(content)
        out[kind] = (str(root / f'{kind}.pth'), found)
    # Text is named as such, before anything in it is unpickled.
    out['text'] = (out['text'][0], 'is text, not a checkpoint')
    marker = root / 'PAYLOAD_RAN'
    torch.save({
        'state_dict': {},
        'meta': CodePayload(marker)
    }, str(root / 'code.pth'))
    out['code'] = (str(root / 'code.pth'), 'carries a reference to code')
    return dict(files=out, marker=marker)


def _not_loaded(err: str, name: str, task: bool = False) -> str:
    """The error printed for the model ``name`` (``task=True``: the only
    --task) that could not be loaded, before the line that says nothing
    was classified."""
    start = f'{"task" if task else "model"} {name}: ERROR '
    what = 'no --task could be loaded' if task else \
        'the model could not be loaded'
    assert err.count(start) == 1, err
    error, said, rest = err.partition(start)[2].partition(
        f'\nNothing was classified: {what}')
    assert said and rest.count('\n') == 1, err
    return error


def _error(infer, argv, task, video, out, capsys):
    """Run infer.py; return the error of ``task`` for ``video`` (in the
    JSON where another task was loaded; as printed where none was, which
    writes no JSON) after checking the exit status and that it was
    printed once."""
    capsys.readouterr()
    if out.exists():
        out.unlink()
    assert infer(argv + ['--out', str(out)]) == 1, argv
    printed = capsys.readouterr()
    if argv.count('--task') < 2:
        assert not out.exists(), argv
        return _not_loaded(printed.err, task, '--task' in argv)
    error = json.loads(out.read_text())[video][task]['error']
    assert printed.err.count(f'task {task}: ERROR {error}\n') == 1, \
        (argv, printed.err)
    return error


def test_a_damaged_pretrained_backbone_is_named_not_the_checkpoint(
        infer, video_tasks, inputs, damaged, tmp_path, capsys, clean_loggers):
    """An adapter-only checkpoint with a pretrained backbone file that is
    damaged, the config's or --pretrained's: the line names that file and
    its role. The config's was read inside the checkpoint's load and read
    ``ERROR .../epoch_1.pth: CheckpointLoadError: Checkpoint file
    .../truncated.pth ... is truncated``, blaming the checkpoint; so was
    --pretrained; with --task, neither said which file it was."""
    full = video_tasks['full']
    video = inputs['good'][0]
    merged = str(tmp_path / 'merged.pth')
    load_tool('model_converters/merge_adapters.py').main(
        [full['config'], full['checkpoint'], merged])
    for kind, (path, reason) in damaged['files'].items():
        config = write_config(tmp_path / f'{kind}.py', full['config'],
                              pretrained_cfg(path))
        key = 'model.backbone.backbone.init_cfg.checkpoint'
        named = f'{path} (the pretrained backbone, {key} in {config}): '
        given = f'{path} (the pretrained backbone, --pretrained): '
        runs = [
            ([config, full['checkpoint'], video], kind, named),
            (['--task', 't', config, full['checkpoint'], video], 't', named),
            ([full['config'], full['checkpoint'], video, '--pretrained',
              path], 'full', given),
            ([
                '--task', 't', full['config'], full['checkpoint'], video,
                '--pretrained', path
            ], 't', given),
        ]
        for argv, task, start in runs:
            error = _error(infer, argv, task, video, tmp_path / 'r.json',
                           capsys)
            assert error.startswith(start + 'CheckpointLoadError: '), \
                (argv, error)
            assert reason in error, error
            assert full['checkpoint'] not in error, error
        # A merged checkpoint holds the backbone: the file is not read.
        out = tmp_path / 'merged.json'
        assert infer([config, merged, video, '--out', str(out)]) == 0
        assert len(json.loads(out.read_text())[video][kind]['scores']) == 2
    # An adapter-only checkpoint saved before the records (no meta flag, no
    # frozen-backbone record) is told by its shape: the same line. It read
    # 'ERROR .../old.pth: CheckpointLoadError: ... .../truncated.pth'.
    from mmadaptformer.models import FROZEN_HOST_KEY
    from mmadaptformer.utils import safe_torch_load
    from mmadaptformer.utils.adapter_only_fit import ADAPTER_META_KEY
    ckpt = safe_torch_load(full['checkpoint'])
    del ckpt['meta'][ADAPTER_META_KEY]
    ckpt['state_dict'] = {
        k: v
        for k, v in ckpt['state_dict'].items()
        if not k.endswith(FROZEN_HOST_KEY)
    }
    old = str(tmp_path / 'old.pth')
    torch.save(ckpt, old)
    path, reason = damaged['files']['truncated']
    config = str(tmp_path / 'truncated.py')
    key = 'model.backbone.backbone.init_cfg.checkpoint'
    error = _error(infer, [config, old, video], 'truncated', video,
                   tmp_path / 'r.json', capsys)
    assert error.startswith(f'{path} (the pretrained backbone, {key} in '
                            f'{config}): CheckpointLoadError: '), error
    assert not damaged['marker'].exists(), 'the payload ran'


def test_many_tasks_name_the_file_at_fault_as_one_model_does(
        infer, video_tasks, image_model, inputs, damaged, tmp_path, capsys,
        clean_loggers):
    """A checkpoint that cannot be loaded (damaged, carrying code, of
    another architecture) is named as with one model; with --task the line
    was ``TaskError: Task 't': CheckpointLoadError: ...``, naming no file
    as the one at fault."""
    full = video_tasks['full']
    video = inputs['good'][0]
    cases = [(full['config'], path) for path, _ in damaged['files'].values()]
    cases.append((image_model['config'], full['checkpoint']))
    for config, checkpoint in cases:
        alone = _error(infer, [config, checkpoint, video],
                       osp.splitext(osp.basename(config))[0], video,
                       tmp_path / 'alone.json', capsys)
        assert alone.startswith(f'{checkpoint}: '), alone
        together = _error(infer, ['--task', 't', config, checkpoint, video],
                          't', video, tmp_path / 'together.json', capsys)
        assert together == alone
    assert not damaged['marker'].exists(), 'the payload ran'


def test_a_test_pipeline_mistake_names_the_config_not_the_checkpoint(
        infer, video_tasks, inputs, damaged, tmp_path, capsys, clean_loggers):
    """A transform that cannot be built, or no test pipeline at all, is a
    mistake of the config, named before any file is read (the checkpoint
    here is random bytes). They read ``ERROR .../epoch_1.pth: TypeError:
    Resize.__init__() got an unexpected keyword argument 'bogus'`` and
    ``ERROR .../epoch_1.pth: KeyError: '...: neither ...'``."""
    from mmadaptformer.apis import (ModelInferencer, MultiTaskRecognizer,
                                    TaskLoadError)
    from mmadaptformer.utils import ConfigError
    full = video_tasks['full']
    video = inputs['good'][0]
    random_bytes = damaged['files']['random'][0]
    pipeline = ('test_dataloader = dict(dataset=dict(pipeline=['
                "dict(type='DecordInit'), {}]))\n")
    bogus = write_config(
        tmp_path / 'bogus.py', full['config'],
        pipeline.format("dict(type='Resize', scale=(-1, 32), bogus=1)"))
    typo = write_config(tmp_path / 'typo.py', full['config'],
                        pipeline.format("dict(type='Resze', scale=(-1, 32))"))
    none = write_config(
        tmp_path / 'none.py', full['config'],
        'test_dataloader = dict(_delete_=True, batch_size=1)\n'
        'test_pipeline = None\n')
    key = 'test_dataloader.dataset.pipeline'
    expected = {
        bogus: (f'ConfigError: {bogus}: {key}[1] (Resize) cannot be built: '
                'TypeError: Resize.__init__() got an unexpected keyword '
                "argument 'bogus'."),
        typo: (f"ConfigError: {typo}: {key}[1].type='Resze' is not in the "
               "mmaction::transform registry; did you mean 'Resize'?"),
        none: (f'ConfigError: {none}: neither test_dataloader.dataset.'
               'pipeline nor test_pipeline is set.'),
    }
    for config, line in expected.items():
        name = osp.splitext(osp.basename(config))[0]
        for checkpoint in (full['checkpoint'], random_bytes):
            alone = _error(infer, [config, checkpoint, video], name, video,
                           tmp_path / 'alone.json', capsys)
            assert alone.startswith(line), alone
            together = _error(infer,
                              ['--task', 't', config, checkpoint, video], 't',
                              video, tmp_path / 'together.json', capsys)
            assert together == alone
        # The APIs raise it, as the tool shows it.
        with pytest.raises(ConfigError) as error:
            ModelInferencer(config, random_bytes)
        assert f'ConfigError: {error.value}'.startswith(line)
        with pytest.raises(TaskLoadError) as error:
            MultiTaskRecognizer().add_task('t', config, random_bytes)
        assert isinstance(error.value.__cause__, ConfigError)


def test_a_pretrained_file_refusal_names_the_file_once(infer, video_tasks,
                                                       inputs, tmp_path,
                                                       capsys, clean_loggers):
    """``--pretrained`` given an adapter-only checkpoint: the line named
    it twice (``X (the pretrained backbone, --pretrained):
    PretrainedFileError: X is an adapter-only checkpoint``)."""
    full = video_tasks['full']
    video = inputs['good'][0]
    adapters = full['checkpoint']
    error = _error(infer,
                   [full['config'], adapters, video, '--pretrained', adapters],
                   'full', video, tmp_path / 'r.json', capsys)
    assert error.startswith(
        f'{adapters} (the pretrained backbone, --pretrained): '
        'PretrainedFileError: it is an adapter-only checkpoint: it holds '
        'what trained'), error
    assert error.count(adapters) == 1, error


def test_cfg_options_change_the_config_as_a_child_config_would(
        infer, video_tasks, inputs, tmp_path, capsys, clean_loggers):
    """``--cfg-options`` (as tools/test.py takes it) answers as a config
    file with the same change: one clip per view instead of two. A word
    without ``=`` after it (an INPUT) is refused by name, exit 2, not
    taken as an option; a key that is not there names the option."""
    full = video_tasks['full']
    video = inputs['good'][0]
    option = 'test_dataloader.dataset.pipeline.1.num_clips=1'
    child = write_config(
        tmp_path / 'full.py', full['config'],
        'test_dataloader = dict(dataset=dict(pipeline=[dict(type='
        "'DecordInit'), dict(type='SampleFrames', clip_len=4, "
        'frame_interval=3, num_clips=1, test_mode=True), dict(type='
        "'DecordDecode'), dict(type='Resize', scale=(-1, 32)), dict(type="
        "'ThreeCrop', crop_size=32), dict(type='FormatShape', "
        "input_format='NCTHW'), dict(type='PackActionInputs')]))\n")

    def scores(argv, task='full'):
        out = tmp_path / 'r.json'
        assert infer(['--out', str(out)] + argv) == 0, argv
        return json.loads(out.read_text())[video][task]['scores']

    changed = scores(
        [full['config'], full['checkpoint'], video, '--cfg-options', option])
    assert changed == scores([child, full['checkpoint'], video])
    assert changed != scores([full['config'], full['checkpoint'], video])
    assert changed == scores([
        '--task', 'full', full['config'], full['checkpoint'], video,
        '--cfg-options', option
    ])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        infer([
            full['config'], full['checkpoint'], '--cfg-options', option, video
        ])
    assert exit.value.code == 2
    assert (f"--cfg-options: '{video}' is no KEY=VALUE; it takes every "
            'word up to the next option, so give the other arguments before '
            'it, or end its list with --') in capsys.readouterr().err
    assert changed == scores([
        full['config'], full['checkpoint'], '--cfg-options', option, '--',
        video
    ])
    # A key the config lacks is a usage error, said once.
    with pytest.raises(SystemExit) as exit:
        infer([
            full['config'], full['checkpoint'], video, '--out',
            str(tmp_path / 'r.json'), '--cfg-options',
            'test_dataloader.dataset.pipeline.9.num_clips=1'
        ])
    assert exit.value.code == 2
    assert ('error: --cfg-options test_dataloader.dataset.pipeline.9.'
            f"num_clips=1 cannot be merged into the config {full['config']}: "
            'KeyError: "Index 9 exceeds the length of list'
            ) in capsys.readouterr().err
    # A misspelled type and a misspelled argument name the option, not the
    # checkpoint.
    for wrong, line in [
        ('model.backbone.type=AdaptFormr',
         "--cfg-options model.backbone.type='AdaptFormr' is not in the "
         'mmaction::model registry'),
        ('model.cls_head.num_clases=2',
         '--cfg-options model.cls_head.num_clases=2: BNLinearHead (through '
         "BaseHead.__init__) takes no argument 'num_clases' (did you mean "
         "'num_classes'"),
    ]:
        error = _error(infer, [
            full['config'], full['checkpoint'], video, '--cfg-options', wrong
        ], 'full', video, tmp_path / 'r.json', capsys)
        assert error.startswith(f"{full['config']}: ConfigError: {line}"), \
            error
    # An argument SampleFrames would drop without a word, and a type no
    # registry holds: the test pipeline is checked, as train.py and
    # test.py check theirs, and the option that broke it is named.
    for wrong, line in [
        ('test_dataloader.dataset.pipeline.1.num_clip=1',
         '--cfg-options test_dataloader.dataset.pipeline.1.num_clip=1: '
         "SampleFrames takes no argument 'num_clip' (did you mean "
         "'num_clips'?)"),
        ('model.test_cfg.max_testing_view=2',
         '--cfg-options model.test_cfg.max_testing_view=2: Recognizer3D does '
         'not read test_cfg.max_testing_view (did you mean '
         "'max_testing_views'?)"),
        ('test_dataloader.dataset.pipeline.1.type=SampleFrame',
         '--cfg-options test_dataloader.dataset.pipeline.1.type='
         "'SampleFrame' is not in the mmaction::transform registry"),
    ]:
        error = _error(infer, [
            full['config'], full['checkpoint'], video, '--cfg-options', wrong
        ], 'full', video, tmp_path / 'r.json', capsys)
        assert error.startswith(f"{full['config']}: ConfigError: {line}"), \
            error


def test_per_view_scores_and_capped_views_through_the_tool(
        infer, video_tasks, inputs, tmp_path, capsys, clean_loggers):
    """``--cfg-options model.cls_head.average_clips=None`` answered every
    input with a wrong label, then crashed in ``_top`` (``TypeError: bad
    operand type for unary -: 'list'``) with nothing written: now the
    model is refused on one line before any input is read. ``--batch-size
    4`` with ``model.test_cfg.max_testing_views=4`` crashed with mmaction2's
    AssertionError: now each input is forwarded alone, with the scores of
    ``--batch-size 1``."""
    full = video_tasks['full']
    video = inputs['good'][0]
    error = _error(infer, [
        full['config'], full['checkpoint'], video, '--cfg-options',
        'model.cls_head.average_clips=None'
    ], 'full', video, tmp_path / 'none.json', capsys)
    # Named by the option that set it, as train.py and test.py name it.
    assert error.startswith(
        f"{full['config']}: ConfigError: --cfg-options "
        'model.cls_head.average_clips=None: average_clips=None keeps one row '
        'of class scores per test view, so an input gets no one label'), error

    def scores(batch_size):
        out = tmp_path / f'capped{batch_size}.json'
        assert infer([
            full['config'], full['checkpoint'], video, inputs['good'][1],
            '--out',
            str(out), '--batch-size',
            str(batch_size), '--cfg-options',
            'model.test_cfg.max_testing_views=4'
        ]) == 0
        return json.loads(out.read_text())

    assert scores(4) == scores(1)


# tools/infer.py run as its command line does, with the kernel's file size
# limit at a few bytes and SIGXFSZ ignored: writing --out fails with EFBIG,
# "File too large", as a full disk or quota would.
_LIMITED_INFER = '''
import resource
import runpy
import signal
import sys

sys.dont_write_bytecode = True  # the limit is for the tool's output
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), hard))
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def test_a_failed_out_write_keeps_the_old_file_and_says_so(
        video_tasks, inputs, tmp_path):
    """--out was written in place: a write that failed half-way (disk
    full) left a truncated JSON and ended with a traceback."""
    import subprocess
    import sys

    from helpers import REPO_ROOT
    task = video_tasks['full']
    out = tmp_path / 'r.json'
    out.write_text('{"old": 1}\n')
    # Inputs with 3.5 kB paths make a JSON of 37 kB, over a limit of 32 kB
    # that the config copies MMEngine writes while loading keep under.
    deep = tmp_path / 'in'
    for i in range(14):
        deep = deep / (f'{i:02d}' + 'x' * 248)
    deep.mkdir(parents=True)
    links = [deep / f'clip_{i}.mp4' for i in range(10)]
    for link in links:
        link.symlink_to(inputs['good'][0])
    # Through a pipe, which the limit does not cut, unlike a file.
    proc = subprocess.run([
        sys.executable, '-c', _LIMITED_INFER,
        str(32 * 1024),
        osp.join(REPO_ROOT, 'tools', 'infer.py'), task['config'],
        task['checkpoint'], *map(str, links), '--out',
        str(out)
    ],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=300)
    refused_line(proc)
    assert f'{links[-1]}: full: ' in proc.stdout, proc.stdout[-3000:]
    assert (f'AtomicWriteError: [Errno 27] Could not write {out}: File too '
            'large after 32768 of ') in proc.stdout, proc.stdout[-3000:]
    assert out.read_text() == '{"old": 1}\n'
    assert sorted(os.listdir(tmp_path)) == ['in', 'r.json']
