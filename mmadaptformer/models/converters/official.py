# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Convert official AdaptFormer, VideoMAE and MAE checkpoints.

AdaptFormer (arXiv 2205.13535) was released as a stand-alone code base whose
ViTs differ from the MMAction2/MMPretrain ones only in parameter names and in
how a few tensors are split. This module renames and reshapes their state
dicts into the layout of this package; nothing here builds a model.

Four source layouts are understood (``SOURCE_TYPES``):

* ``'adaptformer-video'``: a checkpoint of the official ``main_video.py``
  (VideoMAE-style ViT with ``attn.q_proj/k_proj/v_proj``, ``attn.q_bias``
  and ``attn.v_bias``, a flattened MLP ``fc1``/``fc2`` directly in the block,
  ``adaptmlp`` and a BatchNorm + Linear head ``head.0``/``head.1``). It
  becomes a full MMAction2 ``Recognizer3D`` state dict (``backbone.*`` and
  ``cls_head.*``) for an ``AdaptFormer`` around mmaction2's
  ``VisionTransformer`` and a ``BNLinearHead``.
* ``'adaptformer-image'``: a checkpoint of the official ``main_image.py``
  (MAE/timm-style ViT with biased ``q_proj/k_proj/v_proj``, flattened MLP,
  ``adaptmlp``, ``norm`` or ``fc_norm`` and the same head). It becomes a full
  MMPretrain ``ImageClassifier`` state dict (``backbone.*`` and ``head.*``)
  for an ``AdaptFormer`` around mmpretrain's ``VisionTransformer`` and a
  ``BNLinearHead``.
* ``'videomae'``: a VideoMAE pre-training checkpoint (``encoder.*`` plus a
  decoder that is dropped); also the copy the official ``convert.py`` writes
  (split q/k/v, flattened MLP, still ``encoder.``-prefixed). It becomes a
  backbone-only state dict (``backbone.*``) for mmaction2's
  ``VisionTransformer``.
* ``'mae'``: an MAE pre-training checkpoint (timm ViT with fused ``qkv``;
  the decoder is dropped). It becomes a backbone-only state dict
  (``backbone.*``) for mmpretrain's ``VisionTransformer``.

Keys that are neither mapped nor knowingly dropped are returned as
``unmapped`` (or raise, with ``strict=True``) so that nothing is lost
silently.
"""
import argparse
import os
import os.path as osp
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor

from mmadaptformer.utils import safe_torch_load

__all__ = [
    'SOURCE_TYPES', 'FINAL_NORM_MODES', 'ConversionError', 'ConversionResult',
    'load_official_checkpoint', 'unwrap_checkpoint', 'detect_source_type',
    'convert_state_dict', 'format_report', 'save_converted_checkpoint',
    'sinusoid_encoding'
]

#: The checkpoint layouts :func:`convert_state_dict` understands.
SOURCE_TYPES = ('adaptformer-video', 'adaptformer-image', 'videomae', 'mae')

#: What to do with a checkpoint's final per-token ``norm``: ``'keep'`` maps
#: it to the backbone's final norm (mmaction2 ``norm`` for
#: ``use_mean_pooling=False``, mmpretrain ``ln1`` for ``final_norm=True``);
#: ``'pooled'`` drops it, as the official recipes do before mean pooling.
FINAL_NORM_MODES = ('keep', 'pooled')

# ``BatchNorm1d(affine=False, eps=1e-6)`` of the official head and of
# :class:`~mmadaptformer.models.heads.BNLinearHead`.
_HEAD_BN_EPS = 1e-6

_VIDEO_TYPES = ('adaptformer-video', 'videomae')
_PRETRAIN_TYPES = ('videomae', 'mae')
_BACKBONE_PREFIX = 'backbone.'


@dataclass(frozen=True)
class _Target:
    """Names of one target toolbox's modules."""
    name: str
    block: str
    norm1: str
    norm2: str
    fc1: str
    fc2: str
    final_norm: str
    pooled_norm: str
    head_prefix: str
    head_fc: str
    patch_dims: int


_MMACTION = _Target(
    name='mmaction2 VisionTransformer (VideoMAE)',
    block='blocks',
    norm1='norm1',
    norm2='norm2',
    fc1='mlp.layers.0.0',
    fc2='mlp.layers.1',
    final_norm='norm',
    pooled_norm='fc_norm',
    head_prefix='cls_head.',
    head_fc='fc_cls',
    patch_dims=5)
_MMPRETRAIN = _Target(
    name='mmpretrain VisionTransformer',
    block='layers',
    norm1='ln1',
    norm2='ln2',
    fc1='ffn.layers.0.0',
    fc2='ffn.layers.1',
    final_norm='ln1',
    pooled_norm='ln2',
    head_prefix='head.',
    head_fc='fc',
    patch_dims=4)

_BLOCK_KEY = re.compile(r'^blocks\.(\d+)\.(.+)$')
# Keys that only the official AdaptFormer code writes.
_ADAPTFORMER_MARKERS = re.compile(
    r'(^|\.)adaptmlp\.|\.attn\.[qkv]_proj\.|^blocks\.\d+\.fc[12]\.|^head\.')
# Known keys without a counterpart here, with the reason given to users.
_UNSUPPORTED_HINTS = (
    (re.compile(r'^embeddings\.\d+$'),
     'VPT prompt tokens (the official --vpt baseline) are not supported'),
    (re.compile(r'^(dist_token|head_dist\.)'),
     'distilled (DeiT) ViTs are not supported'),
    (re.compile(r'^pre_logits\.'),
     'a representation (pre-logits) layer is not supported'),
    (re.compile(r'^head\.0\.(weight|bias)$'),
     'the head BatchNorm is affine; BNLinearHead expects affine=False'),
)


class ConversionError(ValueError):
    """A checkpoint cannot be converted (unknown layout, bad shapes or
    unmappable keys)."""


@dataclass
class ConversionResult:
    """The converted state dict and what happened to every source key.

    Attributes:
        state_dict (OrderedDict): The converted state dict.
        source_type (str): One of :data:`SOURCE_TYPES`.
        dropped (dict): Source key -> why it was left out on purpose.
        added (dict): Target key -> why it was written although the source
            has no such tensor.
        unmapped (list): Source keys that could not be mapped.
        notes (list): Things the user must know to load the result, such as
            the adapter settings it needs.
    """
    state_dict: 'OrderedDict[str, Tensor]'
    source_type: str
    dropped: Dict[str, str] = field(default_factory=dict)
    added: Dict[str, str] = field(default_factory=dict)
    unmapped: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def load_official_checkpoint(filename: str) -> Any:
    """Load an official checkpoint file with ``weights_only=True``.

    The official training scripts save their ``argparse.Namespace`` next to
    the weights (``{'model': ..., 'optimizer': ..., 'args': args}``), so
    ``argparse.Namespace`` is allowed while this file is read, on top of
    :func:`mmadaptformer.utils.safe_torch_load`'s allow-list. A Namespace
    only holds attributes; ``weights_only`` stays on.

    Args:
        filename (str): Path to the checkpoint.

    Returns:
        Any: The loaded object, on the CPU.
    """
    with torch.serialization.safe_globals([argparse.Namespace]):
        return safe_torch_load(filename, map_location='cpu')


def _strip_module_prefix(state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Drop the ``module.`` that DDP/DeepSpeed wrappers put before keys."""
    out: Dict[str, Tensor] = OrderedDict()
    for key, value in state_dict.items():
        new_key = key[len('module.'):] if key.startswith('module.') else key
        if new_key in out:
            raise ConversionError(
                f'The checkpoint has both {new_key!r} and {key!r}; cannot '
                'tell which one to convert.')
        out[new_key] = value
    return out


def unwrap_checkpoint(checkpoint: Any) -> Tuple[Dict[str, Tensor], str]:
    """Find the state dict in a loaded checkpoint.

    ``{'state_dict': ...}``, ``{'model': ...}``, ``{'module': ...}`` (looked
    for in this order) and a bare state dict are accepted; ``module.``
    prefixes are stripped.

    Args:
        checkpoint (Any): What :func:`load_official_checkpoint` returned.

    Returns:
        tuple[dict, str]: The state dict and where it was found, e.g.
        ``"checkpoint['model']"``.
    """
    if not isinstance(checkpoint, dict):
        raise ConversionError(
            f'Expected a checkpoint dict, but got {type(checkpoint).__name__}.'
        )
    for wrapper in ('state_dict', 'model', 'module'):
        inner = checkpoint.get(wrapper)
        if isinstance(inner, dict):
            where = f'checkpoint[{wrapper!r}]'
            break
    else:
        inner, where = checkpoint, 'checkpoint'
    bad = [k for k, v in inner.items() if not isinstance(v, Tensor)]
    if bad or not inner:
        raise ConversionError(
            f'{where} is not a state dict: it holds non-tensor entries '
            f'{bad[:5]}. Expected a bare state dict or one wrapped as '
            "{'state_dict': ...}, {'model': ...} or {'module': ...}; the "
            f'top-level keys are {list(checkpoint)[:10]}.')
    return _strip_module_prefix(inner), where


def detect_source_type(state_dict: Dict[str, Tensor]) -> str:
    """Tell which of :data:`SOURCE_TYPES` a state dict is, from key names.

    * ``encoder.``/``decoder.``-prefixed keys: ``'videomae'`` (pre-training).
    * MAE decoder keys (``decoder_*``, ``mask_token``): ``'mae'``.
    * Otherwise the patch embedding decides video (Conv3d) or image
      (Conv2d), and AdaptFormer-only keys (``adaptmlp``, split
      ``q_proj/k_proj/v_proj``, block-level ``fc1``/``fc2``) or a classifier
      ``head`` make it an AdaptFormer checkpoint; without them it is taken as
      a plain ``'videomae'``/``'mae'`` backbone.

    Args:
        state_dict (dict): A state dict without ``module.`` prefixes.

    Returns:
        str: The detected source type.
    """
    keys = list(state_dict)
    if any(
            k.startswith(('encoder.', 'decoder.', 'encoder_to_decoder.'))
            for k in keys):
        return 'videomae'
    patch = state_dict.get('patch_embed.proj.weight')
    if patch is None:
        raise ConversionError(
            'Cannot detect the checkpoint type: it has no '
            "'patch_embed.proj.weight' (official/timm layout) nor "
            "'encoder.'-prefixed keys (VideoMAE pre-training). Its first keys "
            f'are {keys[:8]}. Is it already converted? Otherwise pass the '
            f'type explicitly (one of {SOURCE_TYPES}).')
    is_video = patch.dim() == 5
    if not is_video and any(
            k.startswith('decoder_') or k == 'mask_token' for k in keys):
        return 'mae'
    official = any(_ADAPTFORMER_MARKERS.search(k) for k in keys)
    if is_video:
        return 'adaptformer-video' if official else 'videomae'
    return 'adaptformer-image' if official else 'mae'


def sinusoid_encoding(num_positions: int, embed_dims: int) -> Tensor:
    """The fixed sine-cosine position table of VideoMAE.

    Computed in float64 as mmaction2's ``get_sinusoid_encoding`` does, so
    the result equals the buffer a fresh mmaction2 ``VisionTransformer``
    registers.

    Args:
        num_positions (int): Number of tokens.
        embed_dims (int): Embedding dimension.

    Returns:
        Tensor: float32 table of shape ``(1, num_positions, embed_dims)``.
    """
    exponent = torch.arange(embed_dims, dtype=torch.float64)
    exponent = (exponent - exponent % 2) / embed_dims
    inv_freq = torch.pow(10000, -exponent).view(1, -1)
    table = torch.arange(num_positions).view(-1, 1) * inv_freq
    table[:, 0::2].sin_()
    table[:, 1::2].cos_()
    return table.to(torch.float32).unsqueeze(0)


def _shape(tensor: Tensor) -> Tuple[int, ...]:
    return tuple(tensor.shape)


class _Converter:
    """One conversion: pops source keys and writes target keys."""

    def __init__(self, state_dict: Dict[str, Tensor], source_type: str,
                 target: _Target, final_norm: str) -> None:
        self.remaining: Dict[str, Tensor] = OrderedDict(state_dict)
        self.source_type = source_type
        self.target = target
        self.final_norm = final_norm
        self.out: 'OrderedDict[str, Tensor]' = OrderedDict()
        self.sources: Dict[str, str] = {}
        self.dropped: Dict[str, str] = OrderedDict()
        self.added: Dict[str, str] = OrderedDict()
        self.notes: List[str] = []

    # -- primitives -------------------------------------------------------
    def put(self, key: str, value: Tensor, source: str) -> None:
        if key in self.out:
            raise ConversionError(
                f'Both {self.sources[key]!r} and {source!r} map to {key!r}; '
                'the checkpoint mixes two layouts of the same tensor.')
        self.out[key] = value
        self.sources[key] = source

    def move(self, src: str, dst: str) -> bool:
        if src not in self.remaining:
            return False
        self.put(dst, self.remaining.pop(src), src)
        return True

    def move_module(self, src: str, dst: str) -> None:
        """Move ``src.weight``/``src.bias`` (whichever exist) to ``dst``."""
        for suffix in ('weight', 'bias'):
            self.move(f'{src}.{suffix}', f'{dst}.{suffix}')

    def drop(self, key: str, reason: str) -> None:
        self.remaining.pop(key)
        self.dropped[key] = reason

    def add(self, key: str, value: Tensor, reason: str) -> None:
        self.put(key, value, '<added>')
        self.added[key] = reason

    # -- pieces -----------------------------------------------------------
    def block_indices(self) -> List[int]:
        indices = set()
        for key in self.remaining:
            match = _BLOCK_KEY.match(key)
            if match:
                indices.add(int(match.group(1)))
        return sorted(indices)

    def convert_attention(self, src: str, dst: str) -> None:
        """Fuse/split q, k, v into the target's attention parameters."""
        fused_w = f'{src}.qkv.weight'
        split_w = [f'{src}.{p}_proj.weight' for p in 'qkv']
        present = [k for k in split_w if k in self.remaining]
        if fused_w in self.remaining:
            if present:
                raise ConversionError(
                    f'{fused_w!r} and {present} are both present; expected '
                    'either a fused qkv or split q/k/v projections.')
            weight = self.remaining.pop(fused_w)
            if weight.dim() != 2 or weight.shape[0] % 3:
                raise ConversionError(
                    f'{fused_w!r} has shape {_shape(weight)}; expected '
                    '(3 * dims, in_dims).')
            source = fused_w
        elif present:
            if len(present) != 3:
                missing = sorted(set(split_w) - set(present))
                raise ConversionError(
                    f'Block attention {src!r} has {present} but not '
                    f'{missing}; expected all of q_proj, k_proj, v_proj.')
            parts = [self.remaining.pop(k) for k in split_w]
            shapes = [_shape(p) for p in parts]
            if len(set(shapes)) != 1 or len(shapes[0]) != 2:
                raise ConversionError(
                    f'q/k/v projections of {src!r} must be 2-D and share one '
                    f'shape, but got {dict(zip(split_w, shapes))}.')
            weight = torch.cat(parts, dim=0)
            source = ', '.join(split_w)
        else:
            return
        self.put(f'{dst}.qkv.weight', weight, source)
        dims = weight.shape[0] // 3
        biases = self._attention_biases(src, dims)
        if self.target is _MMACTION:
            self._put_qv_bias(src, dst, biases)
        elif any(b is not None for b, _ in biases):
            ref = next(b for b, _ in biases if b is not None)
            full = [
                b if b is not None else ref.new_zeros(dims) for b, _ in biases
            ]
            sources = OrderedDict.fromkeys(k for _, k in biases if k)
            self.put(f'{dst}.qkv.bias', torch.cat(full), ', '.join(sources))
        else:
            self.notes.append(
                f'{src} has no q/k/v bias: build the backbone with '
                'qkv_bias=False.')

    def _attention_biases(self, src: str,
                          dims: int) -> List[Tuple[Optional[Tensor], str]]:
        """(bias, source key) for q, k and v; (None, '') where absent."""
        biases: List[Tuple[Optional[Tensor], str]] = [(None, '')] * 3
        fused_b = f'{src}.qkv.bias'
        if fused_b in self.remaining:
            bias = self.remaining.pop(fused_b)
            if _shape(bias) != (3 * dims, ):
                raise ConversionError(
                    f'{fused_b!r} has shape {_shape(bias)}; expected '
                    f'({3 * dims},) to match {src}.qkv.weight.')
            biases = [(b, fused_b) for b in bias.split(dims)]
        for i, name in enumerate('qkv'):
            for key in (f'{src}.{name}_bias', f'{src}.{name}_proj.bias'):
                if key not in self.remaining:
                    continue
                if biases[i][0] is not None:
                    raise ConversionError(
                        f'{key!r} and {biases[i][1]!r} are both a {name} bias '
                        f'of {src!r}.')
                bias = self.remaining.pop(key)
                if _shape(bias) != (dims, ):
                    raise ConversionError(
                        f'{key!r} has shape {_shape(bias)}; expected '
                        f'({dims},) to match the {name} projection.')
                biases[i] = (bias, key)
        return biases

    def _put_qv_bias(self, src: str, dst: str,
                     biases: List[Tuple[Optional[Tensor], str]]) -> None:
        (q_bias, q_key), (k_bias, k_key), (v_bias, v_key) = biases
        if k_bias is not None:
            # q.(k + b) = q.k + q.b adds one constant per query row, which
            # the softmax cancels; VideoMAE attention has no key bias.
            name = k_key if k_key.endswith('k_proj.bias') else f'{k_key}[k]'
            self.dropped[name] = ('key bias: it cancels in the softmax, and '
                                  'VideoMAE attention has none')
        if q_bias is None and v_bias is None:
            self.notes.append(
                f'{src} has no q/v bias: build the backbone with '
                'qkv_bias=False.')
            return
        if q_bias is None or v_bias is None:
            have = q_key or v_key
            raise ConversionError(
                f'{src!r} has only one of the q and v biases ({have!r}); '
                "mmaction2's VideoMAE attention needs both.")
        self.put(f'{dst}.q_bias', q_bias, q_key)
        self.put(f'{dst}.v_bias', v_bias, v_key)

    def convert_adapter(self, src: str, dst: str) -> None:
        self.move_module(f'{src}.down_proj', f'{dst}.down_proj')
        self.move_module(f'{src}.up_proj', f'{dst}.up_proj')
        self.move_module(f'{src}.adapter_layer_norm_before', f'{dst}.norm')
        self.move(f'{src}.scale', f'{dst}.scale')
        down = self.out.get(f'{dst}.down_proj.weight')
        up = self.out.get(f'{dst}.up_proj.weight')
        if (down is None) != (up is None):
            raise ConversionError(
                f'{src!r} has only one of down_proj and up_proj.')
        if down is not None and (down.dim() != 2
                                 or _shape(up) != _shape(down)[::-1]):
            raise ConversionError(
                f'{src}.down_proj.weight {_shape(down)} and '
                f'{src}.up_proj.weight {_shape(up)} do not form a '
                'bottleneck (expected (b, d) and (d, b)).')

    def convert_block(self, index: int) -> None:
        t = self.target
        src = f'blocks.{index}'
        dst = f'{_BACKBONE_PREFIX}{t.block}.{index}'
        self.move_module(f'{src}.norm1', f'{dst}.{t.norm1}')
        self.convert_attention(f'{src}.attn', f'{dst}.attn')
        self.move_module(f'{src}.attn.proj', f'{dst}.attn.proj')
        self.move_module(f'{src}.norm2', f'{dst}.{t.norm2}')
        # The official blocks hold fc1/fc2 directly; VideoMAE and timm keep
        # them in ``mlp``.
        for mlp in ('', 'mlp.'):
            self.move_module(f'{src}.{mlp}fc1', f'{dst}.{t.fc1}')
            self.move_module(f'{src}.{mlp}fc2', f'{dst}.{t.fc2}')
        if t is _MMACTION:
            self.move(f'{src}.gamma_1', f'{dst}.gamma_1')
            self.move(f'{src}.gamma_2', f'{dst}.gamma_2')
        self.convert_adapter(f'{src}.adaptmlp', f'{dst}.adaptmlp')

    def convert_stem(self) -> None:
        t = self.target
        patch = self.remaining.get('patch_embed.proj.weight')
        if patch is not None and patch.dim() != t.patch_dims:
            kind = {5: 'Conv3d (video)', 4: 'Conv2d (image)'}
            raise ConversionError(
                f"'patch_embed.proj.weight' has shape {_shape(patch)}, a "
                f'{kind.get(patch.dim(), "unknown")} patch embedding, but '
                f'source type {self.source_type!r} converts to {t.name}, '
                f'which needs a {kind[t.patch_dims]} one. Pick the other '
                'type.')
        if t is _MMPRETRAIN:
            self.move('cls_token', _BACKBONE_PREFIX + 'cls_token')
        self.move('pos_embed', _BACKBONE_PREFIX + 'pos_embed')
        self.move_module('patch_embed.proj',
                         _BACKBONE_PREFIX + 'patch_embed.projection')

    def convert_final_norms(self) -> None:
        t = self.target
        self.move_module('fc_norm', _BACKBONE_PREFIX + t.pooled_norm)
        if self.final_norm == 'keep':
            self.move_module('norm', _BACKBONE_PREFIX + t.final_norm)
        else:
            for key in ('norm.weight', 'norm.bias'):
                if key in self.remaining:
                    self.drop(
                        key, 'final per-token norm; mean pooling uses '
                        f'{t.pooled_norm} instead (final_norm=\'pooled\')')

    def convert_head(self) -> None:
        t = self.target
        fc = f'{t.head_prefix}{t.head_fc}'
        # main_video.py/main_image.py wrap the Linear as
        # Sequential(BatchNorm1d, Linear) before training.
        for stat in ('running_mean', 'running_var', 'num_batches_tracked'):
            self.move(f'head.0.{stat}', f'{t.head_prefix}bn.{stat}')
        self.move_module('head.1', fc)
        self.move_module('head', fc)

    def add_identity_bn(self, in_channels: int, dtype: torch.dtype) -> None:
        bn = f'{self.target.head_prefix}bn.'
        reason = ('the source head is a plain Linear; an identity '
                  'BatchNorm (mean 0, var 1 - eps) keeps its logits')
        self.add(bn + 'running_mean', torch.zeros(in_channels, dtype=dtype),
                 reason)
        # (x - 0) / sqrt((1 - eps) + eps) == x up to float rounding.
        self.add(bn + 'running_var',
                 torch.full((in_channels, ), 1 - _HEAD_BN_EPS, dtype=dtype),
                 reason)
        self.add(bn + 'num_batches_tracked', torch.tensor(0), reason)

    def check_head(self) -> None:
        t = self.target
        fc_w = self.out.get(f'{t.head_prefix}{t.head_fc}.weight')
        mean = self.out.get(f'{t.head_prefix}bn.running_mean')
        var = self.out.get(f'{t.head_prefix}bn.running_var')
        if fc_w is None:
            return
        for stat in (mean, var):
            if stat is not None and _shape(stat) != (fc_w.shape[1], ):
                raise ConversionError(
                    'The head BatchNorm statistics have shape '
                    f'{_shape(stat)} but the head Linear has shape '
                    f'{_shape(fc_w)}; expected ({fc_w.shape[1]},).')


def _default_final_norm(source_type: str) -> str:
    # The official video recipe mean-pools (fc_norm); the image recipe
    # defaults to the class token after the final norm.
    return 'pooled' if source_type in _VIDEO_TYPES else 'keep'


def _split_pretrain(conv: _Converter) -> None:
    """Keep the encoder of a pre-training checkpoint and drop the rest."""
    if conv.source_type == 'videomae':
        encoder = [k for k in conv.remaining if k.startswith('encoder.')]
        if encoder:
            for key in list(conv.remaining):
                if not key.startswith('encoder.'):
                    conv.drop(key, 'pre-training decoder')
            conv.remaining = OrderedDict(
                (k[len('encoder.'):], v) for k, v in conv.remaining.items())
    else:
        for key in list(conv.remaining):
            if key.startswith('decoder_') or key == 'mask_token':
                conv.drop(key, 'pre-training decoder')
    for key in list(conv.remaining):
        if key.startswith('head.'):
            conv.drop(key, 'classifier; a backbone checkpoint keeps none')


def _target_notes(conv: _Converter, pretrain: bool) -> None:
    """Say which backbone settings the converted keys need."""
    out = conv.out
    if conv.target is _MMACTION:
        if _BACKBONE_PREFIX + 'fc_norm.weight' in out:
            setting = 'use_mean_pooling=True (the default)'
        elif _BACKBONE_PREFIX + 'norm.weight' in out:
            setting = 'use_mean_pooling=False'
        else:
            setting = None
        model = 'mmaction2 VisionTransformer'
    else:
        has_ln1 = _BACKBONE_PREFIX + 'ln1.weight' in out
        has_ln2 = _BACKBONE_PREFIX + 'ln2.weight' in out
        if has_ln2 and not has_ln1:
            setting = "out_type='avg_featmap', final_norm=False"
        elif has_ln1 and not has_ln2:
            setting = "out_type='cls_token', final_norm=True (the defaults)"
        else:
            setting = None
        model = 'mmpretrain VisionTransformer'
    if setting:
        conv.notes.append(f'Build the {model} with {setting}.')
    if pretrain:
        conv.notes.append(
            'Backbone-only checkpoint: load it with init_cfg=dict('
            "type='Pretrained', checkpoint=<file>, prefix='backbone.') in "
            'the backbone config, or with load_from.')


def _adapter_notes(conv: _Converter, num_blocks: int) -> None:
    block = f'{_BACKBONE_PREFIX}{conv.target.block}.'
    pattern = re.compile(re.escape(block) + r'(\d+)\.adaptmlp\.(.+)$')
    layers: Dict[int, set] = {}
    bottlenecks: Dict[int, int] = {}
    for key, value in conv.out.items():
        match = pattern.match(key)
        if match:
            index, name = int(match.group(1)), match.group(2)
            layers.setdefault(index, set()).add(name)
            if name == 'down_proj.weight':
                bottlenecks[index] = value.shape[0]
    if not layers:
        return
    adapter = {}
    values = [bottlenecks[i] for i in sorted(bottlenecks)]
    adapter['bottleneck'] = values[0] if len(set(values)) == 1 else values
    names = set.union(*layers.values())
    if 'scale' in names:
        adapter['scale'] = 'learnable'
    if 'norm.weight' in names:
        adapter['norm'] = "'in' or 'out', as trained"
    cfg = ', '.join(f'{k}={v!r}' if k != 'norm' else f'{k}={v}'
                    for k, v in adapter.items())
    note = f'Adapters found: build AdaptFormer with adapter=dict({cfg})'
    if 'scale' not in names:
        note += (' and the scale used in training (not stored; the official '
                 'recipes use 0.1)')
    if sorted(layers) != list(range(num_blocks)):
        note += f', layers={sorted(layers)}'
    conv.notes.append(note + '.')


def convert_state_dict(state_dict: Dict[str, Tensor],
                       source_type: str = 'auto',
                       final_norm: Optional[str] = None,
                       img_size: Optional[int] = 224,
                       num_frames: Optional[int] = 16,
                       identity_bn: bool = True,
                       strict: bool = True) -> ConversionResult:
    """Convert an official state dict into this package's key layout.

    Args:
        state_dict (dict): The source state dict (see
            :func:`unwrap_checkpoint`).
        source_type (str): One of :data:`SOURCE_TYPES`, or ``'auto'`` to
            use :func:`detect_source_type`. Defaults to ``'auto'``.
        final_norm (str, optional): One of :data:`FINAL_NORM_MODES`, for a
            source final ``norm``. With ``'pooled'`` a pre-training
            checkpoint also gets the pooled-feature norm (mmaction2
            ``fc_norm``, mmpretrain ``ln2``) with identity parameters, as the
            official fine-tuning starts from a fresh one. Defaults to None:
            ``'pooled'`` for video types, ``'keep'`` for image types.
        img_size (int, optional): Input size of the video model, used to
            rebuild the fixed sine-cosine ``pos_embed`` that VideoMAE does
            not save but mmaction2 keeps as a buffer. None skips it.
            Defaults to 224 (mmaction2's default).
        num_frames (int, optional): Input frames of the video model, for the
            same purpose. Defaults to 16 (mmaction2's default).
        identity_bn (bool): If the source head is a plain Linear
            (``head.weight``), add BatchNorm statistics that make
            ``BNLinearHead``'s BatchNorm an identity. False writes the Linear
            only, for ``TimeSformerHead``/``LinearClsHead``. Defaults to True.
        strict (bool): Raise :class:`ConversionError` if a source key cannot
            be mapped. Defaults to True.

    Returns:
        ConversionResult: The converted state dict and a report.
    """
    state_dict = _strip_module_prefix(state_dict)
    if source_type == 'auto':
        source_type = detect_source_type(state_dict)
    if source_type not in SOURCE_TYPES:
        raise ConversionError(
            f"source_type must be 'auto' or one of {SOURCE_TYPES}, but got "
            f'{source_type!r}.')
    if final_norm is None:
        final_norm = _default_final_norm(source_type)
    if final_norm not in FINAL_NORM_MODES:
        raise ConversionError(
            f'final_norm must be one of {FINAL_NORM_MODES} or None, but got '
            f'{final_norm!r}.')
    target = _MMACTION if source_type in _VIDEO_TYPES else _MMPRETRAIN
    conv = _Converter(state_dict, source_type, target, final_norm)
    pretrain = source_type in _PRETRAIN_TYPES
    if pretrain:
        _split_pretrain(conv)

    conv.convert_stem()
    indices = conv.block_indices()
    for index in indices:
        conv.convert_block(index)
    conv.convert_final_norms()
    if not pretrain:
        conv.convert_head()

    embed = conv.out.get(_BACKBONE_PREFIX + 'patch_embed.projection.weight')
    pos_key = _BACKBONE_PREFIX + 'pos_embed'
    if target is _MMACTION and pos_key not in conv.out and embed is not None:
        _add_video_pos_embed(conv, embed, img_size, num_frames)
    pooled = f'{_BACKBONE_PREFIX}{target.pooled_norm}'
    if (pretrain and final_norm == 'pooled' and embed is not None
            and pooled + '.weight' not in conv.out):
        reason = ('pooled-feature norm, new in fine-tuning: identity '
                  'LayerNorm (weight 1, bias 0) as freshly initialised')
        dims, dtype = embed.shape[0], embed.dtype
        conv.add(pooled + '.weight', torch.ones(dims, dtype=dtype), reason)
        conv.add(pooled + '.bias', torch.zeros(dims, dtype=dtype), reason)
    fc_w = conv.out.get(f'{target.head_prefix}{target.head_fc}.weight')
    bn_mean = f'{target.head_prefix}bn.running_mean'
    if not pretrain:
        if fc_w is None:
            conv.notes.append(
                'The checkpoint has no classifier head; load it with '
                "prefix='backbone.' or strict=False.")
        elif bn_mean not in conv.out:
            if identity_bn:
                conv.add_identity_bn(fc_w.shape[1], fc_w.dtype)
            else:
                conv.notes.append(
                    'The head is a plain Linear: use TimeSformerHead '
                    '(mmaction2) or LinearClsHead (mmpretrain), not '
                    'BNLinearHead.')
        conv.check_head()
    _target_notes(conv, pretrain)
    _adapter_notes(conv, len(indices))

    result = ConversionResult(
        state_dict=conv.out,
        source_type=source_type,
        dropped=conv.dropped,
        added=conv.added,
        unmapped=list(conv.remaining),
        notes=conv.notes)
    print_log(
        f'Converted the {source_type} checkpoint: {len(conv.out)} keys '
        f'written ({len(conv.added)} added), {len(conv.dropped)} dropped, '
        f'{len(result.unmapped)} unmapped.',
        logger='current')
    if strict and result.unmapped:
        raise ConversionError(_unmapped_message(result))
    return result


def _add_video_pos_embed(conv: _Converter, embed: Tensor,
                         img_size: Optional[int],
                         num_frames: Optional[int]) -> None:
    """Rebuild VideoMAE's fixed position table, a buffer in mmaction2."""
    if img_size is None or num_frames is None:
        conv.notes.append(
            'No pos_embed in the checkpoint and no img_size/num_frames '
            'given: mmaction2 keeps the fixed sine-cosine table as a buffer, '
            'so load the result with strict=False.')
        return
    tubelet, patch = embed.shape[2], embed.shape[-1]
    if img_size % patch or num_frames % tubelet:
        raise ConversionError(
            f'img_size={img_size} and num_frames={num_frames} must be '
            f'multiples of the patch size {patch} and tubelet size {tubelet} '
            "read from 'patch_embed.proj.weight' "
            f'{_shape(embed)}.')
    num_patches = (img_size // patch)**2 * (num_frames // tubelet)
    conv.add(
        _BACKBONE_PREFIX + 'pos_embed',
        sinusoid_encoding(num_patches, embed.shape[0]).to(embed.dtype),
        f'fixed sine-cosine table, not saved by VideoMAE: {num_patches} '
        f'tokens for img_size={img_size}, num_frames={num_frames}, '
        f'patch {patch}, tubelet {tubelet}')
    conv.notes.append(
        f'pos_embed was rebuilt for img_size={img_size}, '
        f'num_frames={num_frames}: they must match the model config (the '
        'official main_video.py defaults to --num_frames 8).')


def _hint(key: str) -> str:
    for pattern, hint in _UNSUPPORTED_HINTS:
        if pattern.search(key):
            return f' ({hint})'
    return ''


def _unmapped_message(result: ConversionResult) -> str:
    keys = '\n'.join(f'  {k}{_hint(k)}' for k in result.unmapped)
    return (f'{len(result.unmapped)} key(s) of the {result.source_type} '
            f'checkpoint could not be mapped:\n{keys}\nIf the type was '
            f'detected wrongly, pass it explicitly (one of {SOURCE_TYPES}).')


def _compress(keys: List[str]) -> str:
    """List keys with block indices folded, e.g. ``blocks.*.norm1.weight
    (x12)``, so that every key is covered and the list stays short."""
    counts: Dict[str, int] = OrderedDict()
    for key in keys:
        pattern = re.sub(r'(?<=\.)\d+(?=\.)', '*', key)
        counts[pattern] = counts.get(pattern, 0) + 1
    return ', '.join(p if n == 1 else f'{p} (x{n})' for p, n in counts.items())


def format_report(result: ConversionResult) -> str:
    """A short human-readable report of a conversion.

    Args:
        result (ConversionResult): What :func:`convert_state_dict` returned.

    Returns:
        str: Several lines: counts, dropped, added and unmapped keys, notes.
    """
    lines = [
        f'Source type: {result.source_type}',
        f'Converted keys: {len(result.state_dict)}',
    ]
    if result.dropped:
        lines.append(f'Dropped {len(result.dropped)} key(s):')
        by_reason: Dict[str, List[str]] = OrderedDict()
        for key, reason in result.dropped.items():
            by_reason.setdefault(reason, []).append(key)
        for reason, keys in by_reason.items():
            lines.append(f'  - {_compress(keys)}: {reason}')
    if result.added:
        lines.append(f'Added {len(result.added)} key(s):')
        for key, reason in result.added.items():
            lines.append(f'  + {key}: {reason}')
    if result.unmapped:
        lines.append(f'Unmapped {len(result.unmapped)} key(s):')
        lines.extend(f'  ! {k}{_hint(k)}' for k in result.unmapped)
    lines.extend(f'Note: {note}' for note in result.notes)
    return '\n'.join(lines)


def save_converted_checkpoint(result: ConversionResult, filename: str,
                              converted_from: str) -> None:
    """Save a conversion as ``{'state_dict': ..., 'meta': ...}``.

    Args:
        result (ConversionResult): What :func:`convert_state_dict` returned.
        filename (str): Output path; its folder is created if needed.
        converted_from (str): The source file; its base name goes to
            ``meta['converted_from']``.
    """
    os.makedirs(osp.dirname(osp.abspath(filename)), exist_ok=True)
    torch.save(
        dict(
            state_dict=result.state_dict,
            meta=dict(
                converted_from=osp.basename(converted_from),
                source_type=result.source_type)), filename)
