# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine's ``last_checkpoint`` given to the Python APIs as the
checkpoint is named as that record, with the checkpoint it names, before
the model is built, as the tools name it
(``tests/test_tools/test_last_checkpoint_given.py``).

Before, ``init_model`` and ``ModelInferencer`` refused it only when they
loaded it, after building the model: with a config whose model cannot be
built they raised the registry's ``KeyError: 'NoSuchVisionTransformer is
not in the mmpretrain::model registry ...'`` instead. The words are the
loader's, which the toolboxes' own APIs get
(``tests/test_utils/test_text_checkpoints.py``).
"""
import pytest
from mmengine.config import Config

from mmadaptformer.apis import ModelInferencer, MultiTaskRecognizer, init_model
from mmadaptformer.utils import CheckpointLoadError

LOADS = dict(
    init_model=init_model,
    ModelInferencer=ModelInferencer,
    add_task=lambda *args: MultiTaskRecognizer().add_task('t', *args),
)


@pytest.fixture
def trained(last_checkpoint_run):
    """A real training run's ``last_checkpoint`` record and the
    checkpoint it names."""
    return last_checkpoint_run


@pytest.mark.parametrize('api', sorted(LOADS))
@pytest.mark.parametrize('buildable', [True, False])
def test_api_names_the_record_before_building(trained, api, buildable,
                                              clean_loggers):
    """The record, named in the loader's words; the file it names is not
    loaded in its place. A config whose backbone no registry holds shows
    that the model was not built first. Kept behaviour: the same words
    once the model was built, and ``add_task``, which read its checkpoint
    before building already."""
    cfg = Config.fromfile(trained['config'])
    if not buildable:
        cfg.model.backbone.type = 'NoSuchVisionTransformer'
    with pytest.raises(Exception) as info:
        LOADS[api](cfg, trained['record'])
    said = str(info.value)
    assert 'NoSuchVisionTransformer' not in said
    size = len(trained['named'])
    assert (f'Checkpoint file {trained["record"]} ({size} bytes) is '
            "MMEngine's last_checkpoint record, not a checkpoint: a line of "
            'text that training writes to name the newest checkpoint it '
            f'saved, {trained["named"]}. Give that file (or another '
            'checkpoint of the run) as the checkpoint. It was not loaded: '
            'nothing in it was unpickled.') in said
    # add_task wraps it in TaskLoadError, naming the task.
    error = info.value if api != 'add_task' else info.value.__cause__
    assert isinstance(error, CheckpointLoadError)


def test_the_file_the_record_names_loads(trained, clean_loggers):
    """Guard of kept behaviour: the checkpoint itself (a binary pickle, no
    record) passes the early check and loads."""
    model, meta = init_model(trained['config'], trained['named'])
    assert meta['epoch'] == 2
