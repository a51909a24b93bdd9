# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Run a few samples of each dataset through its pipeline before the Runner
makes the work dir, and refuse a transform that fails on every one of them.

The tools build every transform first (:func:`~.pipelines.check_pipelines`),
but a transform whose settings only fail when it runs passed that check:
``Cutout(shape=8, pad_val=300)`` builds, and each image then fails with
``OverflowError: Python integer 300 out of bounds for uint8``. In training
that was a traceback naming no key at the first batch, after the work dir
was made and the model built; with a ``CheckedVideoDataset`` or
``CheckedImageDataset`` each sample was skipped as a broken file, then
an error said that 11 samples in a row could not be loaded. In the
validation pipeline it stopped the run only after the first training
epoch. :func:`check_first_samples` runs the first and the last sample of
each dataset through its transforms one by one
(:func:`~.transform_steps.run_transforms`); a transform after the loading
ones that fails on every sample read is a mistake of its settings, and is
refused naming its key, the samples and the error. A transform applied
at random (a ``prob`` between 0 and 1: ``Cutout``'s default is 0.5) is
tried with ``prob=1.0`` (on a copy), or the check would pass it at random
as often as not. A failure on one
sample only is left to the dataset (evaluation names that sample, a
checked training dataset skips it), and so is a file that cannot be read
(its loading step failed): those are the data's, not the config's.
"""
import copy
from numbers import Real
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .config_error import ConfigError
from .config_place import mistake_place
from .transform_steps import TransformError, run_transforms
from .video_containers import one_line_error

__all__ = [
    'always_applied', 'check_first_samples', 'pipelined_dataset', 'sample_name'
]

#: The data-info keys that name a sample's file: mmaction2's videos and
#: frame folders, mmpretrain's images.
_NAME_KEYS = ('filename', 'frame_dir', 'img_path')


def pipelined_dataset(dataset, key: str) -> Tuple[Optional[object], str]:
    """The dataset that runs a pipeline, through ``RepeatDataset``-like
    wrappers (``.dataset``) and the first dataset of a ``ConcatDataset``
    (``.datasets[0]``), and its config key
    (``train_dataloader.dataset.datasets[0]``); ``(None, key)`` if none
    has a pipeline of transforms."""
    for _ in range(8):  # wrappers of wrappers, never a cycle
        transforms = getattr(
            getattr(dataset, 'pipeline', None), 'transforms', None)
        if isinstance(transforms, list) and hasattr(dataset, 'get_data_info'):
            return dataset, key
        inner = getattr(dataset, 'datasets', None)
        if isinstance(inner, (list, tuple)) and inner:
            dataset, key = inner[0], f'{key}.datasets[0]'
        elif getattr(dataset, 'dataset', None) is not None:
            dataset, key = dataset.dataset, f'{key}.dataset'
        else:
            break
    return None, key


def sample_name(info: Mapping, idx: int) -> str:
    """The file of a sample's data info, else ``'sample IDX'``."""
    for name in _NAME_KEYS:
        if info.get(name):
            return str(info[name])
    return f'sample {idx}'


def always_applied(transforms: Sequence) -> Tuple[list, Dict[int, float]]:
    """``transforms`` with each one applied at random (a numeric ``prob``
    strictly between 0 and 1) replaced by a shallow copy with
    ``prob=1.0``, and ``{index: prob}`` of those."""
    always, probs = [], {}
    for index, transform in enumerate(transforms):
        prob = getattr(transform, 'prob', None)
        if isinstance(prob, Real) and not isinstance(prob, bool) \
                and 0 < prob < 1:
            transform = copy.copy(transform)
            transform.prob = 1.0
            probs[index] = float(prob)
        always.append(transform)
    return always, probs


def _indices(length: int) -> List[int]:
    """The first and the last index of a dataset of ``length`` samples."""
    return sorted({0, length - 1}) if length > 0 else []


def check_first_samples(datasets: Mapping[str, object],
                        loaders: Sequence[str],
                        source: str,
                        options: Optional[dict] = None) -> None:
    """Refuse a transform that fails on each sample it is tried on.

    Args:
        datasets (Mapping[str, object]): ``{loader: dataset}``, built fully
            (:func:`~.early_datasets.read_datasets`); a loader not in it
            is not tried.
        loaders (Sequence[str]): The loaders to try, e.g.
            ``['train_dataloader', 'val_dataloader']``.
        source (str): The config file, for the message.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: Naming the transform's key
            (``train_dataloader.dataset.pipeline[1]``) or the option that
            set it, its type, the samples it failed on and the first
            error.
    """
    for loader in loaders:
        dataset, key = pipelined_dataset(
            datasets.get(loader), f'{loader}.dataset')
        if dataset is None:
            continue
        transforms, probs = always_applied(dataset.pipeline.transforms)
        failures = []
        for idx in _indices(len(dataset)):
            info = dataset.get_data_info(idx)
            name = sample_name(info, idx)
            try:
                run_transforms(transforms, info)
            except TransformError as e:
                if e.reads_file:
                    continue  # the file's, which the dataset handles
                failures.append((name, e))
                continue
            failures = []
            break  # one sample went through: the settings can work
        if not failures or len({e.index for _, e in failures}) != 1:
            continue
        first = failures[0][1]
        where = mistake_place(source, f'{key}.pipeline[{first.index}]',
                              options)
        names = ', '.join(name for name, _ in failures)
        each = 'the sample' if len(failures) == 1 else \
            f'each of the {len(failures)} samples'
        forced = '' if first.index not in probs else (
            f', with prob=1.0 where the run applies it with prob='
            f'{probs[first.index]:g},')
        raise ConfigError(
            f'{where}: {first.name} failed on {each} of {loader} it was '
            f'tried on ({names}){forced} after the file was read: '
            f'{one_line_error(first.error, end=".")} Check that '
            "transform's settings and those of the ones before it.")
