# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Build the runner of a config as MMAction2's and MMPretrain's tools do,
with this package's additions: :func:`build_runner`.

The runner is a :class:`~mmadaptformer.engine.config_copy_runner.
ConfigCopyRunner`, or the config's own ``runner_type`` with
:class:`~mmadaptformer.engine.config_copy_runner.ConfigCopyMixin` in
front; the hooks every run gets and the warnings said once before the run
are added here.
"""
from typing import Dict, Mapping, Optional

from mmengine.config import Config
from mmengine.registry import RUNNERS

from mmadaptformer.utils import ConfigError, upcast_mmaction_head_scores
from mmadaptformer.utils.config_place import (given_cfg_options, mistake_place,
                                              option_place)
from mmadaptformer.utils.image_loading_agreement import \
    warn_image_loading_ignored
from mmadaptformer.utils.pipelines_agreement import \
    warn_test_pipelines_disagree
from mmadaptformer.utils.random_sampling import warn_random_sampling
from mmadaptformer.utils.registry_names import lookup_type, not_registered
from .config_copy_runner import ConfigCopyMixin, ConfigCopyRunner
from .hooks.data_health_hook import DataHealthHook
from .hooks.registration import add_hook_once
from .hooks.resume_check_hook import add_resume_check_hook

__all__ = ['build_runner']

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
    :class:`~mmadaptformer.engine.config_copy_runner.ConfigCopyMixin`'s
    config copies, a
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
