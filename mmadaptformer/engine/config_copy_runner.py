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
``tools/test.py`` build (:func:`build_runner`), dumps instead:

* every run's config next to its log, ``work_dir/<timestamp>/<config file
  name>``, when the runner is built, as MMEngine does;
* ``work_dir/<config file name>`` only in training, once training starts:
  after the weights are initialised and loaded (``--resume``, ``load_from``)
  and every ``before_train`` hook has passed. It is replaced atomically.

It also refuses a ``work_dir`` that is a file or under one, or through a
link another user planted,
takes ``default_hooks.NAME=None`` as removing that hook for every name,
and takes the datasets the tools built and read before it
(:meth:`ConfigCopyMixin.use_datasets`), so that each is built once a run.

Test, validation and any other run, and a training run refused before its
first iteration, leave the training run's copy as it was.
"""
import copy
import inspect
import os.path as osp
from typing import Callable, Dict, Mapping, Optional

from mmengine.config import Config
from mmengine.dist import is_main_process, master_only
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmadaptformer.utils import (ConfigError, atomic_write,
                                 upcast_mmaction_head_scores)
from mmadaptformer.utils.config_place import (given_cfg_options, mistake_place,
                                              option_place)
from mmadaptformer.utils.image_loading_agreement import \
    warn_image_loading_ignored
from mmadaptformer.utils.output_folder import output_folder_problem
from mmadaptformer.utils.pipelines_agreement import \
    warn_test_pipelines_disagree
from mmadaptformer.utils.random_sampling import warn_random_sampling
from mmadaptformer.utils.registry_names import lookup_type, not_registered
from mmadaptformer.utils.runner_check import RUNNER_DEFAULT_HOOKS
from .hooks.data_health_hook import DataHealthHook
from .hooks.registration import add_hook_once
from .hooks.resume_check_hook import add_resume_check_hook

__all__ = [
    'ConfigCopyMixin', 'ConfigCopyRunner', 'build_runner', 'config_copy_name'
]


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
    :class:`ConfigCopyRunner` does; :func:`build_runner` does so for a
    config's own ``runner_type``.

    It also refuses a ``work_dir`` that is a file, lies under one, cannot
    be written in, or leads through a symbolic link that another user
    planted in a folder anyone can write in
    (:func:`~mmadaptformer.utils.output_folder.output_folder_problem`),
    before the runner makes the folder (which ended in MMEngine's
    ``FileExistsError`` or ``NotADirectoryError`` traceback) and writes its
    log there: built by
    :func:`build_runner`, by ``ConfigCopyRunner.from_cfg(cfg)`` or by
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
        super().__init__(*args, **kwargs)

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


# Runner classes named by a config's runner_type, with the mixin in front.
_WITH_MIXIN: Dict[type, type] = {}


def _with_config_copy(runner_cls: type) -> type:
    if issubclass(runner_cls, ConfigCopyMixin):
        return runner_cls
    if runner_cls not in _WITH_MIXIN:
        _WITH_MIXIN[runner_cls] = type(runner_cls.__name__,
                                       (ConfigCopyMixin, runner_cls),
                                       {'__doc__': runner_cls.__doc__})
    return _WITH_MIXIN[runner_cls]


def _removed_data_health(cfg: Config) -> bool:
    """Whether the config removes the recipes' ``DataHealthHook`` by its
    name (``default_hooks.data_health=None``)."""
    default_hooks = cfg.get('default_hooks') or {}
    return 'data_health' in default_hooks and default_hooks[
        'data_health'] is None


def _runner_type_place(cfg: Config, runner_type) -> str:
    """Where a wrong ``runner_type`` was given, for its error."""
    return mistake_place(cfg.filename or 'the config', 'runner_type',
                         given_cfg_options(), runner_type)


def build_runner(cfg: Config, datasets: Optional[Mapping[str, object]] = None):
    """Build the runner of ``cfg`` as MMAction2's and MMPretrain's tools
    do (``Runner.from_cfg``, or the config's ``runner_type``), with
    :class:`ConfigCopyMixin`'s config copies, a
    :class:`~mmadaptformer.engine.hooks.resume_check_hook.ResumeCheckHook`
    (unless the config lists one), so that ``--resume`` never continues
    from a checkpoint without (or with another run's) optimizer and
    scheduler state, a
    :class:`~mmadaptformer.engine.hooks.data_health_hook.DataHealthHook`
    (unless the config lists one, as the recipes' ``default_hooks`` do), so
    that a validation or test ``CheckedImageDataset`` or
    ``CheckedVideoDataset`` with ``test_mode=False`` is refused instead of
    scoring other samples in place of broken files (not where the config
    removes it, ``default_hooks.data_health=None``: that is said in a
    warning), and with float32
    scores from the mmaction2 heads
    (:func:`~mmadaptformer.utils.upcast_mmaction_head_scores`) for
    evaluation under bfloat16 autocast. A video config whose
    ``test_dataloader`` pipeline differs from its top-level
    ``test_pipeline`` (which mmaction2's ``inference_recognizer`` reads) is
    warned about once (:func:`~mmadaptformer.utils.pipelines_agreement.
    warn_test_pipelines_disagree`), as is a validation or test frame sampler
    without ``test_mode=True`` or a random crop, flip or augmentation there
    (:func:`~mmadaptformer.utils.random_sampling.
    warn_random_sampling`), and so is an image config whose test
    ``LoadImageFromFile`` has arguments mmpretrain's inferencers drop
    (:func:`~mmadaptformer.utils.image_loading_agreement.
    warn_image_loading_ignored`).

    Args:
        cfg (Config): The run's config, with ``work_dir`` set.
        datasets (Mapping[str, object], optional): ``{loader: dataset}``,
            datasets built from ``cfg``'s dataloaders and fully
            initialised, for the Runner to use instead of building them
            again (:meth:`ConfigCopyMixin.use_datasets`). Defaults to
            None: the Runner builds every dataset.

    Raises:
        ConfigError: If ``work_dir`` is a file, lies under one, or leads
            through a symbolic link that another user made in a folder
            anyone can write in (:class:`ConfigCopyMixin`).

    Returns:
        Runner: :class:`ConfigCopyRunner`, or for a config that names
        another ``runner_type``, an instance of a subclass of that class
        with :class:`ConfigCopyMixin` in front.
    """
    # MMAction2's inference_recognizer reads another test pipeline than
    # this run's test dataloader feeds: said before the run, once.
    # A validation or test sampler without test_mode=True scores the same
    # video differently on every call: said before the run, once.
    warn_random_sampling(cfg, cfg.filename or 'the config',
                         ('val_dataloader', 'test_dataloader'))
    warn_test_pipelines_disagree(cfg, cfg.filename or 'the config')
    # MMPretrain's inferencers drop the test LoadImageFromFile's arguments
    # (grayscale, ...) that this run's tests honour: said once too.
    if cfg.get('default_scope') == 'mmpretrain':
        warn_image_loading_ignored(cfg, cfg.filename or 'the config')
    runner_type = cfg.get('runner_type', None)
    if runner_type is None:
        runner_cls = ConfigCopyRunner
    else:
        # Looked up as MMEngine's build_runner_from_cfg does.
        found = lookup_type(RUNNERS, runner_type, cfg.get('_scope_', None))
        runner_cls = found.cls
        if runner_cls is None and isinstance(runner_type, str):
            raise not_registered(
                _runner_type_place(cfg, runner_type), runner_type, found.scope,
                found.registry)
        if not isinstance(runner_cls, type):
            raise ConfigError(
                f'{_runner_type_place(cfg, runner_type)}: a runner_type is '
                'the name of a registered runner class (such as '
                '\'Runner\') or the class itself.')
    if runner_cls is not ConfigCopyRunner:
        runner_cls = _with_config_copy(runner_cls)
    # ConfigCopyMixin refuses a work_dir that is a file or a planted link.
    runner = runner_cls.from_cfg(cfg)
    runner.use_datasets(datasets or {})
    add_resume_check_hook(runner)
    if _removed_data_health(cfg):
        # The option that removed it, if a tool was given one: the file
        # may still name the hook.
        removed_by = option_place('default_hooks.data_health',
                                  given_cfg_options())
        place = (
            removed_by or f'default_hooks.data_health=None in {cfg.filename}')
        runner.logger.warning(
            f'{place}: this run has no DataHealthHook, so broken files '
            'skipped in training are not '
            'counted and a validation or test set that would score other '
            'samples in their place is not refused.')
    else:
        add_hook_once(runner, DataHealthHook)
    # Under val_cfg/test_cfg fp16 on the CPU (tools/test.py --amp) the
    # mmaction2 heads' scores are bfloat16, which its metrics (numpy)
    # refuse; AdaptAmpOptimWrapper adds the same hook only when training.
    upcast_mmaction_head_scores(runner.model)
    return runner
