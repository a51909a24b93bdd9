# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Freeze, report, guard and save for adapter tuning."""
import logging
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS
from torch import nn

from mmadaptformer.models.adapters.extras_reach import whole_backbone_extras
from mmadaptformer.models.adapters.frozen_head import refuse_frozen_head
from mmadaptformer.models.adapters.trainable import (MODES, PlanArgumentError,
                                                     TrainablePlan,
                                                     plan_trainable)
from mmadaptformer.models.backbones.base_wrapper import FrozenHostWrapper
from mmadaptformer.models.backbones.load_refusals import completing_recorded
from mmadaptformer.utils import HEAD_NAMES, ConfigError
from mmadaptformer.utils.checkpoint_source import frozen_records
from mmadaptformer.utils.fingerprint import state_fingerprints
from mmadaptformer.utils.model_unwrap import unwrapped_model
from mmadaptformer.utils.state_dict_check import StateDictMismatchError
from ..adapter_checkpoint import (ADAPTER_META_KEY, EXPECTED_CHECKPOINT,
                                  check_holds_trained_part, checkpoint_meta,
                                  checkpoint_state_dict,
                                  complete_adapter_checkpoint,
                                  make_adapter_checkpoint)
from .adapter_only_ema_check import refuse_ema_beside_adapter_only
from .frozen_tensors_check import check_frozen_unchanged, run_span
from .hook_config_place import (hook_argument_place, hook_config_keys,
                                hook_place)
from .resume_state_check import (refuse_resume_without_trained_part,
                                 resumed_source)
from .run_optim_wrappers import run_trains
from .trainable_freeze import freeze_to_plan
from .unloaded_backbone import OwnWeightsLoads, check_backbone_loaded

__all__ = ['AdapterHook', 'repeated_adapter_hooks']


def repeated_adapter_hooks(keys: Sequence[str]) -> str:
    """Why a run with more than one AdapterHook (those of ``keys``, their
    config entries) is refused, and what to do."""
    return (f'AdapterHook is registered {len(keys)} times, by '
            f'{" and ".join(keys)}: each makes its own trainable plan and '
            "freezes the model to it, so the last one's plan would replace "
            "the others' (their mode, head and extra_trainable dropped "
            'without a word), and each would save the checkpoints. Keep one '
            "AdapterHook with the arguments you want (a recipe's is in "
            'custom_hooks; MMEngine merges default_hooks by name, so one '
            'added there does not replace it).')


def _loaded_source(runner) -> str:
    """The checkpoint the runner loads, for messages."""
    if runner.cfg.get('resume'):
        return resumed_source(runner)
    return str(runner.cfg.get('load_from') or 'The loaded checkpoint')


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class AdapterHook(Hook):
    """Train only the adapters and the head, and save only what trained.

    The hook of `AdaptFormer <https://arxiv.org/abs/2205.13535>`_ training:

    * **Freezes** every parameter except the adapters (found by type), the
      head, the neck between backbone and head (``model.neck``, if any; no
      backbone checkpoint holds it) and the parameters named by
      ``extra_trainable``, before the run. A ``head`` that names no module
      of the model, or linear probing of a model with adapters (which would
      stay at their random initialisation), is refused.
      The optimizer then holds only trainable parameters, and a DDP wrapper
      is rebuilt so that it reduces only their gradients.
    * **Reports** a table of trainable and total parameters per group, and
      warns when ``optim_wrapper.paramwise_cfg`` gives the adapters another
      lr than the base lr and the head (e.g. a stock recipe's
      ``backbone=dict(lr_mult=0.1)``, which under a frozen backbone reaches
      only the adapters), naming the entry and the config line that
      restores the base lr (see :mod:`mmadaptformer.engine.optim_check`).
    * **Guards** the frozen part: at the end of every training epoch,
      before every save (after the hooks of lower priority ran, before
      anything is written) and after training, its weights must be
      bit-identical to the start of training (a cheap on-device
      fingerprint); otherwise training stops with an error naming the epoch
      (the iteration, under an ``IterBasedTrainLoop``) and the tensors that
      changed (:mod:`~mmadaptformer.engine.hooks.frozen_tensors_check`).
      State a host's forward rebuilds for inputs of another size (EVA-02's
      rotary tables) is put back after each call
      (:mod:`~mmadaptformer.models.adapters.input_sized_state`), in a
      plain backbone too, as injection does in the ones it adapts.
    * **Saves adapter-only checkpoints** (``adapter_only_checkpoint=True``):
      the state dict keeps only the trainable parts (adapters, neck, head,
      extras, their buffers), plus optimizer, scheduler, meta and message
      hub as usual. The checkpoint records fingerprints of the frozen
      weights it was trained on, per tensor in the state dict (read by the
      wrapper's own load path, so ``load_checkpoint``, ``init_recognizer``
      and the Inferencers check them too) and as one digest in ``meta``;
      loading it checks them against the model's frozen weights, which
      come from the config's pretrained path, and fails clearly on a
      mismatch.

    * **Refuses a random frozen backbone**: training stops before the first
      step when the frozen backbone was never loaded from a checkpoint (no
      ``Pretrained`` init_cfg of the wrapped backbone, no full checkpoint
      loaded; for a plain backbone also no ``load_from``/``resume``), since
      adapters trained on random frozen weights are useless on any real
      backbone. ``allow_random_backbone=True`` opts out (tests, demos that
      pretrain the backbone themselves). ``tools/train.py`` refuses it by
      the same rule before the Runner is built, where the config tells
      (:func:`~.unloaded_backbone.refuse_unloaded_backbone`).

    Linear probing is ``mode='linear_probe'`` on a model without adapters
    (only the neck, the head and the extras train); full fine-tuning is the
    same config without this hook.

    Args:
        mode (str): ``'adaptformer'`` or ``'linear_probe'``.
            Defaults to ``'adaptformer'``.
        extra_trainable (Sequence[str]): Regular expressions searched in
            state-dict keys; matching parameters train too, e.g.
            ``[r'^backbone\\.fc_norm\\.']`` as in the official video recipe.
            Defaults to ().
        head (Sequence[str]): Attribute names of the model's head, tried in
            order; one must be a module of the model, or empty for a model
            without a head (training refuses it on a model with one,
            whose head would stay frozen at its initialisation). Defaults to
            :data:`~mmadaptformer.utils.HEAD_NAMES`.
        adapter_only_checkpoint (bool): Save only the trainable parts.
            Defaults to False.
        check_frozen (bool): Check the frozen weights after every training
            epoch, before every save and after training. Defaults to True.
        allow_random_backbone (bool): Train even if the frozen backbone was
            never loaded from a checkpoint. Defaults to False.

    Examples:
        >>> custom_hooks = [
        ...     dict(type='AdapterHook',
        ...          extra_trainable=[r'^backbone\\.fc_norm\\.'],
        ...          adapter_only_checkpoint=True)
        ... ]
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 mode: str = 'adaptformer',
                 extra_trainable: Sequence[str] = (),
                 head: Sequence[str] = HEAD_NAMES,
                 adapter_only_checkpoint: bool = False,
                 check_frozen: bool = True,
                 allow_random_backbone: bool = False) -> None:
        if mode not in MODES:
            raise ConfigError(
                f'AdapterHook: mode={mode!r} is not one of {MODES}')
        if isinstance(extra_trainable, str):
            extra_trainable = [extra_trainable]
        self.mode = mode
        self.extra_trainable = list(extra_trainable)
        self.head = [head] if isinstance(head, str) else list(head)
        self.adapter_only_checkpoint = adapter_only_checkpoint
        self.check_frozen = check_frozen
        self.allow_random_backbone = allow_random_backbone
        self.plan: Optional[TrainablePlan] = None
        self._frozen_norms: List[nn.Module] = []
        self._frozen_reference: Optional[Dict[str, tuple]] = None
        # The epoch and iteration (1-based) begun last, for the check's
        # message.
        self._last_epoch = self._last_iter = 0
        # A full checkpoint loaded without the model's adapters: the error,
        # raised if the run evaluates before it trains.
        self._without_adapters: Optional[StateDictMismatchError] = None
        # What the weights a plain backbone names itself load, from
        # before_run to before_train.
        self._own_loads: Optional[OwnWeightsLoads] = None

    # ------------------------------------------------------------------ plan
    @contextmanager
    def _placed(self, runner) -> Iterator[None]:
        """Name where the hook's argument was set in a plan's refusal."""
        try:
            yield
        except PlanArgumentError as e:
            # The plan's refusal names the argument, not where it was set
            # (the hook's place where no single argument is at fault:
            # head=[] under linear probing leaves nothing to train).
            place = hook_place(runner, self) if e.argument is None else \
                hook_argument_place(runner, self, e.argument,
                                    getattr(self, e.argument))
            if place is None:
                raise
            raise ConfigError(f'{place}: {e}') from e

    def _make_plan(self, runner, model) -> TrainablePlan:
        with self._placed(runner):
            self.plan = plan_trainable(
                model,
                mode=self.mode,
                head=self.head,
                extra_trainable=self.extra_trainable)
        return self.plan

    def _frozen_fingerprints(self, model) -> Dict[str, tuple]:
        frozen = set(self.plan.frozen_keys)
        return state_fingerprints(
            (k, v) for k, v in model.state_dict().items() if k in frozen)

    def _freeze(self, runner) -> None:
        model = unwrapped_model(runner.model)
        plan = self._make_plan(runner, model)
        self._frozen_norms = freeze_to_plan(runner, model, plan)
        warning = whole_backbone_extras(model, plan, self.extra_trainable,
                                        type(self).__name__)
        if warning is not None:
            place = hook_argument_place(runner, self, 'extra_trainable',
                                        self.extra_trainable)
            print_log(
                f'{place}: {warning}' if place else warning,
                logger='current',
                level=logging.WARNING)

    # ----------------------------------------------------------------- hooks
    def before_run(self, runner) -> None:
        """Refuse another AdapterHook in the run; freeze, report, and
        restrict the optimizer and DDP; record what the weights a plain
        backbone names itself load (see
        :class:`~.unloaded_backbone.OwnWeightsLoads`)."""
        hooks = [h for h in runner.hooks if isinstance(h, AdapterHook)]
        if len(hooks) > 1:
            raise ConfigError(
                repeated_adapter_hooks(hook_config_keys(runner, hooks)))
        self._freeze(runner)
        self._stop_recording()
        self._own_loads = OwnWeightsLoads(unwrapped_model(runner.model))

    def before_train(self, runner) -> None:
        """Refuse a head that would stay frozen (``head=[]`` on a model
        with one) and a random frozen backbone, then take the reference
        fingerprint of the frozen weights.

        Runs after weight initialisation and loading/resuming, so the
        reference is the frozen weights training actually starts from.
        """
        if self.adapter_only_checkpoint:
            refuse_ema_beside_adapter_only(runner)
        # Training from a checkpoint without adapters trains them.
        self._without_adapters = None
        model = unwrapped_model(runner.model)
        # head=[] on a model with a head would train none of it (a file
        # of such a run is still described: not refused by the plan).
        with self._placed(runner):
            refuse_frozen_head(model, self.head)
        if self._own_loads is not None:
            own_loads, self._own_loads = self._own_loads, None
            own_loads.check()
        if not self.allow_random_backbone:
            check_backbone_loaded(runner, model)
        source = runner.cfg.get('load_from') or (
            f'a checkpoint resumed from {runner.work_dir}'
            if runner.cfg.get('resume') else None)
        if source:
            for module in model.modules():
                if isinstance(module, FrozenHostWrapper):
                    module.name_state_dict_source(str(source))
        self._frozen_reference = self._frozen_fingerprints(model)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        """Note the iteration (for the frozen-weights check's message), and
        keep the frozen batch norms in eval mode.

        The loop puts the whole model in train mode before each epoch (and
        after validation); a frozen batch norm in train mode would update
        its running statistics, which belong to the frozen backbone.
        """
        self._last_iter = runner.iter + 1
        for norm in self._frozen_norms:
            if norm.training:
                norm.eval()

    def before_train_epoch(self, runner) -> None:
        """Note the epoch, for the frozen-weights check's message."""
        self._last_epoch = runner.epoch + 1

    def _check_frozen(self, runner) -> Optional[Dict[str, tuple]]:
        """Stop the run if any frozen weight changed; return the frozen
        fingerprints taken (None when not checking)."""
        if not self.check_frozen or self._frozen_reference is None:
            return None
        current = self._frozen_fingerprints(unwrapped_model(runner.model))
        check_frozen_unchanged(
            self._frozen_reference, current,
            run_span(runner, self._last_epoch, self._last_iter))
        return current

    def after_train_epoch(self, runner) -> None:
        """Stop training if any frozen weight changed."""
        self._check_frozen(runner)

    def _stop_recording(self) -> None:
        if self._own_loads is not None:
            self._own_loads.close()
            self._own_loads = None

    def after_run(self, runner) -> None:
        """Stop recording the loads of a run that did not train."""
        self._stop_recording()

    def after_train(self, runner) -> None:
        """Stop if a frozen weight changed after the last check, e.g. in
        a hook of lower priority in a last epoch that saved nothing."""
        self._check_frozen(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to save changed frozen weights, then keep only the
        trainable parts when saving adapter-only, stamped with the frozen
        weights' fingerprints."""
        current = self._check_frozen(runner)
        if not self.adapter_only_checkpoint:
            return
        model = unwrapped_model(runner.model)
        if self.plan is None:
            self._make_plan(runner, model)
        if current is None:
            current = self._frozen_fingerprints(model)
        make_adapter_checkpoint(checkpoint, self.plan, current, model=model)

    def _check_evaluated_adapters(self) -> None:
        if self._without_adapters is not None:
            raise self._without_adapters

    def before_val(self, runner) -> None:
        """Refuse to validate, without training, adapters that the loaded
        checkpoint does not hold (see :meth:`after_load_checkpoint`)."""
        self._check_evaluated_adapters()

    def before_test(self, runner) -> None:
        """Refuse to test adapters that the loaded checkpoint does not
        hold (see :meth:`after_load_checkpoint`)."""
        self._check_evaluated_adapters()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Check an adapter-only checkpoint against the frozen weights and
        complete it with them, so that it loads in full.

        A full checkpoint that holds none of the model's adapters (the
        stock model's, a converted VideoMAE one) is noted: testing or
        validating with it before training is refused, since the adapters
        would run at their initialisation. Resuming from it is refused at
        once; training from it (``load_from``) trains them.
        """
        source = _loaded_source(runner)
        purpose = 'train' if run_trains(runner) else 'evaluate'
        info = checkpoint_meta(checkpoint, source, EXPECTED_CHECKPOINT,
                               purpose).get(ADAPTER_META_KEY)
        state = checkpoint_state_dict(
            checkpoint, source, adapter_only=info is not None)
        if info is None:
            try:
                check_holds_trained_part(
                    unwrapped_model(runner.model), state, source)
            except StateDictMismatchError as e:
                if runner.cfg.get('resume'):
                    refuse_resume_without_trained_part(runner, checkpoint)
                self._without_adapters = e
            return
        model = unwrapped_model(runner.model)
        if not getattr(model, '_is_init', True):
            # Testing does not initialise weights (only training does), but
            # the frozen part must come from the config's pretrained path.
            with completing_recorded(frozen_records(state).values()):
                model.init_weights()
        if self.plan is None:
            self._make_plan(runner, model)
        cfg = runner.cfg
        source = cfg.get('load_from') or (f'resumed from {runner.work_dir}'
                                          if cfg.get('resume') else None)
        complete_adapter_checkpoint(
            model, checkpoint, self.plan, source=source, purpose=purpose)
