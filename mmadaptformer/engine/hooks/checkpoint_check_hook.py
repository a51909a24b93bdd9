# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Refuse a checkpoint of another architecture instead of part-loading it."""
import logging
from typing import Callable, List, Optional, Sequence, Set

from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from mmadaptformer.models.adapters.trainable import find_head
from mmadaptformer.utils.adapter_only_fit import check_adapter_only_fits
from mmadaptformer.utils.head_classes import (HeadClasses,
                                              state_dict_head_classes)
from mmadaptformer.utils.head_fit import check_holds_head
from mmadaptformer.utils.model_unwrap import unwrapped_model
from mmadaptformer.utils.pretrained_init import check_pretrained_init
from mmadaptformer.utils.state_dict_check import (StateDictMismatchError,
                                                  check_state_dict)
from ..adapter_checkpoint import checkpoint_state_dict
from .run_optim_wrappers import run_trains

__all__ = ['CheckpointCheckHook']


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class CheckpointCheckHook(Hook):
    """Stop when a checkpoint does not fit the model.

    MMEngine loads ``load_from``, ``--resume``, ``tools/test.py``
    checkpoints and ``init_cfg=dict(type='Pretrained', ...)`` non-strictly:
    it warns about missing and unexpected keys and skips tensors of another
    shape. This hook turns that into an error that names the file, the
    missing and unexpected keys and ``key: checkpoint shape vs model shape``
    (see :func:`~mmadaptformer.utils.state_dict_check.check_state_dict`):

    * ``after_load_checkpoint``: every checkpoint the runner loads, after
      the :class:`AdapterHook` has completed an adapter-only one, before
      any of it is loaded; in training and in test or val runs alike
      (``runner.test()``, as mmaction2's and mmpretrain's own
      ``tools/test.py`` run our configs), where the Runner's load is
      exempt from the evaluation loads' check
      (:mod:`mmadaptformer.utils.head_fit`): a head of another number of
      classes is a shape mismatch, refused here, except in training's
      ``load_from`` (not a resume), which fine-tunes the model on this
      config's classes: the head's tensors are taken out of the
      checkpoint, so the head keeps the config's initialisation, the rest
      is checked and loaded, and a warning names the file, the head keys
      and both numbers of classes. A checkpoint without the
      head, neck or final norms of a whole classifier (e.g.
      ``convert_official.py``'s output, the backbone alone; a file without
      its ``fc_norm``) is noted, and refused when the run tests or
      validates before it trains (``before_test``, ``before_val``): they
      would be evaluated at their initialisation, as the evaluation APIs
      refuse them (:func:`~mmadaptformer.utils.head_fit.check_holds_head`).
      Training from it (``load_from``) trains them;
    * ``before_train``: every ``Pretrained`` ``init_cfg`` of the model's
      modules. MMEngine has initialised the weights by then, so the error
      says that what fits was loaded; the frozen-host wrappers (AdaptFormer,
      VPT) check their backbone's before they load it.

    Shape mismatches are errors, but for the head of another number of
    classes in a ``load_from`` that trains (above). Missing keys are
    tolerated (and logged) for what a fresh start initialises: the
    adapters, VPT prompts, the head, final normalisation layers (not those
    inside the transformer blocks), and ``allow_missing``; a run that
    evaluates before it trains is refused a missing head, neck or final
    norm all the same. Used in the
    `AdaptFormer <https://arxiv.org/abs/2205.13535>`_ recipes.

    Args:
        allow_missing (Sequence[str]): Regular expressions of model keys
            that may be missing from a checkpoint. Defaults to ().
        allow_unexpected (Sequence[str]): Regular expressions of checkpoint
            keys the model may lack. Defaults to ().
        check_pretrained (bool): Check the ``Pretrained`` init configs
            before training. Defaults to True.

    Examples:
        >>> default_hooks = dict(
        ...     checkpoint_check=dict(type='CheckpointCheckHook'))
    """

    # After AdapterHook (VERY_HIGH), which completes adapter-only
    # checkpoints in its after_load_checkpoint.
    priority = 'LOW'

    def __init__(self,
                 allow_missing: Sequence[str] = (),
                 allow_unexpected: Sequence[str] = (),
                 check_pretrained: bool = True) -> None:
        if isinstance(allow_missing, str):
            allow_missing = [allow_missing]
        if isinstance(allow_unexpected, str):
            allow_unexpected = [allow_unexpected]
        self.allow_missing = list(allow_missing)
        self.allow_unexpected = list(allow_unexpected)
        self.check_pretrained = check_pretrained
        # A checkpoint loaded without the model's head, neck or final
        # norms: the error, raised if the run evaluates before it trains.
        self._without_head: Optional[StateDictMismatchError] = None

    @staticmethod
    def _source(runner) -> str:
        cfg = runner.cfg
        load_from = cfg.get('load_from')
        if cfg.get('resume') and not load_from:
            return 'The checkpoint resumed from (the latest in work_dir ' \
                   f'{runner.work_dir})'
        # tools/test.py's positional checkpoint arrives as load_from too:
        # named by its file, as tools/test.py's other refusals name it, not
        # as a config key the user may not have written.
        return str(load_from)

    @staticmethod
    def _hint(model) -> Callable[[List[str]], str]:
        """The hint for the keys at fault: the allow lists where keys are
        missing or unexpected; where the head is at fault, training's
        ``load_from`` (a model of other classes) or ``--pretrained`` (a
        model of another task, without adapters or prompts)."""
        found = find_head(model)
        head = f'{found[0]}.' if found else None

        def hint(keys: List[str]) -> str:
            lines = []
            if head and any(key.startswith(head) for key in keys):
                lines.append(
                    'To fine-tune a model trained on other classes, give '
                    'the file to tools/train.py as --cfg-options '
                    'load_from=FILE (without --resume), which loads all of '
                    'it but a head of another number of classes; to start '
                    'from the backbone alone of a model without adapters '
                    'or prompts (e.g. one trained for another task), give '
                    'it as --pretrained.')
            lines.append(
                'To load part of a checkpoint on purpose, list the missing '
                'or unexpected keys in CheckpointCheckHook.allow_missing / '
                'allow_unexpected; a tensor of another shape is never '
                'loaded.')
            return ' '.join(lines)

        return hint

    @staticmethod
    def _other_head(runner, model, state_dict: dict) -> Optional[HeadClasses]:
        """The head of another number of classes that a fine-tuning run
        (training's ``load_from``, not a resume) sets aside; None in any
        other run, whose check refuses it."""
        # A resumed run goes on with its head.
        if runner.cfg.get('resume') or not run_trains(runner):
            return None
        return state_dict_head_classes(model, state_dict)

    @staticmethod
    def _set_aside(runner, loaded: dict, head: Set[str],
                   classes: HeadClasses) -> None:
        """Take the ``head`` keys out of ``loaded``, the checkpoint's state
        dict (what MMEngine's ``_load_checkpoint_to_model`` loads), so that
        the head keeps this config's initialisation, and say so."""
        for key in head:
            loaded.pop(key, None)
        keys = [key for key, _, _ in classes.keys]
        print_log(
            f'{runner.cfg.get("load_from")}: its head was trained for '
            f'another number of classes: {classes.describe()}. Fine-tuning '
            f'on {classes.model} classes: loading all of it but these '
            f'{len(keys)} head tensors ({", ".join(keys)}), which keep '
            "this config's initialisation.",
            logger='current',
            level=logging.WARNING)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Check a checkpoint the runner is about to load."""
        source = self._source(runner)
        state_dict = checkpoint_state_dict(checkpoint, source, expected=None)
        model = unwrapped_model(runner.model)
        # An adapter-only checkpoint for a model without its adapters (a
        # stock config) gets the error that says so, not 'another
        # architecture' with its adapter and head keys as unexpected.
        check_adapter_only_fits(model, checkpoint, source)
        check = dict(
            source=source,
            allow_missing=self.allow_missing,
            allow_unexpected=self.allow_unexpected,
            hint=self._hint(model),
            source_file=runner.cfg.get('load_from'))
        classes = self._other_head(runner, model, state_dict)
        if classes is None:
            check_state_dict(model, state_dict, **check)
        else:
            # Checked without them, as the load will be; a checkpoint of a
            # DDP-wrapped model holds them under 'module.'.
            head = {key for key, _, _ in classes.keys}
            head |= {'module.' + key for key in head}
            whole, state_dict = state_dict, {
                key: value
                for key, value in state_dict.items() if key not in head
            }
            try:
                check_state_dict(model, state_dict, **check)
            except StateDictMismatchError:
                # A file that does not fit otherwise either: its refusal
                # lists the head's shapes too, as any other run's does.
                check_state_dict(model, whole, **check)
                raise
            self._set_aside(runner, whole, head, classes)
        # Whether the run trains is known only later (before_train), as in
        # AdapterHook: Runner.test() and Runner.train() load alike.
        self._without_head = None
        try:
            check_holds_head(model, state_dict, source)
        except StateDictMismatchError as e:
            self._without_head = e

    def _check_evaluated_head(self) -> None:
        if self._without_head is not None:
            raise self._without_head

    def before_val(self, runner) -> None:
        """Refuse to validate, without training, a head that the loaded
        checkpoint does not hold (see :meth:`after_load_checkpoint`)."""
        self._check_evaluated_head()

    def before_test(self, runner) -> None:
        """Refuse to test a head that the loaded checkpoint does not hold
        (see :meth:`after_load_checkpoint`)."""
        self._check_evaluated_head()

    def before_train(self, runner) -> None:
        """Forget a checkpoint's missing head (training trains it), then
        check the ``Pretrained`` init configs of the model's modules."""
        self._without_head = None
        if not self.check_pretrained:
            return
        model = unwrapped_model(runner.model)
        for name, module in model.named_modules():
            check_pretrained_init(
                module,
                owner='model' + (f'.{name}' if name else ''),
                already_loaded=True)
