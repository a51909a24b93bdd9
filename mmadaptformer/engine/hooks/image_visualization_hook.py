# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Draw each test image with its predicted and true label, one file per
image, whatever folder it is in."""
import math
import os.path as osp
from typing import Sequence, Tuple

from mmengine.fileio import join_path
from mmpretrain.engine.hooks import VisualizationHook
from mmpretrain.registry import HOOKS

from .strict_evaluation import wrapped_datasets

__all__ = ['ImageVisualizationHook', 'drawing_name', 'image_roots']


def image_roots(dataset) -> Tuple[str, ...]:
    """The image folders (``data_prefix['img_path']``) of ``dataset`` and
    of the datasets it wraps, longest first.

    Args:
        dataset: A dataset, or None.

    Returns:
        tuple[str]: The folders, each once.
    """
    roots = set()
    for _, inner in wrapped_datasets(dataset, 'dataset'):
        prefix = (getattr(inner, 'data_prefix', None) or {}).get('img_path')
        if isinstance(prefix, str) and prefix:
            roots.add(osp.normpath(prefix))
    return tuple(sorted(roots, key=lambda root: (-len(root), root)))


def drawing_name(img_path: str, roots: Sequence[str] = ()) -> str:
    """The name a test image's drawing is saved under: its path below the
    first of ``roots`` that holds it (``cat/0.jpg`` for
    ``data/val/cat/0.jpg`` and the root ``data/val``), else its file name.

    Args:
        img_path (str): The image's path, as the dataset gives it.
        roots (Sequence[str]): The image folders, longest first
            (:func:`image_roots`). Defaults to ().

    Returns:
        str: A relative path, with ``/`` between folders.
    """
    path = osp.normpath(img_path)
    for root in roots:
        if path.startswith(root.rstrip(osp.sep) + osp.sep):
            return osp.relpath(path, root).replace(osp.sep, '/')
    return osp.basename(img_path)


@HOOKS.register_module()
class ImageVisualizationHook(VisualizationHook):
    """MMPretrain's ``VisualizationHook`` with one drawing per test image.

    MMPretrain's hook saves each drawing as ``out_dir/<file name>_<step>
    .png``, so the images of an ``ImageNet``-style test set that share a
    file name in different class folders (``val/cat/0.jpg``,
    ``val/dog/0.jpg``) were all drawn to one file, the last one kept. This
    hook keeps each image's path below its dataset's image folder
    (``out_dir/cat/0.jpg_0.png``, ``out_dir/dog/0.jpg_0.png``); an image
    directly in that folder, or outside it, is named as MMPretrain names
    it. Made for AdaptFormer's image recipes (arXiv 2205.13535);
    ``tools/test.py --show-dir`` enables it.

    It takes MMPretrain's ``VisualizationHook`` arguments (``enable``,
    ``interval``, ``show``, ``out_dir`` and ``visualize_cls``'s).

    Examples:
        >>> default_hooks = dict(
        ...     visualization=dict(type='ImageVisualizationHook',
        ...                        enable=False))
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._roots: Tuple[str, ...] = ()
        # The loop's index of the next batch's first sample: batch_idx x
        # the batch size is wrong for a last batch that is smaller.
        self._next_sample = 0

    def before_val(self, runner) -> None:
        """Count the samples from 0; read the validation set's image
        folders."""
        self._next_sample = 0
        self._roots = image_roots(runner.val_loop.dataloader.dataset)

    def before_test(self, runner) -> None:
        """Count the samples from 0; read the test set's image folders."""
        self._next_sample = 0
        self._roots = image_roots(runner.test_loop.dataloader.dataset)

    def _draw_samples(self,
                      batch_idx: int,
                      data_batch: dict,
                      data_samples: Sequence,
                      step: int = 0) -> None:
        """Draw every ``interval``-th sample of a batch, as MMPretrain's
        hook does, each under :func:`drawing_name`; the samples are
        numbered in the order the loop met them."""
        start = self._next_sample
        self._next_sample = start + len(data_samples)
        if self.enable is False:
            return
        first = math.ceil(start / self.interval) * self.interval
        for sample_id in range(first, start + len(data_samples),
                               self.interval):
            image = data_batch['inputs'][sample_id - start]
            image = image.permute(1, 2, 0).cpu().numpy().astype('uint8')
            data_sample = data_samples[sample_id - start]
            if 'img_path' in data_sample:
                name = drawing_name(data_sample.get('img_path'), self._roots)
            else:
                name = str(sample_id)
            draw_args = dict(self.draw_args)
            if self.out_dir is not None:
                draw_args['out_file'] = join_path(self.out_dir,
                                                  f'{name}_{step}.png')
            self._visualizer.visualize_cls(
                image=image,
                data_sample=data_sample,
                step=step,
                name=name,
                **draw_args)
