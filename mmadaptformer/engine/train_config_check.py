# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The checks ``tools/train.py`` makes before the Runner is built.

Each names a mistake that the Runner found only after it had made the work
dir and written its log there, often once the model was built or after a
whole epoch, as a traceback naming no key: a transform or dataloader
argument, a head of another number of classes than the data, a key the
Runner ignores, an ``optim_wrapper`` or scheduler that cannot run, the
model's and the ``AdapterHook``'s arguments, an empty list or a missing
video. :func:`check_train_config` makes them in the order that names the
first cause, and hands back the datasets it built and read, for the Runner
to use (:meth:`~mmadaptformer.engine.ConfigCopyMixin.use_datasets`).
"""
from typing import Dict, Optional

from mmengine.config import Config

from mmadaptformer.models.backbones.config_check import check_model_config
from mmadaptformer.utils.dataloader_check import check_dataloaders
from mmadaptformer.utils.early_datasets import read_datasets
from mmadaptformer.utils.first_samples import check_first_samples
from mmadaptformer.utils.kept_delete import refuse_kept_delete
from mmadaptformer.utils.runner_check import (check_optim_wrapper,
                                              check_runner_config)
from mmadaptformer.utils.save_best_check import check_save_best
from mmadaptformer.utils.scheduler_check import check_param_scheduler
from mmadaptformer.utils.test_time_aug import check_test_time_aug
from .bn_head_batch_check import check_bn_head_batch
from .head_classes_check import check_head_classes
from .hooks.adapter_hook_config_check import check_adapter_hook_config
from .train_loop_check import check_train_loop

__all__ = ['check_train_config']


def check_train_config(cfg: Config, config: str,
                       cfg_options: Optional[dict]) -> Dict[str, object]:
    """Refuse a training config that the Runner would refuse only after
    making the work dir, naming the file and the key, before anything is
    written.

    Args:
        cfg (Config): The run's config, the command line merged in.
        config (str): The config file, for the messages.
        cfg_options (dict, optional): ``--cfg-options``, for the messages.

    Returns:
        dict[str, object]: ``{loader: dataset}`` for ``train_dataloader``
        and, where the run validates, ``val_dataloader``: built and read
        (:func:`~mmadaptformer.utils.early_datasets.read_datasets`).

    Raises:
        ConfigError: The first mistake found, on one line (or the refusing
            check's own error, such as
            :class:`~mmadaptformer.utils.PretrainedFileError`).
    """
    # A _delete_=True that no base config consumed: the TypeError of what
    # was built with it, after the work dir (a pretrained init_cfg's: once
    # the Runner loaded the weights).
    refuse_kept_delete(cfg, config, cfg_options)
    # A transform, dataloader or dataset argument that is wrong is named
    # now, not as a traceback from inside the Runner's first epoch.
    loaders = ['train_dataloader']
    if cfg.get('val_cfg') is not None:
        loaders.append('val_dataloader')
    datasets = check_dataloaders(cfg, config, loaders, cfg_options)
    # A TestTimeAug step gave the model several copies of each input: a
    # traceback deep in the model at the first batch (the validation's:
    # after a whole epoch), after the work dir. Only tools/test.py --tta
    # merges them.
    check_test_time_aug(
        cfg,
        config,
        loaders,
        'tools/train.py',
        'Give {key} without TestTimeAug (tools/test.py --tta tests with '
        'tta_pipeline).',
        options=cfg_options)
    # A batch of 1 with the BatchNorm+Linear head failed at the first
    # iteration, a traceback after the work dir was made.
    check_bn_head_batch(cfg, config, cfg_options)
    # A head of another number of classes than the data was refused by
    # ConfigCheckHook at before_train, after the work dir was made.
    # It reads the datasets the check above built, not builds them again.
    check_head_classes(cfg, config, loaders, cfg_options, datasets=datasets)
    # What the Runner reads itself: MMEngine ignores an env_cfg key it does
    # not know (cudnn_benchmrk); a default hook without a type fails late.
    check_runner_config(
        cfg, config, cfg_options,
        [loader.replace('dataloader', 'evaluator') for loader in loaders[1:]])
    # An optim_wrapper that is no dict failed once the Runner built it,
    # after the work dir was made. Training only: tools/test.py builds none.
    check_optim_wrapper(cfg, config, cfg_options)
    # A save_best that the validation does not give failed after an epoch.
    check_save_best(cfg, config, cfg_options)
    # A val_interval of 0 failed with a ZeroDivisionError after an epoch.
    # Before the schedulers' check, which would blame a scheduler for
    # max_epochs=0.
    check_train_loop(cfg, config, cfg_options)
    # A scheduler that starts after the run ends (a stock recipe's warm-up
    # then cosine, with max_epochs=1) failed naming no key. Training only:
    # tools/test.py builds no scheduler.
    check_param_scheduler(cfg, config, cfg_options)
    # A backbone argument mmaction2's ViT would drop, a pretrained file
    # that is not there, the wrapper's own refusals: before the work dir.
    model = check_model_config(cfg, config, cfg_options, whole_model=True)
    # The AdapterHook's arguments, and its trainable plan made on the model
    # built without weights (a pattern that matches no parameter): named
    # before the work dir, not by the hook once the Runner runs it. On the
    # model the check above built, if it built one: not built twice.
    # And a frozen backbone that nothing loads (no --pretrained): refused
    # by the hook's own rule, before the Runner makes the work dir.
    check_adapter_hook_config(cfg, config, cfg_options, model, training=True)
    del model  # a ViT-B's weights, on the CPU: not kept through the run
    # An empty list, a training video that is missing, a validation video
    # that is missing or broken: found by the full build, which the Runner
    # made in train(), after the work dir. Last of the checks: it reads
    # files. The Runner then uses these datasets, not builds them again.
    datasets = read_datasets(datasets, loaders)
    # A transform whose settings fail when it runs (Cutout's pad_val=300):
    # a traceback at the first batch, or after a whole epoch for the val
    # pipeline's. One sample of each, two if the first fails.
    check_first_samples(datasets, loaders, config, cfg_options)
    return datasets
