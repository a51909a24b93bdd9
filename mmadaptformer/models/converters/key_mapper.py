# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The key-mapping machinery shared by every source format: a
:class:`KeyMapper` pops source keys and writes target keys, block by
block, and records what it dropped and added."""
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

from mmadaptformer.utils.official_vit_keys import BLOCK_KEY
from .common import (BACKBONE_PREFIX, HEAD_BN_EPS, MMACTION_TARGET,
                     MMPRETRAIN_TARGET, ConversionError, ConversionTarget,
                     shape_of)


class KeyMapper:
    """One conversion: pops source keys and writes target keys.

    Args:
        state_dict (dict): The source state dict (not changed).
        source_type (str): One of :data:`SOURCE_TYPES`.
        target (ConversionTarget): The target toolbox's names.
        final_norm (str): One of :data:`FINAL_NORM_MODES`.
    """

    def __init__(self, state_dict: Dict[str, Tensor], source_type: str,
                 target: ConversionTarget, final_norm: str) -> None:
        self.remaining: Dict[str, Tensor] = OrderedDict(state_dict)
        #: What :meth:`strip_source_prefix` removed from the remaining keys;
        #: reports name the source keys with it.
        self.source_prefix = ''
        self.source_type = source_type
        self.target = target
        self.final_norm = final_norm
        self.out: 'OrderedDict[str, Tensor]' = OrderedDict()
        self.sources: Dict[str, str] = {}
        self.dropped: Dict[str, str] = OrderedDict()
        self.added: Dict[str, str] = OrderedDict()
        self.notes: List[str] = []

    # -- primitives -------------------------------------------------------
    def source_key(self, key: str) -> str:
        """The name a remaining key has in the source checkpoint."""
        return self.source_prefix + key

    def strip_source_prefix(self, prefix: str) -> None:
        """Drop ``prefix`` from every remaining key (all have it), so the
        layouts' key names apply; reports still name the source keys."""
        self.remaining = OrderedDict(
            (k[len(prefix):], v) for k, v in self.remaining.items())
        self.source_prefix += prefix

    def unmapped(self) -> List[str]:
        """The source keys that are neither mapped nor dropped."""
        return [self.source_key(k) for k in self.remaining]

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
        self.put(dst, self.remaining.pop(src), self.source_key(src))
        return True

    def move_module(self, src: str, dst: str) -> None:
        """Move ``src.weight``/``src.bias`` (whichever exist) to ``dst``."""
        for suffix in ('weight', 'bias'):
            self.move(f'{src}.{suffix}', f'{dst}.{suffix}')

    def drop(self, key: str, reason: str) -> None:
        self.remaining.pop(key)
        self.dropped[self.source_key(key)] = reason

    def add(self, key: str, value: Tensor, reason: str) -> None:
        self.put(key, value, '<added>')
        self.added[key] = reason

    # -- pieces -----------------------------------------------------------
    def block_indices(self) -> List[int]:
        indices = set()
        for key in self.remaining:
            match = BLOCK_KEY.match(key)
            if match:
                indices.add(int(match.group(1)))
        return sorted(indices)

    def block_gaps(self, indices: List[int]) -> List[str]:
        """Source keys that a block lacks although another block holds
        them, e.g. ``blocks.0.norm2.weight`` deleted from a checkpoint.

        Every block of these ViTs has the same tensors, so such a key is a
        hole in the checkpoint, not a layout. The adapters are left out:
        ``layers`` may give only some blocks one. Call it before the blocks
        are converted.

        Args:
            indices (list[int]): The block indices
                (:meth:`block_indices`).

        Returns:
            list[str]: The source keys, block by block.
        """
        names: Dict[int, Dict[str, None]] = {i: OrderedDict() for i in indices}
        every: Dict[str, None] = OrderedDict()
        for key in self.remaining:
            match = BLOCK_KEY.match(key)
            if match and not match.group(2).startswith('adaptmlp.'):
                names[int(match.group(1))][match.group(2)] = None
                every[match.group(2)] = None
        return [
            self.source_key(f'blocks.{index}.{name}') for index in indices
            for name in every if name not in names[index]
        ]

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
                    f'{fused_w!r} has shape {shape_of(weight)}; expected '
                    '(3 * dims, in_dims).')
            source = self.source_key(fused_w)
        elif present:
            if len(present) != 3:
                missing = sorted(set(split_w) - set(present))
                raise ConversionError(
                    f'Block attention {src!r} has {present} but not '
                    f'{missing}; expected all of q_proj, k_proj, v_proj.')
            parts = [self.remaining.pop(k) for k in split_w]
            shapes = [shape_of(p) for p in parts]
            if len(set(shapes)) != 1 or len(shapes[0]) != 2:
                raise ConversionError(
                    f'q/k/v projections of {src!r} must be 2-D and share one '
                    f'shape, but got {dict(zip(split_w, shapes))}.')
            weight = torch.cat(parts, dim=0)
            source = ', '.join(self.source_key(k) for k in split_w)
        else:
            return
        self.put(f'{dst}.qkv.weight', weight, source)
        dims = weight.shape[0] // 3
        biases = self._attention_biases(src, dims)
        if self.target is MMACTION_TARGET:
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
            if shape_of(bias) != (3 * dims, ):
                raise ConversionError(
                    f'{fused_b!r} has shape {shape_of(bias)}; expected '
                    f'({3 * dims},) to match {src}.qkv.weight.')
            biases = [(b, self.source_key(fused_b)) for b in bias.split(dims)]
        for i, name in enumerate('qkv'):
            for key in (f'{src}.{name}_bias', f'{src}.{name}_proj.bias'):
                if key not in self.remaining:
                    continue
                if biases[i][0] is not None:
                    raise ConversionError(
                        f'{key!r} and {biases[i][1]!r} are both a {name} bias '
                        f'of {src!r}.')
                bias = self.remaining.pop(key)
                if shape_of(bias) != (dims, ):
                    raise ConversionError(
                        f'{key!r} has shape {shape_of(bias)}; expected '
                        f'({dims},) to match the {name} projection.')
                biases[i] = (bias, self.source_key(key))
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
                                 or shape_of(up) != shape_of(down)[::-1]):
            raise ConversionError(
                f'{src}.down_proj.weight {shape_of(down)} and '
                f'{src}.up_proj.weight {shape_of(up)} do not form a '
                'bottleneck (expected (b, d) and (d, b)).')

    def convert_block(self, index: int) -> None:
        t = self.target
        src = f'blocks.{index}'
        dst = f'{BACKBONE_PREFIX}{t.block}.{index}'
        self.move_module(f'{src}.norm1', f'{dst}.{t.norm1}')
        self.convert_attention(f'{src}.attn', f'{dst}.attn')
        self.move_module(f'{src}.attn.proj', f'{dst}.attn.proj')
        self.move_module(f'{src}.norm2', f'{dst}.{t.norm2}')
        # The official blocks hold fc1/fc2 directly; VideoMAE and timm keep
        # them in ``mlp``.
        for mlp in ('', 'mlp.'):
            self.move_module(f'{src}.{mlp}fc1', f'{dst}.{t.fc1}')
            self.move_module(f'{src}.{mlp}fc2', f'{dst}.{t.fc2}')
        if t is MMACTION_TARGET:
            self.move(f'{src}.gamma_1', f'{dst}.gamma_1')
            self.move(f'{src}.gamma_2', f'{dst}.gamma_2')
        self.convert_adapter(f'{src}.adaptmlp', f'{dst}.adaptmlp')

    def convert_stem(self) -> None:
        t = self.target
        patch = self.remaining.get('patch_embed.proj.weight')
        if patch is not None and patch.dim() != t.patch_dims:
            kind = {5: 'Conv3d (video)', 4: 'Conv2d (image)'}
            raise ConversionError(
                f"'patch_embed.proj.weight' has shape {shape_of(patch)}, a "
                f'{kind.get(patch.dim(), "unknown")} patch embedding, but '
                f'source type {self.source_type!r} converts to {t.name}, '
                f'which needs a {kind[t.patch_dims]} one. Pick the other '
                'type.')
        if t is MMPRETRAIN_TARGET:
            # mmaction2's table depends on the input; the video formats'
            # saved one is checked against it (mmaction_zoo.convert_pos_embed).
            self.move('cls_token', BACKBONE_PREFIX + 'cls_token')
            self.move('pos_embed', BACKBONE_PREFIX + 'pos_embed')
        self.move_module('patch_embed.proj',
                         BACKBONE_PREFIX + 'patch_embed.projection')

    def convert_final_norms(self) -> None:
        t = self.target
        has_pooled = 'fc_norm.weight' in self.remaining
        self.move_module('fc_norm', BACKBONE_PREFIX + t.pooled_norm)
        if self.final_norm == 'keep':
            self.move_module('norm', BACKBONE_PREFIX + t.final_norm)
            return
        if has_pooled:
            reason = ('final per-token norm; mean pooling uses the '
                      f'checkpoint\'s fc_norm ({t.pooled_norm}) instead '
                      "(final_norm='pooled')")
        else:
            # A pre-training file gets a fresh pooled norm (add_pooled_norm);
            # a fine-tuned one without fc_norm was trained without pooling,
            # which report.target_notes explains.
            reason = ("final per-token norm, dropped by final_norm='pooled' "
                      'for mean pooling; the checkpoint has no fc_norm')
        for key in ('norm.weight', 'norm.bias'):
            if key in self.remaining:
                self.drop(key, reason)

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
                 torch.full((in_channels, ), 1 - HEAD_BN_EPS, dtype=dtype),
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
            if stat is not None and shape_of(stat) != (fc_w.shape[1], ):
                raise ConversionError(
                    'The head BatchNorm statistics have shape '
                    f'{shape_of(stat)} but the head Linear has shape '
                    f'{shape_of(fc_w)}; expected ({fc_w.shape[1]},).')
