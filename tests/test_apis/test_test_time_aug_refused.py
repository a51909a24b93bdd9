# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An image config whose test pipeline holds MMPretrain's ``TestTimeAug``
(the ``tta_pipeline`` that ``tools/test.py --tta`` uses, put in
``test_dataloader.dataset.pipeline``) is refused where inference builds
the test pipeline, naming the config, the key and index, and what to do.

``TestTimeAug`` gives each input several augmented copies, which only a
test-time augmentation wrapper (``tta_model``) merges; inference runs the
model itself. Before, ``ModelInferencer``, ``MultiTaskRecognizer.add_task``
and ``tools/infer.py`` built it and then failed on the first input inside
MMPretrain's data preprocessor with a traceback (``AttributeError: 'tuple'
object has no attribute 'size'``), naming neither the step nor the
config."""
import pytest
from checkpoint_makers import save_as_built_checkpoint
from config_writers import write_config
from repo_paths import TINY_IMAGE_CONFIG
from tool_runners import run_tool

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer
from mmadaptformer.apis.multitask_tasks import TaskLoadError
from mmadaptformer.utils.config_error import ConfigError

_TTA = '''
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
        [dict(type='PackInputs')]]),
]))
'''


def _message(config):
    return (f'{config}: test_dataloader.dataset.pipeline[1] is TestTimeAug, '
            'which gives each input several augmented copies for a '
            "test-time augmentation model to merge (the config's tta_model, "
            'which tools/test.py --tta wraps the model in, with tta_pipeline '
            'as its test pipeline); inference runs the model itself, which '
            'takes one copy per input. Give test_dataloader.dataset.pipeline '
            'without TestTimeAug (tools/test.py --tta still uses '
            'tta_pipeline).')


@pytest.fixture(scope='module')
def tta_model(tmp_path_factory):
    root = tmp_path_factory.mktemp('test_time_aug')
    config = write_config(root / 'tta.py', TINY_IMAGE_CONFIG, _TTA)
    checkpoint = save_as_built_checkpoint(TINY_IMAGE_CONFIG,
                                          root / 'model.pth')
    return dict(root=root, config=config, checkpoint=checkpoint)


def test_model_inferencer_refuses_test_time_aug(tta_model):
    with pytest.raises(ConfigError) as info:
        ModelInferencer(tta_model['config'], tta_model['checkpoint'])
    assert str(info.value) == _message(tta_model['config'])


def test_add_task_refuses_test_time_aug(tta_model):
    engine = MultiTaskRecognizer()
    with pytest.raises(TaskLoadError) as info:
        engine.add_task('tta', tta_model['config'], tta_model['checkpoint'])
    assert isinstance(info.value.__cause__, ConfigError)
    assert str(info.value.__cause__) == _message(tta_model['config'])
    assert engine.tasks == []


def test_infer_names_the_test_time_aug_step(tta_model, tiny_image_data):
    image = f'{tiny_image_data}/val/vertical/0.png'
    proc = run_tool(
        ['infer.py', tta_model['config'], tta_model['checkpoint'], image],
        cwd=str(tta_model['root']),
        check=False,
        separate_stderr=True)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ''
    assert 'Traceback' not in proc.stderr
    assert (f'model tta: ERROR ConfigError: {_message(tta_model["config"])}'
            in proc.stderr.splitlines()), proc.stderr
