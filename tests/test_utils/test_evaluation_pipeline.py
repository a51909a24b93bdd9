# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Which evaluation pipeline runs, for the errors of its transforms: the
loop stage MMEngine's RuntimeInfoHook records, in the dataloader's worker
processes too."""
import pytest
from mmengine.logging import MessageHub
from torch.utils.data import DataLoader, Dataset

from mmadaptformer.utils.transform_steps import evaluation_pipeline


class _Stage(Dataset):
    """One sample: the pipeline :func:`evaluation_pipeline` names where the
    sample is loaded."""

    def __len__(self):
        return 1

    def __getitem__(self, idx):
        return evaluation_pipeline()


@pytest.fixture
def hub():
    hub = MessageHub.get_current_instance()
    before = hub.get_info('loop_stage')
    yield hub
    if before is None:
        hub.pop_info('loop_stage', None)
    else:
        hub.update_info('loop_stage', before)


@pytest.mark.parametrize('stage, key', [
    ('val', 'val_dataloader.dataset.pipeline'),
    ('test', 'test_dataloader.dataset.pipeline'),
])
def test_a_worker_names_the_loop_that_started_it(hub, stage, key):
    hub.update_info('loop_stage', stage)
    loader = DataLoader(
        _Stage(), batch_size=None, num_workers=1, collate_fn=lambda x: x)
    assert list(loader) == [(stage, key)]


def test_outside_an_evaluation_loop_the_pipeline_is_the_datasets(hub):
    """Guard of kept behaviour: a dataset used directly (or in training)
    says "the test pipeline" and ``pipeline[N]``, as before."""
    hub.pop_info('loop_stage', None)
    assert evaluation_pipeline() == ('test', 'pipeline')
    hub.update_info('loop_stage', 'train')
    assert evaluation_pipeline() == ('test', 'pipeline')
