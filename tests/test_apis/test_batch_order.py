# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Each input keeps its own scores when a batch holds inputs of several
sizes, interleaved: the tiny image config's test pipeline does not resize,
so each size is forwarded on its own (``same_shape_runs``) and the scores
go back to the inputs' places."""
import cv2
import numpy as np
import pytest
import torch
from checkpoint_makers import save_stock_image_checkpoint
from helpers import TINY_IMAGE_CONFIG

from mmadaptformer.apis import ModelInferencer


@pytest.fixture
def images(tmp_path):
    """Five noise images, 32 and 48 pixels, the sizes interleaved."""
    rng = np.random.default_rng(0)
    paths = []
    for index, size in enumerate((32, 48, 32, 48, 32)):
        paths.append(str(tmp_path / f'{index}_{size}.png'))
        cv2.imwrite(paths[-1],
                    rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    return paths


def test_interleaved_sizes_keep_their_scores(images, tmp_path, clean_loggers):
    """Guards against scores put back in run order rather than at each
    input's index (``ModelInferencer.predict``): with sizes 32, 48, 32,
    48, 32 in one batch, the second input got the third's scores."""
    ckpt = str(tmp_path / 'vit.pth')
    save_stock_image_checkpoint(ckpt)
    engine = ModelInferencer(TINY_IMAGE_CONFIG, ckpt, name='vit')
    alone = engine(images, batch_size=1)
    # All five in one batch, and a batch of 2 + 2 + 1 (a partial last one).
    for batch_size in (5, 2):
        together = engine(images, batch_size=batch_size)
        assert list(together) == images
        for image in images:
            # A batch of several runs other kernels: equal to rounding.
            torch.testing.assert_close(
                torch.tensor(together[image]['vit']['scores']),
                torch.tensor(alone[image]['vit']['scores']),
                rtol=1e-5,
                atol=1e-6,
                msg=f'batch_size={batch_size}, {image}')
    # The inputs score differently, so a swap would show.
    scores = [torch.tensor(r['vit']['scores']) for r in alone.values()]
    assert min((a - b).abs().max() for i, a in enumerate(scores)
               for b in scores[i + 1:]) > 1e-4


def test_tasks_keep_each_inputs_scores_over_interleaved_sizes(
        images, tiny_image_data, tmp_path, clean_loggers):
    """Guards against the multi-task engine putting scores back in run
    order rather than at each input's index
    (``MultiTaskRecognizer._forward_group``): with sizes 32, 48, 32, 48,
    32 in one batch, the second input got the third's scores."""
    from adapter_tasks import random_task_checkpoints
    from helpers import stripes_config

    from mmadaptformer.apis import MultiTaskRecognizer
    config = stripes_config(tmp_path, tiny_image_data)
    checkpoints = random_task_checkpoints(config, 'mmpretrain', tmp_path)
    engine = MultiTaskRecognizer()
    for name, checkpoint in zip('ab', checkpoints):
        engine.add_task(name, config, checkpoint)
    together = engine(images, batch_size=5)
    assert list(together) == images
    for name, checkpoint in zip('ab', checkpoints):
        alone = ModelInferencer(config, checkpoint, name=name)(images)
        scores = [torch.tensor(alone[i][name]['scores']) for i in images]
        assert min((a - b).abs().max() for i, a in enumerate(scores)
                   for b in scores[i + 1:]) > 1e-4
        for image, expected in zip(images, scores):
            torch.testing.assert_close(
                torch.tensor(together[image][name]['scores']),
                expected,
                rtol=1e-5,
                atol=1e-6,
                msg=f'task {name}, {image}')
