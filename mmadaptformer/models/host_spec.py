# Copyright (c) mmadaptformer contributors. All rights reserved.
"""What can be declared about a host backbone: :class:`HostSpec`.

The declarations themselves are in :mod:`mmadaptformer.models.hosts_mmaction`
and :mod:`mmadaptformer.models.hosts_mmpretrain`; every feature reads them
through :mod:`mmadaptformer.models.hosts` (:func:`~mmadaptformer.models.
hosts.host_spec`, :data:`~mmadaptformer.models.hosts.HOSTS`).
"""
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from torch import nn

__all__ = ['HostSpec', 'qualname', 'block_like_types']


def qualname(cls: type) -> str:
    """``module.qualname`` of a class, the key of every host table.

    Args:
        cls (type): Any class.

    Returns:
        str: E.g. ``'mmaction.models.backbones.vit_mae.Block'``.
    """
    return f'{cls.__module__}.{cls.__qualname__}'


def block_like_types(model: nn.Module) -> List[str]:
    """Class names of the children of ModuleList/Sequential containers.

    Used by error messages to show which block types a model has.

    Args:
        model (nn.Module): Any module.

    Returns:
        list[str]: ``'Name (module.qualname)'`` entries, in module order.
    """
    names = OrderedDict()
    for module in model.modules():
        if isinstance(module, (nn.ModuleList, nn.Sequential)):
            for child in module.children():
                if not isinstance(child, (nn.ModuleList, nn.Sequential)):
                    cls = type(child)
                    names[f'{cls.__name__} ({qualname(cls)})'] = None
    return list(names)


@dataclass(frozen=True)
class HostSpec:
    """One host backbone and what the package knows about it.

    Attributes:
        backbone (str): ``module.qualname`` of the backbone class.
        block (str): ``module.qualname`` of its transformer block.
        norm (str): The block's norm right before the feed-forward network;
            its input is the AdaptMLP input.
        ffn (str): The block's feed-forward network.
        branch (str, optional): The module whose output is the whole
            feed-forward branch, when it is not the FFN's ``dropout_layer``
            (see :mod:`mmadaptformer.models.adapters.block_wiring`).
        promptable (bool): The block runs global self-attention over a
            ``(B, N, C)`` sequence with nothing tied to its length, so VPT
            can insert prompt tokens.
        attention (str, optional): ``module.qualname`` of a hand-written
            attention that has a fused forward.
        fused_forward (str, optional): Name of that forward in
            :mod:`mmadaptformer.models.utils.fused_attention`.
        token_embed (str, optional): Attribute of the patch embedding whose
            output tokens stay transposed (non-contiguous) in the host.
        batch_first (bool): The blocks' first input holds the samples along
            dim 0, possibly folded sample-major (``(b t) ...``). The
            multi-task forward lays its task streams out along that dim, so
            it refuses hosts whose blocks are not batch-first, e.g.
            sequence-first ``(L, N, C)`` blocks.
        stream_inputs (int): How many leading positional inputs of a block,
            and tensors of the last block's output, hold the samples along
            dim 0 (RevViT's reversible pair ``x1, x2``: 2). The multi-task
            forward gives each task its own rows in all of them.
        side_stream (str, optional): What per-sample state the backbone
            carries past its blocks besides those inputs, if any: a second
            branch beside them (Conformer's CNN), tokens they do not take
            (TNT's patch tokens beside its pixel blocks) or a batch size
            read before a block and used after it (MobileViT folds its
            patches back with its conv input's). The multi-task forward
            gives the tasks their own rows in the blocks' inputs only, so
            it refuses such a host: the rest would keep one row per sample,
            which the tasks' rows no longer fit.
        ffn_type (str, optional): ``module.qualname`` that ``ffn`` must
            have for a module of type ``block`` to be adapted, when that
            type also wraps other sub-layers (LeViT's ``Residual`` wraps its
            attentions too); the others are not blocks.
        inline_drop_path (str, optional): Attribute of the block holding
            the config (with ``drop_prob``) of a drop path that its forward
            builds on every call and applies to the output of ``branch``.
            No hook can keep the adapter out of it, so a block whose
            ``drop_prob`` is not 0 is refused.
        reversible_input (str, optional): Attribute of the backbone whose
            output enters a custom autograd function running the blocks
            (RevViT's reversible ``RevBackProp``). Its backward, the blocks'
            only gradient path, runs only if that output requires a
            gradient, which a frozen stem does not give: injection makes it
            require one in training.
        own_pretrained (tuple[tuple[str, Any]]): Attributes of the backbone
            and the values that stop its own ``init_weights()`` from loading
            the weights it names itself (Swin3D's and UniFormer's 2D
            inflation, UniFormerV2's CLIP encoder, TimeSformer's
            ``pretrained``). The frozen-host wrapper sets them while that
            runs when it loads a ``Pretrained`` file itself (``--pretrained``),
            which replaces those weights anyway: a stock config's address
            would otherwise be downloaded first, or fail offline.
        own_pretrained_advice (str, optional): How to give the backbone
            the weights it reads itself, in a layout its ``init_cfg`` does
            not take, as a phrase that names them and the settings that
            load them: ``{key}`` stands for its config key, ``{file}`` for
            the file (where it reads a file). The refusals of a file that
            ``--pretrained`` or an ``init_cfg`` cannot load say it (see
            :func:`~mmadaptformer.models.backbones.own_loading_hint.
            own_loading_hint`).
        own_pretrained_key (str, optional): The key of a checkpoint dict
            under which the backbone's own loading of a file reads its
            weights (Swin3D's inflation: ``'model'``, as Swin's releases
            nest them); None: the top level or ``'state_dict'``, as
            MMEngine reads them (TimeSformer). A file nested under another
            key gets no advice to set it as the backbone's ``pretrained``.
        pretrained_names (tuple, optional): ``(flag, names)`` for a
            backbone whose own ``pretrained`` is not a file while its
            attribute ``flag`` is true (the constructor's default where the
            config leaves it out) but one of ``names``, the keys of the
            address table of its module (mmaction2's ``_MODELS``), which it
            downloads: UniFormer's ``pretrained2d``, UniFormerV2's
            ``clip_pretrained``.
        pretrained_reader (str, optional): Dotted name of a function
            ``(host, init_cfg) -> state dict or None`` that reads the file of
            a ``Pretrained`` init_cfg the way the host's own
            ``init_weights()`` would, where that differs from MMEngine's
            ``PretrainedInit`` (MViT with ``pretrained_type='maskfeat'``:
            ``backbone.`` keys, relative-position tables resized to the
            model). None from it: the file is read as MMEngine reads it.
        own_layout (str, optional): Dotted name of a function
            ``(host, state_dict) -> bool``: whether the state dict of a
            ``Pretrained`` file (without a prefix) is in a layout that the
            host's own loading of its ``pretrained`` converts and its
            ``init_cfg`` does not take (TimeSformer's 2D ViT in mmcv's
            layout, ``norms.*``). A wrapper gives such a file to the host as
            its own ``pretrained`` (``--pretrained`` sets the ``init_cfg``),
            so that the host's own code converts it, as with
            ``pretrained=FILE``.
        feature_width (str, optional): Dotted name of a function
            ``(host) -> int or None`` (see
            :mod:`mmadaptformer.models.host_widths`) that reads from the
            built host the channel width of the features its forward hands
            the neck or head: dim 1 of the last tensor it returns, for its
            configured ``out_indices``/``out_type``. The head-width check
            compares a head's ``in_channels`` with it. None: not declared,
            for a host whose output is several different things (Conformer's
            CNN and transformer features) or whose width is not read
            reliably (the module lists them); such a host's head is not
            checked.
        output_check (str, optional): Dotted name of a function ``(host,
            key, written) -> str or None`` that tells why the built host's
            forward would hand the head something its settings do not
            say, or break (HiViT's ``out_indices`` matched in its stem
            blocks or in a main block before the last); ``key`` is the
            host's config key, which the message names, and ``written``
            the host's config as the user wrote it (or None), whose values
            the message shows where the host changed them in place. The
            model config check refuses the config with it before the work
            dir is made, for a host inside a wrapper and a plain one alike.
        output_check_keys (tuple[str]): The keys under the host's config
            key behind an ``output_check`` refusal, to name the
            ``--cfg-options`` entry that set one.
        init_cfg_none_fails (bool): The constructor takes an ``init_cfg``
            but fails on ``init_cfg=None`` (mmaction2's MViT calls
            ``init_cfg.copy()``; its default is a TruncNormal and Constant
            init list). A wrapper builds such a host without the key, which
            gives it that default init (see
            :func:`~mmadaptformer.models.backbones.host_init.host_build_cfg`);
            a plain one is refused before the work dir.
        input_sized_state (tuple[tuple[str, tuple[str]]]): ``(module
            qualname, attributes)`` of modules inside the host whose forward
            replaces those attributes (buffers included) with values for the
            input's size, and keeps them (EVA-02's rotary embedding). The
            adapted host gets the values back after each call, so that the
            frozen state stays as loaded (see
            :mod:`mmadaptformer.models.adapters.input_sized_state`).
    """
    backbone: str
    block: str
    norm: str
    ffn: str
    branch: Optional[str] = None
    promptable: bool = False
    attention: Optional[str] = None
    fused_forward: Optional[str] = None
    token_embed: Optional[str] = None
    batch_first: bool = True
    stream_inputs: int = 1
    side_stream: Optional[str] = None
    ffn_type: Optional[str] = None
    inline_drop_path: Optional[str] = None
    reversible_input: Optional[str] = None
    own_pretrained: Tuple[Tuple[str, Any], ...] = ()
    own_pretrained_advice: Optional[str] = None
    own_pretrained_key: Optional[str] = None
    pretrained_names: Optional[Tuple[str, Tuple[str, ...]]] = None
    pretrained_reader: Optional[str] = None
    own_layout: Optional[str] = None
    feature_width: Optional[str] = None
    output_check: Optional[str] = None
    output_check_keys: Tuple[str, ...] = ()
    init_cfg_none_fails: bool = False
    input_sized_state: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()

    @property
    def wiring(self) -> Dict[str, str]:
        """The block wiring as a ``block_types`` entry (without type), plus
        ``ffn_type`` and ``inline_drop_path`` where declared."""
        wiring = dict(norm=self.norm, ffn=self.ffn)
        for key in ('branch', 'ffn_type', 'inline_drop_path'):
            if getattr(self, key) is not None:
                wiring[key] = getattr(self, key)
        return wiring
