# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Everything this package changes in upstream libraries, in one place.

``import mmadaptformer`` calls :func:`apply_upstream_fixes` once; nothing
else in the package changes mmengine, mmaction2, mmpretrain or torch at
import time. Behaviour that only some runs need is opt-in through
registered types that a config names (e.g. ``AdaptAmpOptimWrapper``, which
upcasts the bfloat16 scores of the trained model's own mmaction2 heads
with a forward hook) or through the tools (the gloo process group of
:func:`~mmadaptformer.utils.setup_cpu_distributed` on machines without a
GPU).
"""

__all__ = ['apply_upstream_fixes', 'UPSTREAM_CHANGES']

#: What :func:`apply_upstream_fixes` changes, and why, for readers and
#: for the README.
UPSTREAM_CHANGES = (
    ('mmaction2: a stand-in for `mmaction.models.localizers.drn`',
     'The mmaction2 1.2.0 wheel lacks that folder (open-mmlab/mmaction2 '
     'issue 2714), so `import mmaction.models` fails and configs with '
     "default_scope='mmaction' find no model. Only when the folder is "
     'missing: a stand-in module in sys.modules, and `DRN` in mmaction\'s '
     'MODELS raises an error that names the gap.'),
    ('torch: MMEngine training state on the `weights_only` allow-list',
     '`torch.serialization.add_safe_globals` with HistoryBuffer, guarded '
     "stand-ins for numpy's numeric array, dtype and scalar rebuilders, a "
     "guarded `getattr` that resolves HistoryBuffer's statistics methods "
     'only and a `bytes` that makes only the empty one; so `--resume` '
     'works on torch >= 2.6 without turning weights_only off.'),
    ('mmengine: safe checkpoint loaders for every scheme',
     '`CheckpointLoader.register_scheme` (public) for local paths, '
     'http(s)://, torchvision:// and modelzoo://, open-mmlab:// and '
     "openmmlab://, mmcls://: MMEngine's own loaders call torch.hub with "
     'weights_only switched off, so a checkpoint given as an address '
     'could run code.'),
    ('mmengine: its loader functions and `load_url` bound to safe ones',
     "`mmengine.runner.checkpoint`'s `load_from_local`, `load_from_http`, "
     '`load_from_torchvision`, `load_from_openmmlab`, `load_from_mmcls` '
     "and `load_url`, and `mmengine.utils.dl_utils`' `load_url` (PyTorch's "
     '`load_state_dict_from_url`), public functions: called by name they '
     'kept MMEngine\'s behaviour (`weights_only` off for an address), so '
     'a checkpoint at an http:// address ran its payload; they now load '
     'as the registered schemes do. `load_from_pavi` and `load_from_ceph`, '
     'which call torch.load with its default (off under PyTorch\'s '
     'opposite switch, which users set for older code: '
     "`load_from_ceph(FILE, backend='local')` ran a payload), run with "
     '`weights_only` forced on, as `CheckpointLoader` runs them.'),
    ('torch: `torch.hub.load_state_dict_from_url` bound to a safe loader',
     'It loads with `weights_only` off by default and takes a file found '
     "in the hub cache without downloading it: torchvision's pretrained "
     "weights (mmaction2's `torchvision.` backbones) loaded a file planted "
     'at $TORCH_HOME/hub/checkpoints/resnet18-f37072fd.pth and ran its '
     'payload when `tools/train.py` built the model. `torch.hub`\'s name '
     'and every module of torch, torchvision, timm and OpenMMLab that '
     'imported the function by name (`torch.utils.model_zoo.load_url`, '
     "torchvision's `load_state_dict_from_url`) now hold the loader of "
     'http:// checkpoints (same cache, `weights_only=True`, a hash in a '
     'published name checked).'),
    ('mmengine: `CheckpointLoader.load_checkpoint` wrapped',
     'Any other loader (pavi://, s3://, or one a user registers later) '
     "runs with torch's TORCH_FORCE_WEIGHTS_ONLY_LOAD switch on, and a "
     'refusal names the file and the global. Inside '
     '`reading_once()` (a wrapped backbone checking, then loading, its '
     'pretrained file) a file is read once.'),
    ('mmengine: `Runner.build_dataloader` takes a scoped `collate_fn`',
     'A config inheriting `mmaction::` or `mmpretrain::` gets `_scope_` in '
     'its `collate_fn` dict, which MMEngine 0.10.7 passes on as a keyword '
     "argument: the first batch failed (mmaction2's MViT recipes, 16 "
     'mmpretrain configs such as MixMIM and BEiT). The wrapper, also on '
     '`FlexibleRunner`, resolves the type in that scope and drops the key.'),
    ('mmengine: config text from a checkpoint runs only if it is data',
     "`Runner.resume` runs `meta['config']` and an Inferencer given "
     "`model=None` runs the checkpoint's stored config, both through "
     '`Config.fromstring`, i.e. as Python: a checkpoint could carry code '
     'past `weights_only`. Within those callers, `Config.fromstring` now '
     'refuses text that is more than assignments of data, or that holds a '
     '`{{$ENV:default}}`-style template, which MMEngine replaces before it '
     'runs the text.'),
    ('mmengine: an adapter-only checkpoint refused by a model without its '
     'adapters; a whole classifier refuses a checkpoint that misses its '
     'head',
     '`_load_checkpoint_to_model` (private; no public extension point is '
     'on that path), behind `load_checkpoint`, the Runner, the strategies '
     "and the Inferencers, so behind mmaction2's `init_recognizer` and "
     "mmpretrain's `get_model`: a stock model given an adapter-only "
     'checkpoint loaded its head, warned about the rest and ran on the '
     'backbone it was built with; a recognizer or classifier given a '
     'checkpoint whose head has another number of classes, or an '
     'AdaptFormer model given a backbone-only file or a stock model\'s '
     'full checkpoint, warned and predicted from a random head or '
     'untrained adapters. Each is now refused before anything loads, '
     "naming the file and the tensors. The loads of MMEngine's training "
     "(`Runner.load_checkpoint`, a strategy's `load_model_state_dict`, "
     "and a whole model's `init_cfg=dict(type='Pretrained')`) keep its "
     'transfer: `load_from` of another head size fine-tunes on the new '
     'classes.'),
    ('mmaction2, mmpretrain: multimodal models off next to transformers 5',
     'Both toolboxes import their multimodal models (VindLU; BLIP, LLaVA, '
     '...) whenever transformers >= 4.28 is installed, and those modules '
     'fail to import with transformers 5 (`apply_chunking_to_forward` is '
     'gone), taking every other model with them. Only with transformers '
     '>= 5: their `WITH_MULTIMODAL` flags are set to False, so they '
     'register their own placeholders for those models.'),
    ('mmpretrain: RevViT seeds drawn from the seeded generator',
     '`RevTransformerEncoderLayer.seed_cuda` records a seed for the '
     "backward's recomputation and seeds every generator with it, but takes "
     'it from `torch.seed()` (OS entropy): after the first forward of a '
     'RevViT every random number of the run (dropout, Mixup, ...) was '
     'unseeded, so `randomness=dict(seed=...)` did not repeat a run. The '
     'seed is now drawn from the seeded CPU generator; the rest is '
     'unchanged.'),
    ('mmengine, mmpretrain: a checkpoint given as the config is named',
     "`Config.fromfile` (behind mmaction2's `init_recognizer` and "
     "Inferencers) and mmpretrain's `ModelHub.get` (behind `get_model`, "
     '`init_model` and its Inferencers), both public, wrapped: given a '
     'checkpoint, a video or an image (e.g. `init_recognizer(CHECKPOINT, '
     "CONFIG)`), they ended with MMEngine's `OSError: Only py/yml/yaml/json "
     'type are supported now!` or `Failed to find model "epoch_1.pth"`. '
     'Now the error names the file, what it is and the order of files, '
     "and what the reader takes (mmpretrain's: only `.py` configs); a "
     'config it reads, or a name, goes through unchanged.'),
    ('mmpretrain: its inferencers name the image loading they ignore',
     '`BaseInferencer.__init__` and `__call__` (public, behind every '
     'mmpretrain inferencer) and `FeatureExtractor.__call__` (public; it '
     'does not call `BaseInferencer.__call__`, the only one that can warn '
     'where a config\'s `custom_imports` imports this package during the '
     'first `__init__`) wrapped: the inferencers drop the test '
     "pipeline's `LoadImageFromFile` and read images with "
     "`mmcv.imread`'s defaults, "
     "so a config's `color_type='grayscale'` (or `imdecode_backend`, "
     '`to_float32`, ...) was ignored and an image scored otherwise than by '
     '`tools/test.py`, without a word. Now one warning per config names '
     'the step and its arguments; the inferencer is otherwise unchanged.'),
    ('mmengine: one `Config.fromfile` at a time',
     'It is not thread-safe: reading a config with an `mmaction::` or '
     '`mmpretrain::` base, it reloads `pkg_resources` while another '
     "thread's read looks a package up in it, and two threads reading "
     "configs at once (mmaction2's `init_recognizer`, mmpretrain's "
     '`get_model`, the Inferencers, ours) failed now and then with '
     "`TypeError: 'DistInfoDistribution' object is not iterable` (10 to "
     '14 of 60 reads). The wrapper of change 12 (every config read passes '
     'it) holds a lock of its own while MMEngine reads, which no other '
     'lock is taken under, so it cannot deadlock with the inferencers\' '
     'locks; the file itself is unchanged.'),
    ('mmaction2: `ColorJitter` hue shifts that work under NumPy 2',
     '`ColorJitter.adjust_hue` adds a Python int to a uint8 hue, which '
     'NumPy 2 (NEP 50) refuses when the int is negative: about half of '
     'the calls with its default hue=0.1 raised `OverflowError: Python '
     'integer -5 out of bounds for uint8`, so a pipeline with it stopped '
     'at a random batch. Only where the installed one raises that: '
     'replaced with one that sums in int16 and wraps the hue at 180, as '
     'NumPy 1 did for a negative offset.'),
    ('mmcv: `adjust_hue` that works under NumPy 2',
     "mmcv 2.1.0's `adjust_hue` (behind mmpretrain's `ColorJitter`, with "
     'hue=0.1 in its MoCo v2/v3 and BYOL recipes) casts a negative shift '
     'with `np.uint8(hue_factor * 255)`, which NumPy 2 refuses with '
     '`OverflowError: Python integer -25 out of bounds for uint8`. Only '
     'where it raises that: `mmcv.adjust_hue` (and its names in '
     '`mmcv.image` and `mmcv.image.photometric`) bound to a copy that '
     'casts through int32 as torchvision does, so the uint8 sum wraps the '
     'hue as under NumPy 1.'),
    ('mmaction2: `PoseCompact` and `MMCompact` without `np.Inf`',
     'Both compute the keypoints\' box with `np.min(..., initial=np.Inf)`; '
     'NumPy 2 removed `np.Inf`, so every call raised `AttributeError: '
     '`np.Inf` was removed in the NumPy 2.0 release` and the skeleton '
     'recipes (PoseC3D, RGBPoseConv3D) stopped at their first sample. Only '
     'where they raise that: `PoseCompact.transform` and '
     '`MMCompact._get_box` replaced with copies that use `np.inf`.'),
    ('mmaction2, mmpretrain: `RandomErasing` checks its fill colour',
     "With mode='const' both fill the erased patch with "
     '`np.array(fill_color, dtype=np.uint8)`: a value outside 0 to 255 '
     'wrapped silently under NumPy 1 (300 filled 44) and raises '
     '`OverflowError: Python integer 300 out of bounds for uint8`, naming '
     'no argument, under NumPy 2, at the first batch that erased a patch. '
     'Both `__init__` (public) wrapped: after the original runs, such a '
     'value is refused when the transform is built, naming `fill_color`, '
     'the value and the range.'),
    ('mmpretrain: relative position tables resized without `interp2d`',
     "`resize_relative_position_bias_table` (behind BEiT's and Swin "
     "Transformer's load pre-hooks) fits each head with SciPy's "
     "`interp2d(kind='cubic')`, removed in SciPy 1.14: loading a checkpoint "
     'whose table was made for another window size (a BEiT pretrained at '
     '224 used at another image size) raised `NotImplementedError: '
     '`interp2d` has been removed in SciPy 1.14.0`. Only where it raises '
     'that: the function (and its names in `mmpretrain.models.utils` and '
     'the two backbones) bound to a copy that fits the same bicubic spline '
     'with `RectBivariateSpline`; it gives what SciPy 1.13 gave.'),
)

_APPLIED = False


def apply_upstream_fixes() -> None:
    """Apply every change listed in :data:`UPSTREAM_CHANGES`. Idempotent.

    The steps below are numbered in the order they run; one step may make
    several of the changes (the README's "Upstream gaps" and
    :data:`UPSTREAM_CHANGES` count the changes, so their numbers differ).

    1. mmaction2: when its wheel lacks ``mmaction/models/localizers/drn``,
       place a stand-in ``drn`` package in ``sys.modules`` and register a
       ``DRN`` that fails with a message naming the gap
       (:mod:`~mmadaptformer.utils.mmaction_compat`). Must run before
       anything imports ``mmaction.models``.
    2. torch: add MMEngine's training-state types to the ``weights_only``
       allow-list (:mod:`~mmadaptformer.utils.checkpoint_loading`).
    3. mmengine: register safe loaders for local paths and for every scheme
       that resolves to an address, through the public
       ``CheckpointLoader.register_scheme``
       (:mod:`~mmadaptformer.utils.checkpoint_schemes`).
    4. mmengine: wrap ``CheckpointLoader.load_checkpoint`` so that any other
       loader runs with ``weights_only`` forced on, and so that a file is
       read once inside :func:`~mmadaptformer.utils.checkpoint_schemes.
       reading_once`.
    4b. mmengine: bind the public loader functions of
       ``mmengine.runner.checkpoint`` (``load_from_local``,
       ``load_from_http``, ``load_from_torchvision``,
       ``load_from_openmmlab``, ``load_from_mmcls``) and ``load_url`` there
       and in ``mmengine.utils.dl_utils`` to the safe loaders, and
       ``load_from_pavi`` and ``load_from_ceph`` to themselves with
       ``weights_only`` forced on, for code that calls them by name
       (:mod:`~mmadaptformer.utils.direct_loaders`).
    4c. torch: bind ``torch.hub.load_state_dict_from_url``, and every
       reference to it in the modules of torch, torchvision, timm and
       OpenMMLab imported so far, to the safe ``http://`` loader
       (:func:`~mmadaptformer.utils.direct_loaders.guard_hub_loader`).
    5. mmengine: wrap ``Runner.build_dataloader`` and
       ``FlexibleRunner.build_dataloader`` so that a ``collate_fn`` dict with
       ``_scope_`` (added by cross-package inheritance) has its type
       resolved in that scope instead of ``_scope_`` reaching the function
       (:mod:`~mmadaptformer.utils.dataloader_compat`).
    6. mmengine: wrap ``Config.fromstring``, ``Runner.resume``,
       ``FlexibleRunner.resume`` and ``BaseInferencer.__init__`` so that
       config text stored in a checkpoint runs only when it assigns plain
       data (:mod:`~mmadaptformer.utils.stored_config`).
    7. mmengine: wrap ``_load_checkpoint_to_model`` in
       ``mmengine.runner.checkpoint`` and the modules that import it by
       name, so that an adapter-only checkpoint is refused by a model that
       lacks its trained tensors (:mod:`~mmadaptformer.utils.
       adapter_only_fit`), and, except in the Runner's and the strategies'
       loads (training's transfers), a whole classifier refuses a head of
       another number of classes, and an AdaptFormer model a backbone-only
       file (:mod:`~mmadaptformer.utils.head_fit`).
    8. mmaction2 and mmpretrain: when the installed transformers is 5 or
       newer, set ``WITH_MULTIMODAL`` in ``mmaction.utils.dependency`` and
       ``mmpretrain.utils.dependency`` to False, so that importing their
       models does not import the multimodal ones, which fail with it
       (:mod:`~mmadaptformer.utils.transformers_compat`). Must run before
       anything imports ``mmaction.models`` or ``mmpretrain.models``.
    9. mmpretrain: replace ``RevTransformerEncoderLayer.seed_cuda``, which
       seeds every generator from the operating system's entropy on each
       forward, with one that draws its seed from the seeded generator
       (:mod:`~mmadaptformer.utils.revvit_compat`). Imports
       ``mmpretrain.models``, so it runs after 8.
    10. mmengine and mmpretrain: wrap ``Config.fromfile`` and
        ``ModelHub.get`` so that a checkpoint, video or image given as the
        config is refused naming what it is and the order of files
        (:mod:`~mmadaptformer.utils.config_file_guard`), and a mistake in
        the config's bases is named on one line
        (:mod:`~mmadaptformer.utils.config_base_errors`); the same wrap
        reads one config at a time (MMEngine's reader reloads
        ``pkg_resources`` and is not thread-safe), holding a lock no other
        lock is taken under (:mod:`~mmadaptformer.utils.config_read_lock`).
    11. mmpretrain: wrap ``BaseInferencer.__init__`` and ``__call__`` of
        ``mmpretrain.apis.base``, and ``FeatureExtractor.__call__`` (which
        does not call the base's), so that an inferencer whose config's
        test ``LoadImageFromFile`` has arguments it will ignore says so,
        once per config, in a process whose config's ``custom_imports``
        imports this package during the first ``__init__`` too
        (:mod:`~mmadaptformer.utils.image_loading_agreement`).
    12. mmaction2: where ``ColorJitter.adjust_hue`` raises NumPy 2's
        ``OverflowError`` for a negative hue offset (a uint8 hue plus a
        negative Python int), replace it with one that sums in ``int16``
        and wraps at 180; and where mmcv's ``adjust_hue`` (behind
        mmpretrain's ``ColorJitter``) raises it for a negative factor, bind
        ``mmcv.adjust_hue`` to one that casts the shift through ``int32``
        as torchvision does (:mod:`~mmadaptformer.utils.color_jitter_hue`).
    13. mmaction2: where ``PoseCompact.transform`` and
        ``MMCompact._get_box`` raise NumPy 2's ``AttributeError`` for the
        removed ``np.Inf``, replace them with copies that use ``np.inf``
        (:mod:`~mmadaptformer.utils.pose_compact_inf`).
    14. mmaction2 and mmpretrain: wrap ``RandomErasing.__init__`` so that
        a ``mode='const'`` ``fill_color`` outside 0 to 255 is refused when
        the transform is built, naming the key, the value and the range
        (:mod:`~mmadaptformer.utils.random_erasing_fill`).
    15. mmpretrain: where ``resize_relative_position_bias_table`` raises
        SciPy's ``NotImplementedError`` for the removed ``interp2d``, bind
        it, in ``mmpretrain.models.utils.embed``, ``mmpretrain.models.
        utils`` and the BEiT and Swin Transformer backbones (which import
        it by name), to a copy that fits each head with
        ``RectBivariateSpline``, the same bicubic spline
        (:mod:`~mmadaptformer.utils.relative_position_resize`). Imports
        ``mmpretrain.models``, so it runs after 8.
    """
    global _APPLIED
    if _APPLIED:
        return
    from .adapter_only_fit import guard_checkpoint_to_model
    from .checkpoint_schemes import register_safe_checkpoint_loaders
    from .color_jitter_hue import fix_color_jitter_hue, fix_mmcv_adjust_hue
    from .config_file_guard import guard_config_file_reads
    from .dataloader_compat import patch_scoped_collate
    from .direct_loaders import guard_direct_loaders
    from .image_loading_agreement import guard_mmpretrain_inferencers
    from .mmaction_compat import patch_mmaction_drn, register_missing_drn
    from .pose_compact_inf import fix_pose_compact
    from .random_erasing_fill import check_random_erasing_fill
    from .relative_position_resize import fix_relative_position_resize
    from .revvit_compat import draw_revvit_seeds_from_the_generator
    from .stored_config import guard_stored_config_execution
    from .transformers_compat import disable_broken_multimodal
    patch_mmaction_drn()
    disable_broken_multimodal()
    register_safe_checkpoint_loaders()  # 2, 3 and 4
    guard_direct_loaders()  # 4b and 4c
    register_missing_drn()
    patch_scoped_collate()
    guard_stored_config_execution()
    guard_checkpoint_to_model()
    draw_revvit_seeds_from_the_generator()
    guard_config_file_reads()
    guard_mmpretrain_inferencers()
    fix_color_jitter_hue()
    fix_mmcv_adjust_hue()
    fix_pose_compact()
    check_random_erasing_fill()
    fix_relative_position_resize()
    _APPLIED = True
