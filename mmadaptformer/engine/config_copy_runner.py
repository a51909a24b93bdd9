# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Keep the training run's config copy in the work dir.

MMEngine's ``Runner`` dumps its config to ``work_dir/<config file name>``
as soon as it is built, whatever the run does next. ``tools/test.py`` on the
training config (its default work dir, ``work_dirs/<config stem>``, is the
training run's) therefore replaced the training run's copy with the test's
config: without the ``checkpoint=`` that ``--pretrained`` had recorded, with
the test's ``--cfg-options`` and ``load_from``, even when the test then
failed. A tool reading that copy later (``tools/test.py
work_dirs/NAME/NAME.py``, ``MultiTaskRecognizer.add_task``) got a config
its adapter-only checkpoints do not load on. A training run that stopped
before training (``--resume`` without the ``--pretrained`` it trained with)
did the same.

:class:`ConfigCopyRunner`, the runner ``tools/train.py`` and
``tools/test.py`` build (:func:`~mmadaptformer.engine.build_runner`),
dumps instead:

* every run's config next to its log, ``work_dir/<timestamp>/<config file
  name>``, when the runner is built, as MMEngine does;
* ``work_dir/<config file name>`` only in training, once training starts:
  after the weights are initialised and loaded (``--resume``, ``load_from``)
  and every ``before_train`` hook has passed. It is replaced atomically.

It also refuses a ``work_dir`` that is a file or under one, or through a
link another user planted, and a new training run's ``load_from`` that its
own checkpoints would replace,
takes ``default_hooks.NAME=None`` as removing that hook for every name,
and takes the datasets the tools built and read before it
(:meth:`ConfigCopyMixin.use_datasets`), so that each is built once a run.

Test, validation and any other run, and a training run refused before its
first iteration, leave the training run's copy as it was.

A training run holds its work dir's lock while it trains
(:mod:`mmadaptformer.utils.work_dir_lock`): a second one into the same
work dir is refused with a ``WorkDirBusyError`` (a ``ConfigError``) that
names the live run. Building a runner takes no lock, so ``tools/test.py``
into a live run's work dir runs.
"""
import contextlib
import copy
import inspect
import os.path as osp
from typing import Callable, Dict, Iterator, Mapping, Optional

from mmengine.config import Config
from mmengine.dist import (broadcast_object_list, get_world_size,
                           is_main_process, master_only)
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmadaptformer.utils import ConfigError, atomic_write
from mmadaptformer.utils.load_from_overwrite import (hook_settings,
                                                     overwritten_load_from)
from mmadaptformer.utils.output_folder import output_folder_problem
from mmadaptformer.utils.runner_check import RUNNER_DEFAULT_HOOKS
from mmadaptformer.utils.work_dir_lock import hold_work_dir

__all__ = ['ConfigCopyMixin', 'ConfigCopyRunner', 'config_copy_name']


def config_copy_name(cfg: Config, timestamp: str) -> str:
    """The file name MMEngine's ``Runner.dump_config`` gives a config copy:
    the config file's name, or ``<timestamp>.py`` for a config built in
    code.

    Args:
        cfg (Config): The run's config.
        timestamp (str): The run's timestamp (``runner.timestamp``).

    Returns:
        str: The file name, without a folder.
    """
    if getattr(cfg, 'filename', None) is not None:
        return osp.basename(cfg.filename)
    return f'{timestamp}.py'


#: The dataloader arguments of MMEngine's ``Runner.__init__``.
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _init_arguments(init: Callable, args: tuple, kwargs: dict) -> dict:
    """The arguments ``init(*args, **kwargs)`` is given, by name (MMEngine's
    ``Runner.__init__`` takes ``work_dir`` second): the keyword ones, and
    the positional ones where they fit ``init`` (where they do not,
    ``init`` names the mistake itself)."""
    given = dict(kwargs)
    try:
        bound = inspect.signature(init).bind_partial(*args, **kwargs)
    except TypeError:
        return given
    given.update(bound.arguments)
    return given


class ConfigCopyMixin:
    """Runner methods that keep ``work_dir/<config file name>`` the
    training run's: see :mod:`mmadaptformer.engine.config_copy_runner`.

    Put it before the runner class in the bases, as
    :class:`ConfigCopyRunner` does;
    :func:`~mmadaptformer.engine.build_runner` does so for a config's own
    ``runner_type``.

    It also refuses a ``work_dir`` that is a file, lies under one, cannot
    be written in, or leads through a symbolic link that another user
    planted in a folder anyone can write in
    (:func:`~mmadaptformer.utils.output_folder.output_folder_problem`),
    before the runner makes the folder (which ended in MMEngine's
    ``FileExistsError`` or ``NotADirectoryError`` traceback) and writes its
    log there: built by
    :func:`~mmadaptformer.engine.build_runner`, by
    ``ConfigCopyRunner.from_cfg(cfg)`` or by
    ``RUNNERS.build(cfg)`` with ``runner_type='ConfigCopyRunner'`` (as
    MMAction2's and MMPretrain's ``tools/train.py`` build a config's
    ``runner_type``), every such runner is made here.

    Raises:
        ConfigError: ``work_dir PATH: it is a file; ...``, ``work_dir
            PATH: PATH is a symbolic link to ...``.
    """

    def __init__(self, *args, **kwargs) -> None:
        given = _init_arguments(super().__init__, args, kwargs)
        work_dir = given.get('work_dir')
        problem = None if work_dir is None else output_folder_problem(
            str(work_dir), 'work_dir')
        if problem is not None:
            raise ConfigError(problem)
        # The dataloader configs given, which the loops hand back to
        # build_dataloader as they are, and the datasets to build them on.
        self._loader_cfgs = {loader: given.get(loader) for loader in LOADERS}
        self._given_datasets: Dict[str, object] = {}
        self._start = (given.get('load_from'), given.get('resume', False))
        super().__init__(*args, **kwargs)

    def train(self):
        """Train as MMEngine's ``Runner.train`` does; first refuse a new
        run whose ``load_from`` is a file its checkpoint hook would write
        (:func:`~mmadaptformer.utils.load_from_overwrite.
        overwritten_load_from`): its own ``epoch_2.pth`` replaced the
        checkpoint it started from.

        Global rank 0 holds the work dir's training lock while it trains
        (:func:`~mmadaptformer.utils.work_dir_lock.hold_work_dir`), and
        gives it back when training ends, also on an error or Ctrl-C: a
        second run into a work dir a live run trains in is refused, on
        every rank, before the first iteration.

        Raises:
            ConfigError: ``load_from FILE: this new run writes its
                epoch_{}.pth checkpoints into its work dir ...``.
            WorkDirBusyError: ``work_dir PATH: another training run is
                writing it (pid PID@HOST, ...); ...`` (a ConfigError).
        """
        problem = overwritten_load_from(*self._start, self.work_dir,
                                        hook_settings(self.hooks))
        if problem is not None:
            raise ConfigError(problem)
        with self._training_lock():
            return super().train()

    @contextlib.contextmanager
    def _training_lock(self) -> Iterator[None]:
        """Hold the work dir's training lock on global rank 0 while the
        block trains (:func:`~mmadaptformer.utils.work_dir_lock.
        hold_work_dir`). Every rank raises rank 0's refusal, so that none
        waits in a collective for a rank 0 that ended."""
        with contextlib.ExitStack() as stack:
            error = None
            if is_main_process():
                try:
                    stack.enter_context(hold_work_dir(self.work_dir))
                except Exception as e:  # every rank must learn of it
                    error = e
            if get_world_size() > 1:
                shared = [error]
                broadcast_object_list(shared, src=0)
                error = shared[0]
            if error is not None:
                raise error
            yield

    def register_default_hooks(self, hooks: Optional[dict] = None) -> None:
        """Register the default hooks as MMEngine does, a config entry of
        None removing the hook of its name whichever config gave it.

        MMEngine removes only its own (``default_hooks.checkpoint=None``)
        and asserted on any other, after the work dir was made: the
        recipes' ``default_hooks.data_health=None`` (or ``config_check``,
        ``non_finite_loss``, ...) ended the run with a bare
        ``AssertionError``.
        """
        if hooks is not None:
            hooks = {
                name: hook
                for name, hook in hooks.items()
                if hook is not None or name in RUNNER_DEFAULT_HOOKS
            }
        super().register_default_hooks(hooks)

    def use_datasets(self, datasets: Mapping[str, object]) -> None:
        """Build the dataloaders of the loaders in ``datasets`` on the
        datasets given instead of building them from their configs.

        ``tools/train.py`` and ``tools/test.py`` build and read every
        dataset before the Runner, to refuse an empty list or a missing
        file before the work dir; the Runner built each again, reading
        its list (and checking its videos, scanning its image folder) a
        second time. MMEngine's ``Runner.build_dataloader`` takes a
        dataloader config whose ``dataset`` is a dataset object and uses
        it as it is: :meth:`build_dataloader` hands it one for these
        loaders. The runner's dataloader configs and its config
        (``runner.cfg``), which it dumps, keep the datasets' configs.

        Call it before ``train()``, ``val()`` or ``test()``, which build
        the dataloaders. MMEngine builds a dataloader from a deep copy of
        its config: the loop's dataset is a copy of the one given, which
        the runner keeps too (10 MB for a list of 100k videos).

        Args:
            datasets (Mapping[str, object]): ``{loader: dataset}``, e.g.
                ``{'train_dataloader': dataset}``, built from this
                runner's config and fully initialised
                (:func:`~mmadaptformer.utils.early_datasets.
                read_datasets`). A loader the runner was given no
                dataloader config for (none, or a ``DataLoader`` object) is
                left as it is.
        """
        for loader, dataset in datasets.items():
            loader_cfg = self._loader_cfgs.get(loader)
            if isinstance(loader_cfg, dict) and isinstance(
                    loader_cfg.get('dataset'), dict):
                self._given_datasets[loader] = dataset

    def build_dataloader(self,
                         dataloader,
                         seed: Optional[int] = None,
                         diff_rank_seed: bool = False):
        """Build a dataloader as MMEngine's ``Runner.build_dataloader``
        does, on the dataset :meth:`use_datasets` was given for it where
        ``dataloader`` is one of this runner's own dataloader configs (a
        loop hands its config back as it is); any other config, a
        ``MultiLoaderEpochBasedTrainLoop``'s extra ones included, is built
        as MMEngine builds it.

        An instance method here: MMEngine's is a static method, which its
        loops call through the runner (``runner.build_dataloader``).
        """
        for loader, dataset in self._given_datasets.items():
            if dataloader is self._loader_cfgs[loader]:
                # A copy: the runner keeps its config's, and a Runner built
                # from dicts (not from_cfg) holds the caller's own.
                dataloader = copy.copy(dataloader)
                dataloader['dataset'] = dataset
                break
        return super().build_dataloader(
            dataloader, seed=seed, diff_rank_seed=diff_rank_seed)

    @master_only
    def dump_config(self) -> None:
        """Dump the config next to this run's log,
        ``work_dir/<timestamp>/<config file name>``; the work dir's copy is
        written when training starts."""
        path = osp.join(self.log_dir, config_copy_name(self.cfg,
                                                       self.timestamp))
        self.cfg.dump(path)
        self.logger.info(f'Config of this run: {path}')

    def call_hook(self, fn_name: str, **kwargs) -> None:
        """Call the hooks as MMEngine does; after the last ``before_train``
        hook, write the work dir's config copy."""
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'before_train' and is_main_process():
            self._dump_work_dir_config()

    def _dump_work_dir_config(self) -> None:
        # The file that later tools (test.py, infer.py, add_task) read as
        # the training run's config: never a partial one.
        path = osp.join(self.work_dir,
                        config_copy_name(self.cfg, self.timestamp))
        atomic_write(self.cfg.dump(), path)
        self.logger.info(f'Training config: {path}')


@RUNNERS.register_module()
class ConfigCopyRunner(ConfigCopyMixin, Runner):
    """MMEngine's :class:`~mmengine.runner.Runner` whose config copy in the
    work dir is written only by a training run that started.

    Every run dumps its config to ``work_dir/<timestamp>/<config file
    name>``, next to its log. ``work_dir/<config file name>`` is written in
    training after the weights loaded and every ``before_train`` hook
    passed, so ``tools/test.py`` with the training run's work dir (the
    default for the same config) and a training run refused at its start
    leave the training run's copy as it was. Everything else is MMEngine's
    ``Runner``. Used for AdaptFormer (arXiv 2205.13535) runs, whose
    adapter-only checkpoints need the ``--pretrained`` path that copy
    records.

    Examples:
        >>> runner_type = 'ConfigCopyRunner'
    """
