# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read a run's datasets before the Runner makes the work dir, once.

:func:`~.dataset_check.check_datasets` builds each dataset with
``lazy_init=True``: it reads no annotation list beyond the checks of its
lines. What only the full build finds, an empty list, a listed video that
is missing (``check_files='sample'``), or a validation video that is
broken (``CheckedVideoDataset`` and ``CheckedImageDataset`` check every
file of a test-mode list when they are built), was found by the Runner,
after it had made the work dir, its log and config copy and built the
model: a run that never started left them behind.
:func:`read_datasets` reads them first, and the tools hand the datasets
it read to the Runner (:func:`~mmadaptformer.engine.build_runner`), which
then reads no list, scans no image folder and checks no video again.
"""
from typing import Dict, Mapping, Sequence

__all__ = ['read_datasets']


def _downloads(dataset) -> bool:
    """Whether ``dataset``, or one it wraps, may download its data
    (mmpretrain's ``CIFAR10``/``MNIST`` family with ``download=True``)."""
    if getattr(dataset, 'download', False) is True:
        return True
    inner = getattr(dataset, 'datasets', None)
    if not isinstance(inner, (list, tuple)):
        inner = [getattr(dataset, 'dataset', None)]
    return any(_downloads(d) for d in inner if d is not None)


def read_datasets(datasets: Mapping[str, object],
                  loaders: Sequence[str]) -> Dict[str, object]:
    """Build fully (``full_init``) the datasets of ``loaders``, which
    :func:`~.dataset_check.check_datasets` built lazily, so that an
    annotation list that lists nothing, or a listed file that is missing
    or broken, is refused with the dataset's own error (naming the file
    and line) before the Runner makes the work dir.

    A dataset that may download its data is left to the Runner, which
    builds it with its ranks' process group set up (rank 0 downloads, the
    others wait).

    Args:
        datasets (Mapping[str, object]): ``{loader: dataset}``, as
            :func:`~.dataset_check.check_datasets` returns them; a loader
            not in it (a dataset class without ``lazy_init``) is left to
            the Runner.
        loaders (Sequence[str]): The loaders to read, e.g.
            ``['train_dataloader', 'val_dataloader']``.

    Returns:
        dict: ``{loader: dataset}`` of the datasets read, for the Runner
        to use as they are (``build_runner(cfg, datasets)``).

    Raises:
        Exception: What the dataset raises when it is built, as the Runner
            would have met it (``AnnotationError``, ``FileNotFoundError``,
            ``BrokenVideoError`` ...).
    """
    read = {}
    for loader in loaders:
        dataset = datasets.get(loader)
        full_init = getattr(dataset, 'full_init', None)
        if callable(full_init) and not _downloads(dataset):
            full_init()
            read[loader] = dataset
    return read
