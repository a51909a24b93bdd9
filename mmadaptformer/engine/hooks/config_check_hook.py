# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Check that a config's parts agree before they run."""
import logging
from typing import Iterator, List, Optional, Sequence, Tuple

from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from mmadaptformer.datasets.image_label_range import (labels_out_of_range,
                                                      labels_short_of,
                                                      sample_labels,
                                                      unlabelled)
from mmadaptformer.utils import HEAD_NAMES, ConfigError
from mmadaptformer.utils.model_unwrap import unwrapped_model
from .adapter_hook_presence import (allow_trained_hosts,
                                    refuse_wrapper_without_adapter_hook)
from .strict_evaluation import wrapped_datasets

__all__ = [
    'ConfigCheckHook', 'blending_num_classes', 'dataset_classes',
    'dataset_num_classes', 'data_preprocessor_key'
]


def _members(dataset, key: str) -> Iterator[Tuple[str, object]]:
    """The config keys and datasets that hold samples in ``dataset``: it,
    or each dataset inside its wrappers (both of a ``ConcatDataset``), in
    order."""
    for inner_key, inner in wrapped_datasets(dataset, key):
        if getattr(inner, 'dataset', None) is None and \
                not getattr(inner, 'datasets', None):
            yield inner_key, inner


def dataset_num_classes(dataset) -> Optional[Tuple[int, str]]:
    """The number of classes a dataset declares, and where it says so.

    Args:
        dataset: A built dataset; in a wrapper, the first dataset inside
            it that declares a number.

    Returns:
        tuple[int, str] | None: The number and the attribute it comes from
        (``'num_classes'`` for MMAction2 datasets,
        ``"len(metainfo['classes'])"`` for MMPretrain ones), or None if the
        dataset declares none.
    """
    for _, member in _members(dataset, ''):
        num_classes = getattr(member, 'num_classes', None)
        if isinstance(num_classes, int) and \
                not isinstance(num_classes, bool):
            return num_classes, 'num_classes'
        classes = _metainfo_classes(getattr(member, 'metainfo', None))
        if classes:
            return len(classes), "len(metainfo['classes'])"
    return None


def dataset_classes(dataset) -> Optional[Tuple[str, ...]]:
    """The class names a dataset declares (``metainfo['classes']``), if
    any; in a wrapper, those of the first dataset inside it that declares
    them."""
    return next((names for _, names in _declared_classes(dataset, '')), None)


def _declared_classes(dataset,
                      key: str) -> Iterator[Tuple[str, Tuple[str, ...]]]:
    """``(config key, class names)`` of each dataset of ``dataset``
    (:func:`_members`) that declares class names."""
    for member_key, member in _members(dataset, key):
        classes = _metainfo_classes(getattr(member, 'metainfo', None))
        if classes:
            yield member_key, classes


def _metainfo_classes(metainfo) -> Optional[Tuple[str, ...]]:
    classes = metainfo.get('classes') if isinstance(metainfo, dict) else None
    if isinstance(classes, (list, tuple)) and classes:
        return tuple(str(name) for name in classes)
    return None


def _check_names(names: Tuple[str, ...], where: str, trained: Tuple[str, ...],
                 origin: str) -> None:
    """Raise if a label means another class in ``names`` than in the
    training classes ``trained`` (a name of one is at another label in the
    other); warn if the names differ otherwise (renamed classes)."""
    if len(names) != len(trained) or names == trained:
        return  # another count is the num_classes check's
    wrong = [
        i for i, (name, known) in enumerate(zip(names, trained))
        if name != known and (name in trained or known in names)
    ]
    text = f"{where}'s classes {names} are not the classes {origin} {trained}"
    if not wrong:
        print_log(
            f'{text}; no name is at another label, so they are taken as '
            'renamed classes and labels are compared by number.',
            logger='current',
            level=logging.WARNING)
        return
    shown = ', '.join(f'label {i} is {names[i]!r} there but {trained[i]!r} '
                      'in training' for i in wrong[:3])
    more = f' and {len(wrong) - 3} more' if len(wrong) > 3 else ''
    raise ConfigError(
        f'{text}: {shown}{more}, so its labels would be scored as other '
        'classes. Give it the same names in the same order (mmpretrain\'s '
        'CustomDataset without an ann_file labels its class folders in '
        'sorted order: their names must be the same, case included).')


def data_preprocessor_key(cfg) -> str:
    """The config key of the model's data preprocessor:
    ``model.data_preprocessor``, or the top-level ``data_preprocessor``
    that MMEngine's Runner gives a model config without one (MMPretrain's
    configs set it there, with the mean and std).

    A ``model.data_preprocessor`` replaces the top-level one whole: an
    error that named ``model.data_preprocessor.num_classes`` for a value
    set at the top level led to a model preprocessor of ``num_classes``
    alone, whose inputs are no longer normalised.

    Args:
        cfg: The run's config (``runner.cfg``), or None.

    Returns:
        str: ``'data_preprocessor'`` or ``'model.data_preprocessor'``.
    """
    model = cfg.get('model') if cfg is not None else None
    if isinstance(model, dict) and 'data_preprocessor' not in model and \
            isinstance(cfg.get('data_preprocessor'), dict):
        return 'data_preprocessor'
    return 'model.data_preprocessor'


def blending_num_classes(
        preprocessor,
        key: str = 'model.data_preprocessor') -> List[Tuple[str, int]]:
    """The ``num_classes`` of each MMAction2 batch blending of a data
    preprocessor, with its config key.

    MMAction2's ``MixupBlending`` and ``CutmixBlending`` (alone or as the
    ``augments`` of a ``RandomBatchAugment``) one-hot the labels to their
    own ``num_classes``: another number than the head's failed the first
    iteration with a broadcast error from mmaction's accuracy.

    Args:
        preprocessor: The built data preprocessor, or None.
        key (str): The preprocessor's config key
            (:func:`data_preprocessor_key`). Defaults to
            ``'model.data_preprocessor'``.

    Returns:
        list[tuple[str, int]]: Such as
        ``('model.data_preprocessor.blending.augments[1].num_classes',
        400)``; empty without a blending.
    """
    key = f'{key}.blending'
    blending = getattr(preprocessor, 'blending', None)
    augments = getattr(blending, 'augments', None)
    # RandomBatchAugment's own num_classes is its first augment's.
    blendings = [(f'{key}.augments[{index}]', augment)
                 for index, augment in enumerate(augments)] \
        if isinstance(augments, list) else [(key, blending)]
    found = []
    for where, each in blendings:
        number = getattr(each, 'num_classes', None)
        if isinstance(number, int) and not isinstance(number, bool):
            found.append((f'{where}.num_classes', number))
    return found


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class ConfigCheckHook(Hook):
    """Stop before training or testing when the config disagrees with
    itself.

    It checks that the head's ``num_classes`` equals the number of classes
    each dataset of the run declares (the ``num_classes`` of MMAction2
    datasets, ``len(metainfo['classes'])`` of MMPretrain ones), and the
    ``num_classes`` of an MMPretrain data preprocessor (used by batch
    augmentations) and of each MMAction2 batch blending
    (:func:`blending_num_classes`). The error names both config keys and
    values, e.g. ``model.cls_head.num_classes=174 but
    train_dataloader.dataset.num_classes=51``. Each dataset inside
    MMEngine's dataset wrappers is checked under its own key (both of a
    ``ConcatDataset``: ``train_dataloader.dataset.datasets.1.num_classes``).
    Datasets that declare no number of classes are not checked. Then it
    checks that every label of an mmpretrain dataset is in
    ``[0, num_classes)``
    (:func:`~mmadaptformer.datasets.image_label_range.labels_out_of_range`).

    It also checks the class names (``metainfo['classes']``): those of the
    validation set against the training set's, and those of the test set
    against the ones the loaded checkpoint was trained on (MMEngine's
    Runner saves them as ``meta['dataset_meta']``), and those of each
    other dataset of a ``ConcatDataset`` (built with
    ``ignore_keys=['classes']``; else MMEngine refuses other classes)
    against its first one's. A name at another label
    (``('Eel', 'cat', 'dog')`` for ``('cat', 'dog', 'eel')``: mmpretrain's
    ``CustomDataset`` labels its class folders in sorted order) scored
    every label as another class without a word; it stops the run. Names
    that differ otherwise are taken as renamed classes, with a warning.
    Used in the `AdaptFormer <https://arxiv.org/abs/2205.13535>`_ recipes.

    Before training, it stops a model with AdaptFormer or VPT that no
    ``AdapterHook`` freezes (a config's ``custom_hooks`` replaces its
    base's list), which would train the backbone and save the whole model
    (:func:`~mmadaptformer.engine.hooks.adapter_hook_presence.
    refuse_wrapper_without_adapter_hook`).

    Args:
        head (Sequence[str]): Attribute names of the model's head, tried in
            order. Defaults to :data:`~mmadaptformer.utils.HEAD_NAMES`.
        allow_trained_host (bool): Train a model with adapters or prompts
            but no ``AdapterHook``, backbone included. Defaults to False.

    Examples:
        >>> default_hooks = dict(config_check=dict(type='ConfigCheckHook'))
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 head: Sequence[str] = HEAD_NAMES,
                 allow_trained_host: bool = False) -> None:
        self.head = [head] if isinstance(head, str) else list(head)
        self.allow_trained_host = allow_trained_host
        # The class names of the checkpoint the Runner loaded, if any.
        self._trained: Optional[Tuple[str, ...]] = None

    def _head(self, runner) -> Optional[Tuple[str, int]]:
        model = unwrapped_model(runner.model)
        for name in self.head:
            num_classes = getattr(
                getattr(model, name, None), 'num_classes', None)
            if isinstance(num_classes, int):
                return f'model.{name}.num_classes', num_classes
        return None

    def _check(self,
               runner,
               loaders: List[Tuple[str, object]],
               testing: bool = False) -> None:
        head = self._head(runner)
        if head is None:
            return
        head_key, head_classes = head
        problems = []
        model = unwrapped_model(runner.model)
        pre_key = data_preprocessor_key(getattr(runner, 'cfg', None))
        pre = getattr(
            getattr(model, 'data_preprocessor', None), 'num_classes', None)
        if isinstance(pre, int) and pre != head_classes:
            problems.append(f'{pre_key}.num_classes={pre}')
        problems.extend(f'{key}={number}'
                        for key, number in blending_num_classes(
                            getattr(model, 'data_preprocessor', None), pre_key)
                        if number != head_classes)
        # Only the model's own keys disagree: the head is taken as right.
        model_only = bool(problems)
        hidden = set()
        members = [
            member for key, loader in loaders for member in _members(
                getattr(loader, 'dataset', None), f'{key}.dataset')
        ]
        for key, dataset in members:
            declared = dataset_num_classes(dataset)
            if declared is not None and declared[0] != head_classes:
                model_only = False
                number, attribute = declared
                if attribute == 'num_classes':
                    problems.append(f'{key}.num_classes={number}')
                else:
                    names = dataset_classes(dataset) or ()
                    hidden.update(n for n in names if n.startswith('.'))
                    shown = names[:6] + (('...', ) if len(names) > 6 else ())
                    problems.append(f'{key} has {number} classes '
                                    f'({attribute} of '
                                    f'{type(dataset).__name__}) {shown}')
        if model_only:
            keys = ' and '.join(problem.split('=')[0] for problem in problems)
            raise ConfigError(
                f'{head_key}={head_classes} but ' + ' and '.join(problems) +
                f'. Set {keys} to {head_classes} too (a stock config\'s '
                'values are those of its own dataset), or all of them to the '
                'number of classes of the data.')
        if problems:
            # A hidden folder (.ipynb_checkpoints) is a class folder to
            # CustomDataset: more classes would train a class of nothing.
            hint = f' Remove the hidden class folders {sorted(hidden)}, ' \
                'which mmpretrain\'s CustomDataset counts as classes, or ' \
                'set' if hidden else ' Set'
            raise ConfigError(
                f'{head_key}={head_classes} but ' + ' and '.join(problems) +
                f'.{hint} {head_key} to the number of classes of the data '
                f'(and every other num_classes of the config with it).')
        # Every sample's label, read once for the checks below (each read
        # them all: about 0.45 s of CPU a pass over SSv2's list).
        labels = [sample_labels(dataset) for _, dataset in members]
        # The parts of a concatenated training set together: one part's
        # labels may end where the next one's begin. Warned of here, not
        # before the work dir as the refusals of the config are: it stops
        # nothing, needs every line (read by the Runner's dataset), and here
        # it goes to the run's log file too.
        shorts = [(key, dataset, labels_short_of(dataset, head_classes, read))
                  for (key, dataset), read in zip(members, labels)
                  if not testing and key.startswith('train_dataloader.')]
        if shorts and all(short is not None for _, _, short in shorts):
            for key, dataset, short in shorts:
                print_log(
                    f'{head_key}={head_classes}, but {key} '
                    f'({type(dataset).__name__}): {short}. The head\'s other '
                    'classes never train. If the data has fewer classes, '
                    f'set {head_key} to their number (and every other '
                    'num_classes of the config with it).',
                    logger='current',
                    level=logging.WARNING)
        for (key, dataset), read in zip(members, labels):
            if testing and unlabelled(dataset, read):
                # A list without labels (SSv2's test set) tested for its
                # predictions (--dump): its metrics mean nothing.
                print_log(
                    f'{key} ({type(dataset).__name__}) has no labels (every '
                    'line lacks one; mmaction2 reads -1): its metrics mean '
                    'nothing, only the predictions (--dump) do.',
                    logger='current',
                    level=logging.WARNING)
                continue
            outside = labels_out_of_range(dataset, head_classes, read)
            if outside is not None:
                ann_file = getattr(dataset, 'ann_file', None)
                raise ConfigError(
                    f'{key} ({type(dataset).__name__}'
                    f'{f", ann_file {ann_file}" if ann_file else ""}): '
                    f'{outside}, but {head_key}={head_classes}. A label is '
                    'the class\'s index, from 0.')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the class names the loaded checkpoint was trained on."""
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
        dataset_meta = meta.get('dataset_meta') if isinstance(meta,
                                                              dict) else None
        self._trained = _metainfo_classes(dataset_meta)

    def before_train(self, runner) -> None:
        """Check the training and validation data against the head, and
        the validation classes against the training ones."""
        if self.allow_trained_host:
            allow_trained_hosts(runner)
        else:
            refuse_wrapper_without_adapter_hook(runner)
        loaders = [('train_dataloader', runner.train_dataloader)]
        val_loop = runner.val_loop
        if val_loop is not None and hasattr(val_loop, 'dataloader'):
            loaders.append(('val_dataloader', val_loop.dataloader))
        self._check(runner, loaders)
        declared = [
            member for key, loader in loaders for member in _declared_classes(
                getattr(loader, 'dataset', None), f'{key}.dataset')
        ]
        train = declared[0][1] if declared and \
            declared[0][0].startswith('train_dataloader.') else None
        # What the model is trained on from here, whatever load_from held
        # (a test after training compares with these).
        self._trained = train
        if train:
            # The other datasets of a ConcatDataset too: MMEngine refuses
            # other classes only where ignore_keys leaves them compared.
            for key, names in declared[1:]:
                _check_names(names, key, train, f'{declared[0][0]} declares')

    def before_test(self, runner) -> None:
        """Check the test data against the head, and its classes against
        those the loaded checkpoint records."""
        self._check(
            runner, [('test_dataloader', runner.test_dataloader)],
            testing=True)
        trained = self._trained
        if not trained:
            return
        for key, names in _declared_classes(runner.test_dataloader.dataset,
                                            'test_dataloader.dataset'):
            _check_names(
                names, key, trained,
                f'the checkpoint {runner.cfg.get("load_from")} was trained '
                "on (its meta['dataset_meta']['classes'])")
