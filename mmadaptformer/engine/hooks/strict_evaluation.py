# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Find the datasets a dataloader's dataset wraps, and refuse an
evaluation set that would replace its broken files by other samples."""
from typing import Iterator, List, Tuple

from mmadaptformer.datasets.checked_image_dataset import CheckedImageDataset
from mmadaptformer.datasets.checked_video_dataset import CheckedVideoDataset
from mmadaptformer.utils import ConfigError

__all__ = ['wrapped_datasets', 'check_strict_evaluation']

# The checked datasets that replace a broken file by another sample unless
# test_mode=True, and the files they read.
_LENIENT_IN_TRAINING = (
    (CheckedImageDataset, 'image'),
    (CheckedVideoDataset, 'video'),
)


def wrapped_datasets(dataset, key: str) -> Iterator[Tuple[str, object]]:
    """The config keys and datasets of ``dataset`` and of the datasets it
    wraps, outermost first.

    MMEngine's ``RepeatDataset`` and ``ClassBalancedDataset`` and
    mmpretrain's ``KFoldDataset`` wrap one dataset as ``.dataset``;
    ``ConcatDataset`` wraps several as ``.datasets``.

    Args:
        dataset: A dataset, or None (nothing is yielded).
        key (str): Its config key, e.g. ``'val_dataloader.dataset'``.

    Yields:
        tuple[str, object]: ``(key, dataset)``, e.g.
        ``('val_dataloader.dataset.datasets.1', dataset)``.
    """
    if dataset is None:
        return
    yield key, dataset
    inner = getattr(dataset, 'dataset', None)
    if inner is not None and inner is not dataset:
        yield from wrapped_datasets(inner, f'{key}.dataset')
    for index, inner in enumerate(getattr(dataset, 'datasets', None) or ()):
        yield from wrapped_datasets(inner, f'{key}.datasets.{index}')


def _lenient(dataset, key: str) -> List[Tuple[str, str, object]]:
    """``(key, noun, dataset)`` of each checked dataset in ``dataset``
    with ``test_mode=False``."""
    found = []
    for inner_key, inner in wrapped_datasets(dataset, key):
        for cls, noun in _LENIENT_IN_TRAINING:
            if isinstance(inner, cls) and not inner.test_mode:
                found.append((inner_key, noun, inner))
    return found


def check_strict_evaluation(loop, key: str) -> None:
    """Refuse an evaluation loop whose dataset would skip broken files.

    :class:`~mmadaptformer.datasets.CheckedImageDataset` and
    :class:`~mmadaptformer.datasets.CheckedVideoDataset` with
    ``test_mode=False`` replace a broken image or video by another sample,
    as in training: an evaluation set built so (mmpretrain's dataset
    configs leave ``test_mode`` unset for validation; a video config may
    forget it) would score the wrong samples, silently. Datasets wrapped by
    MMEngine's dataset wrappers are checked too.

    ``CheckedVideoDataset``'s ``skip_broken=True`` does not make such a set
    acceptable: it scans and drops broken videos, with a WARNING listing
    them, only in test mode; with ``test_mode=False`` it does nothing and
    broken videos are still swapped during evaluation.

    Args:
        loop: A validation or test loop of MMEngine, or None.
        key (str): Its dataloader's config key, for the message.

    Raises:
        ConfigError: If the loop's dataset is, or wraps, a
            ``CheckedImageDataset`` or ``CheckedVideoDataset`` with
            ``test_mode=False``; it names each such dataset's config key
            and the option to set. The tools end with it on one line, exit
            status 1, as with every other config mistake.
    """
    dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
    lenient = _lenient(dataset, f'{key}.dataset')
    if not lenient:
        return
    keys = ('each of ' if len(lenient) > 1 else '') + ', '.join(
        k for k, _, _ in lenient)
    classes = ' or '.join(sorted({type(d).__name__ for _, _, d in lenient}))
    nouns = ' or '.join(sorted({n for _, n, _ in lenient}))
    options = ' '.join(f'{k}.test_mode=True' for k, _, _ in lenient)
    message = (f'DataHealthHook: {keys} is a {classes} with test_mode=False, '
               f'which replaces a broken {nouns} by another sample: '
               'evaluation would silently score other samples. Set '
               f'{options}, so that a broken {nouns} is an error naming it.')
    videos = [(k, d) for k, n, d in lenient if n == 'video']
    if videos:
        ignored = [k for k, d in videos if d.skip_broken]
        if ignored:
            message += (f' skip_broken=True of {", ".join(ignored)} acts '
                        'only with test_mode=True.')
        message += (
            ' To leave broken videos out of the scores instead, also set ' +
            ' '.join(f'{k}.skip_broken=True' for k, _ in videos) +
            ': they are then dropped when the dataset is built, with a '
            'WARNING listing them.')
    raise ConfigError(message)
