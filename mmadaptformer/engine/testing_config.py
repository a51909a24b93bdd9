# Copyright (c) mmadaptformer contributors. All rights reserved.
"""How ``tools/test.py``'s ``--tta``, ``--show``/``--show-dir`` and
``--dump``/``--out`` change a test config, as MMAction2's and MMPretrain's
``tools/test.py`` change theirs."""
from copy import deepcopy
from typing import Optional, Sequence

from mmengine.config import Config, ConfigDict

from ..utils import ConfigError
from ..utils.config_place import mistake_place
from ..utils.metric_scorers import evaluator_metric_cfgs
from ..utils.pipelines import build_transforms
from ..utils.registry_names import use_default_scope
from ..utils.test_time_aug import test_time_aug_index

__all__ = ['add_tta', 'trigger_visualization_hook', 'add_dump_metrics']


def add_tta(cfg: Config, config_file: str) -> None:
    """Wrap the model and the test pipeline for test-time augmentation, as
    MMPretrain's ``tools/test.py --tta`` does.

    Args:
        cfg (Config): The test config, changed in place.
        config_file (str): Its file, for the errors.

    Raises:
        ConfigError: If a video config lacks ``tta_model`` or
            ``tta_pipeline`` (MMAction2 has no default TTA model), or if an
            image config without ``tta_pipeline`` has a ``TestTimeAug``
            step in its test pipeline, which the default one would wrap in
            another (:func:`_refuse_nested_test_time_aug`).
    """
    is_video = cfg.get('default_scope') == 'mmaction'
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if is_video and missing:
        # MMAction2's own tools/test.py has no --tta at all.
        raise ConfigError(
            f'--tta on the video config {config_file} needs `tta_model` and '
            f'`tta_pipeline` in the config, which lacks '
            f'{" and ".join(missing)}: MMAction2 has no default TTA model, '
            'and the test pipeline already averages the clips x crops of '
            '`test_pipeline`. Without --tta the multi-view test runs.')
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
    if 'tta_pipeline' not in cfg:
        test_pipeline = cfg.test_dataloader.dataset.pipeline
        _refuse_nested_test_time_aug(cfg, test_pipeline, config_file)
        cfg.tta_pipeline = deepcopy(test_pipeline)
        cfg.tta_pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[
                [
                    dict(type='RandomFlip', prob=1.),
                    dict(type='RandomFlip', prob=0.)
                ],
                [test_pipeline[-1]],
            ])
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def _refuse_nested_test_time_aug(cfg: Config, test_pipeline: list,
                                 config_file: str) -> None:
    """Refuse a ``TestTimeAug`` step in the test pipeline that the default
    ``tta_pipeline`` is made from: its last step wrapped in a
    ``TestTimeAug`` of flips gave the model several copies of each copy,
    and the test failed at the first batch deep in the model with a
    traceback (``RuntimeError: Expected 3D (unbatched) or 4D (batched)
    input to conv2d``), after the work dir was written."""
    key = 'test_dataloader.dataset.pipeline'
    use_default_scope(cfg)
    index = test_time_aug_index(
        build_transforms(test_pipeline, key, cfg, config_file))
    if index is not None:
        raise ConfigError(
            f'{config_file}: {key}[{index}] is TestTimeAug, and --tta on a '
            'config without tta_pipeline makes it from the test pipeline, '
            'its last step wrapped in a TestTimeAug of horizontal flips, '
            'which would give the model several copies of each copy. Set '
            'tta_pipeline in the config (--tta tests with it instead, e.g. '
            f'with this pipeline), or give {key} without TestTimeAug.')


def trigger_visualization_hook(cfg: Config,
                               config_file: str,
                               show: bool = False,
                               show_dir: Optional[str] = None,
                               wait_time: float = 2,
                               interval: int = 1,
                               tta: bool = False) -> None:
    """Enable the config's ``default_hooks.visualization`` for ``--show`` /
    ``--show-dir``, as MMAction2's and MMPretrain's ``tools/test.py`` do.

    Args:
        cfg (Config): The test config, changed in place.
        config_file (str): Its file, for the errors.
        show (bool): Display each prediction in a window (``--show``).
            Defaults to False.
        show_dir (str, optional): Where the drawings are saved
            (``--show-dir``). Defaults to None.
        wait_time (float): Seconds each window is shown. Defaults to 2.
        interval (int): Draw every ``interval``-th sample. Defaults to 1.
        tta (bool): Whether the test runs with ``--tta``. Defaults to
            False.

    Raises:
        ConfigError: If the config has no visualization hook, if a video
            config names MMAction2 1.2's ``VisualizationHook``, which fails
            on every multi-view test batch (open-mmlab/mmaction2#2697), or
            if ``--tta`` is given with MMPretrain's ``VisualizationHook``,
            which fails on every TTA batch.
    """
    flag = '--show' if show else '--show-dir'
    is_video = cfg.get('default_scope') == 'mmaction'
    video_hook = 'VideoVisualizationHook'
    hook = (cfg.get('default_hooks') or {}).get('visualization')
    if not hook:
        name = video_hook if is_video else 'VisualizationHook'
        raise ConfigError(
            f'{flag} needs a visualization hook, but `default_hooks` of '
            f'{config_file} has no `visualization` entry. Set '
            f'`default_hooks.visualization=dict(type="{name}")` in the '
            'config, or add --cfg-options '
            f'default_hooks.visualization.type={name}')
    if is_video and str(hook.get('type')).split('.')[-1] == \
            'VisualizationHook':
        raise ConfigError(
            f'{flag}: default_hooks.visualization.type={hook.get("type")!r} '
            f'in {config_file} is MMAction2 1.2\'s VisualizationHook, which '
            'fails on every (views, C, T, H, W) test batch '
            f'(open-mmlab/mmaction2#2697); use type={video_hook!r}, which '
            'draws the first view of each video.')
    image_hook = str(hook.get('type')).split('.')[-1]
    if tta and not is_video and image_hook in ('VisualizationHook',
                                               'ImageVisualizationHook'):
        what = "MMPretrain's VisualizationHook" if image_hook == \
            'VisualizationHook' else "a subclass of MMPretrain's " \
            'VisualizationHook'
        raise ConfigError(
            f'{flag} with --tta: default_hooks.visualization.type='
            f'{hook.get("type")!r} in {config_file} is {what}, '
            'which draws one image per sample and fails '
            'on a TTA batch, where each sample is a list of augmented views '
            '(MMPretrain\'s tools/test.py ends there with "RuntimeError: '
            'permute(sparse_coo): number of dimensions ..."). Drop --tta to '
            'draw the plain test\'s predictions, or drop '
            f'{flag} to test with TTA.')
    hook.enable = True
    hook.show = show
    hook.wait_time = wait_time
    hook.out_dir = show_dir
    hook.interval = interval


def add_dump_metrics(cfg: Config,
                     pred_files: Sequence[str],
                     config_file: Optional[str] = None,
                     options: Optional[dict] = None) -> None:
    """Add a dump of the predictions to the metrics of ``test_evaluator``
    for each of ``pred_files`` (``--dump``, and ``--out`` unless
    ``--out-item metrics``), as MMPretrain's ``tools/test.py`` adds its
    ``DumpResults`` to the built evaluator's metrics.

    A metric or a list of them becomes a list with the dumps after it; an
    ``Evaluator`` config (``dict(type='Evaluator', metrics=...)``, any
    ``type`` that builds MMEngine's ``Evaluator`` or a subclass) keeps its
    type and gets the dumps after its ``metrics``.

    Args:
        cfg (Config): The test config, ``--cfg-options`` merged, changed in
            place.
        pred_files (Sequence[str]): The pickle files to write.
        config_file (str, optional): The config file, for the errors.
            Defaults to ``cfg.filename``.
        options (dict, optional): The ``--cfg-options`` given. Defaults to
            None.

    Raises:
        ConfigError: If ``test_evaluator`` is a dict of ``metrics`` whose
            ``type`` builds no ``Evaluator``, or a type no registry holds
            (:func:`~mmadaptformer.utils.metric_scorers.
            evaluator_metric_cfgs`).
    """
    if not pred_files:
        return
    source = config_file or cfg.filename
    metrics = evaluator_metric_cfgs(cfg, 'test_evaluator', source, options)
    evaluator = cfg.get('test_evaluator')
    if metrics is None:
        where = mistake_place(source, 'test_evaluator.type', options,
                              evaluator.get('type'))
        raise ConfigError(
            f'{where} builds no MMEngine Evaluator, so --dump and --out '
            '(the predictions) have no list of metrics to add their '
            'AtomicDumpResults to. Add dict(type=\'AtomicDumpResults\', '
            'out_file_path=...) to that evaluator in the config instead.')
    # MMEngine's DumpResults, replacing the file atomically.
    metrics += [
        dict(type='AtomicDumpResults', out_file_path=out_file)
        for out_file in pred_files
    ]
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator.metrics = metrics
    else:
        cfg.test_evaluator = metrics
