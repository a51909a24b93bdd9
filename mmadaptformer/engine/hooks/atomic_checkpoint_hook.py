# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A ``CheckpointHook`` whose local writes are atomic.

MMEngine 0.10's ``CheckpointHook`` leaves three windows in which a killed
run (pre-emption, OOM killer, a full disk) loses its resumable state:

* the checkpoint is written in place, so a kill mid-write leaves a
  truncated ``epoch_N.pth`` under its real name;
* ``work_dir/last_checkpoint`` (what ``--resume auto`` reads) is written
  with a plain ``open(..., 'w')``, so a kill there leaves it empty;
* with ``max_keep_ckpts`` it deletes the oldest kept checkpoint *before* it
  writes the new one; with ``max_keep_ckpts=1`` a kill during the write
  leaves ``last_checkpoint`` naming a deleted file.

:class:`AtomicCheckpointHook` closes all three for local paths, with no
change to MMEngine itself: checkpoints go through the ``'atomic_local'``
file backend (:class:`~mmadaptformer.utils.atomic_save.AtomicLocalBackend`),
``last_checkpoint`` through :func:`~mmadaptformer.utils.atomic_write`, and
outdated checkpoints are removed only after the new one and
``last_checkpoint`` are in place. Remote ``out_dir``-s and explicit
``backend_args`` are left to MMEngine as they are.
"""
import inspect
import logging
import os.path as osp
from typing import Optional

from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS

from mmadaptformer.utils import ConfigError
from mmadaptformer.utils.atomic_file import atomic_write
from mmadaptformer.utils.atomic_save import ATOMIC_BACKEND
from mmadaptformer.utils.registry_names import close_hint
from .hook_config_place import hook_argument_place

__all__ = ['AtomicCheckpointHook', 'use_atomic_checkpoint_hook']


@MMACTION_HOOKS.register_module()
@MMPRETRAIN_HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that never leaves a partial checkpoint, an empty
    ``last_checkpoint``, or a ``last_checkpoint`` naming a deleted file.

    Takes exactly :class:`~mmengine.hooks.CheckpointHook`'s arguments. For
    a local ``out_dir`` (the work dir by default) and no ``backend_args`` /
    ``file_client_args`` of the user's, checkpoints are written with the
    ``'atomic_local'`` file backend. A failed write (disk full, file too
    large, permission) raises an ``OSError`` naming the file and the bytes
    written, and the previous checkpoint stays the one ``--resume auto``
    resumes from.

    Written for the AdaptFormer recipes (arXiv 2205.13535), useful for any
    MMEngine run.

    Examples:
        >>> default_hooks = dict(
        ...     checkpoint=dict(
        ...         type='AtomicCheckpointHook', interval=1,
        ...         max_keep_ckpts=3))
    """

    #: The arguments ``_save_checkpoint_with_step`` passes to
    #: ``runner.save_checkpoint`` itself.
    SAVE_ARGUMENTS = ('out_dir', 'filename', 'file_client_args',
                      'save_optimizer', 'save_param_scheduler', 'meta',
                      'by_epoch', 'backend_args')

    def before_train(self, runner) -> None:
        self.refuse_unknown_arguments(runner)
        out_dir = self.out_dir if self.out_dir is not None else \
            runner.work_dir
        if (self.backend_args is None and self.file_client_args is None
                and '://' not in str(out_dir)):
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        super().before_train(runner)
        self.keep_best_checkpoints_of_other_dirs(runner)

    def after_val_epoch(self, runner, metrics) -> None:
        """Keep the best checkpoint of a training run's validations.

        ``Runner.val()`` alone (a trained checkpoint validated from Python,
        no training) runs this too, but ``CheckpointHook`` sets up where it
        saves in ``before_train``, which only training runs: with
        ``save_best`` (mmaction2's default runtime has ``'auto'``) it ended
        with ``AttributeError: ... no attribute 'file_backend'`` after the
        whole validation. There is no run to keep the best epoch of, so
        nothing is saved; ``Runner.val()`` returns its metrics as usual.
        """
        if not hasattr(self, 'file_backend'):
            return
        super().after_val_epoch(runner, metrics)

    def keep_best_checkpoints_of_other_dirs(self, runner) -> None:
        """Never remove a best checkpoint outside this run's ``out_dir``.

        ``CheckpointHook`` takes the path of the previous best checkpoint
        from the resumed message hub and removes that file once a better
        score comes. Resumed into another work dir (``--resume
        other_run/epoch_N.pth --work-dir new``, or a work dir copied or
        moved elsewhere), that path is in the *other* run's folder, whose
        best checkpoint was deleted. The path is rebased onto this run's
        ``out_dir`` (same file name): a copied or moved run's own best file
        is still replaced, and the other folder is left alone.
        """
        if self.save_best is None:
            return
        if len(self.key_indicators) == 1:
            self.best_ckpt_path = self._own_best_path(runner,
                                                      self.best_ckpt_path)
        else:
            for key, path in self.best_ckpt_path_dict.items():
                self.best_ckpt_path_dict[key] = self._own_best_path(
                    runner, path)

    def _own_best_path(self, runner, path: Optional[str]) -> Optional[str]:
        if not path:
            return path
        out_dir = str(self.out_dir)
        if '://' in out_dir or '://' in str(path):
            same = osp.dirname(str(path)).rstrip('/') == out_dir.rstrip('/')
        else:
            same = osp.realpath(osp.dirname(path)) == osp.realpath(out_dir)
        if same:
            return path
        own = self.file_backend.join_path(out_dir, osp.basename(path))
        runner.logger.info(
            f'The resumed run\'s best checkpoint {path} is outside '
            f'{out_dir}; {own} is the best checkpoint this run replaces '
            'when it finds a better one, and the other file is kept.')
        return own

    def refuse_unknown_arguments(self, runner) -> None:
        """Refuse, before the first epoch, an argument that the first save
        would refuse.

        ``CheckpointHook`` keeps the arguments it does not know
        (``intervl=1``) and passes them to ``runner.save_checkpoint`` at
        every save; MMEngine's Runners take none, so a misspelled argument
        ended the run with a ``TypeError`` at the first save, after an
        epoch of training.

        Raises:
            ConfigError: Naming where the argument was set (its config
                key, ``default_hooks.checkpoint.NAME``, in the config file
                or ``--cfg-options``), its value and the closest argument
                of the hook.
        """
        try:
            parameters = inspect.signature(runner.save_checkpoint).parameters
        except (TypeError, ValueError):  # no signature to read: do not guess
            return
        if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return
        takes = [
            name for name in parameters if name not in self.SAVE_ARGUMENTS
        ]
        for name, value in self.args.items():
            if name in takes:
                continue
            known = [
                n for n in inspect.signature(CheckpointHook).parameters
                if n != 'kwargs'
            ] + takes
            place = hook_argument_place(runner, self, name, value)
            raise ConfigError(
                (f'{place}: ' if place else '') +
                f'{type(self).__name__} takes no argument {name}={value!r}'
                f'{close_hint(name, known)}: CheckpointHook passes the '
                'arguments it does not know to '
                f'{type(runner).__name__}.save_checkpoint, which would '
                'refuse it at the first save, after the first epoch.')

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        # CheckpointHook's own method, reordered: the outdated checkpoint is
        # removed last, and last_checkpoint is written atomically.
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write(self.last_ckpt,
                     osp.join(runner.work_dir, 'last_checkpoint'))
        if outdated is None:
            return
        path = self.file_backend.join_path(self.out_dir,
                                           self.filename_tmpl.format(outdated))
        if path == self.last_ckpt:
            return
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            # checkpoints saved by deepspeed are directories
            self.file_backend.rmtree(path)


def use_atomic_checkpoint_hook(cfg: Config) -> Optional[str]:
    """Make a config's checkpoint hook an :class:`AtomicCheckpointHook`.

    ``tools/train.py`` calls it, so a user's own config gets atomic
    checkpoint writes too:

    * ``default_hooks.checkpoint`` of type ``CheckpointHook`` (or missing,
      when MMEngine adds ``CheckpointHook(interval=1)`` itself) becomes an
      ``AtomicCheckpointHook`` with the same arguments;
    * ``None`` (checkpoints switched off) and ``AtomicCheckpointHook`` are
      kept;
    * any other type is kept, with a warning that its writes may not be
      atomic;
    * configs of other default scopes than ``mmaction`` / ``mmpretrain``
      (where the hook is registered) are left as they are.

    Args:
        cfg (Config): The run's config; changed in place.

    Returns:
        str, optional: What was done, for the log; None if nothing.
    """
    if cfg.get('default_scope') not in ('mmaction', 'mmpretrain'):
        return None
    default_hooks = cfg.get('default_hooks', None)
    if default_hooks is None:
        cfg.default_hooks = dict()
        default_hooks = cfg.default_hooks
    if 'checkpoint' not in default_hooks:
        default_hooks['checkpoint'] = dict(
            type='AtomicCheckpointHook', interval=1)
        return ('default_hooks.checkpoint: AtomicCheckpointHook(interval=1) '
                "in place of MMEngine's default CheckpointHook")
    hook = default_hooks['checkpoint']
    if hook is None:
        return None
    hook_type = hook.get('type', 'CheckpointHook')
    name = hook_type if isinstance(hook_type, str) else getattr(
        hook_type, '__name__', str(hook_type))
    if name.split('.')[-1] == 'CheckpointHook':
        hook['type'] = 'AtomicCheckpointHook'
        return ('default_hooks.checkpoint: AtomicCheckpointHook in place of '
                'CheckpointHook (same arguments), so that a killed run keeps '
                'its last complete checkpoint')
    if name.split('.')[-1] != 'AtomicCheckpointHook' and not (isinstance(
            hook_type, type) and issubclass(hook_type, AtomicCheckpointHook)):
        print_log(
            f'default_hooks.checkpoint is {name!r}, not an '
            'AtomicCheckpointHook: a run killed while it saves may leave a '
            'truncated checkpoint. Subclass AtomicCheckpointHook to keep '
            'writes atomic.',
            logger='current',
            level=logging.WARNING)
    return None
