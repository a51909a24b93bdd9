# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Read the evaluation datasets before the Runner makes the work dir.

:func:`~.dataset_check.check_datasets` builds each dataset with
``lazy_init=True``: it reads no annotation list beyond the checks of its
lines. What only the full build finds, an empty list, or a validation
video that is missing or broken (``CheckedVideoDataset`` and
``CheckedImageDataset`` check every file of a test-mode list when they are
built), was found by the Runner's validation loop, after it had made the
work dir, its log and config copy and built the model: a run that never
started left them behind. :func:`read_evaluation_data` reads them first.
"""
from typing import Mapping, Sequence

__all__ = ['read_evaluation_data']


def _downloads(dataset) -> bool:
    """Whether ``dataset``, or one it wraps, may download its data
    (mmpretrain's ``CIFAR10``/``MNIST`` family with ``download=True``)."""
    if getattr(dataset, 'download', False) is True:
        return True
    inner = getattr(dataset, 'datasets', None)
    if not isinstance(inner, (list, tuple)):
        inner = [getattr(dataset, 'dataset', None)]
    return any(_downloads(d) for d in inner if d is not None)


def read_evaluation_data(datasets: Mapping[str, object],
                         loaders: Sequence[str]) -> None:
    """Build fully (``full_init``) the datasets of the evaluation loaders,
    which :func:`~.dataset_check.check_datasets` built lazily, so that an
    annotation list that lists nothing, or a listed file that is missing
    or broken, is refused with the dataset's own error (naming the file
    and line) before the Runner makes the work dir.

    The Runner builds them again: reading an evaluation list and the
    headers of its files a second time costs little once they are in the
    page cache. A dataset that may download its data is left to the
    Runner, which builds it with its ranks' process group set up (rank 0
    downloads, the others wait).

    Args:
        datasets (Mapping[str, object]): ``{loader: dataset}``, as
            :func:`~.dataset_check.check_datasets` returns them; a loader
            not in it (a dataset class without ``lazy_init``) is left to
            the Runner.
        loaders (Sequence[str]): The evaluation loaders to read, e.g.
            ``['val_dataloader']``.

    Raises:
        Exception: What the dataset raises when it is built, as the Runner
            would have met it (``AnnotationError``, ``FileNotFoundError``,
            ``BrokenVideoError`` ...).
    """
    for loader in loaders:
        dataset = datasets.get(loader)
        full_init = getattr(dataset, 'full_init', None)
        if callable(full_init) and not _downloads(dataset):
            full_init()
