# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A plain-PyTorch reproduction of the official AdaptFormer video ViT
(``models/vit_video.py`` of https://github.com/ShoufaChen/AdaptFormer with
``ffn_adapt=True``, ``ffn_option='parallel'``, no adapter LayerNorm, scale
0.1, and the BatchNorm + Linear head of ``main_video.py``), the baseline
row of the GPU check's speed comparison.

Its state-dict keys are the official ones, so
``mmadaptformer.models.converters`` converts its checkpoints, and the
converter tests check its forward against theirs.
"""
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def official_sinusoid_table(num_tokens: int, dims: int) -> Tensor:
    """VideoMAE's ``get_sinusoid_encoding_table``: (1, tokens, dims)."""
    position = torch.arange(num_tokens, dtype=torch.float64)[:, None]
    exponent = 2 * (torch.arange(dims) // 2) / dims
    angles = position / torch.pow(10000, exponent.double())[None]
    angles[:, 0::2] = torch.sin(angles[:, 0::2])
    angles[:, 1::2] = torch.cos(angles[:, 1::2])
    return angles.float()[None]


class OfficialAttention(nn.Module):
    """Fused qkv without bias, learned q and v biases, eager softmax."""

    def __init__(self, dims: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dims // num_heads)**-0.5
        self.qkv = nn.Linear(dims, dims * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dims))
        self.v_bias = nn.Parameter(torch.zeros(dims))
        self.proj = nn.Linear(dims, dims)

    def forward(self, x: Tensor) -> Tensor:
        B, N, C = x.shape
        bias = torch.cat(
            (self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias)
        qkv = qkv.reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class OfficialAdapter(nn.Module):
    """``down_proj`` -> ReLU -> ``up_proj``, times a fixed scale."""

    def __init__(self, dims: int, bottleneck: int, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.down_proj = nn.Linear(dims, bottleneck)
        self.up_proj = nn.Linear(bottleneck, dims)

    def forward(self, x: Tensor) -> Tensor:
        return self.up_proj(F.relu(self.down_proj(x))) * self.scale


class OfficialBlock(nn.Module):
    """``x + attn(norm1(x))``, then ``x + mlp(norm2(x)) + adaptmlp(x)``."""

    def __init__(self, dims: int, num_heads: int, hidden: int, bottleneck: int,
                 scale: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims, eps=1e-6)
        self.attn = OfficialAttention(dims, num_heads)
        self.norm2 = nn.LayerNorm(dims, eps=1e-6)
        self.fc1 = nn.Linear(dims, hidden)
        self.fc2 = nn.Linear(hidden, dims)
        self.adaptmlp = OfficialAdapter(dims, bottleneck, scale)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        adapted = self.adaptmlp(x)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)))) + adapted


class OfficialVideoViT(nn.Module):
    """The official AdaptFormer video ViT, in plain PyTorch.

    Args:
        num_classes (int): Classes of the head.
        img_size (int): Input height and width. Defaults to 224.
        patch_size (int): Defaults to 16.
        num_frames (int): Defaults to 16.
        tubelet_size (int): Defaults to 2.
        embed_dims (int): Defaults to 768 (ViT-B).
        depth (int): Defaults to 12.
        num_heads (int): Defaults to 12.
        mlp_ratio (float): Defaults to 4.
        bottleneck (int): Adapter width. Defaults to 64.
        scale (float): Adapter scale. Defaults to 0.1.

    Examples:
        >>> model = OfficialVideoViT(174, img_size=32, num_frames=4)
        >>> model(torch.rand(2, 3, 4, 32, 32)).shape
        torch.Size([2, 174])
    """

    def __init__(self,
                 num_classes: int,
                 img_size: int = 224,
                 patch_size: int = 16,
                 num_frames: int = 16,
                 tubelet_size: int = 2,
                 embed_dims: int = 768,
                 depth: int = 12,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 bottleneck: int = 64,
                 scale: float = 0.1) -> None:
        super().__init__()
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv3d(
            3,
            embed_dims,
            kernel_size=(tubelet_size, patch_size, patch_size),
            stride=(tubelet_size, patch_size, patch_size))
        tokens = (img_size // patch_size)**2 * (num_frames // tubelet_size)
        self.register_buffer(
            'pos_embed',
            official_sinusoid_table(tokens, embed_dims),
            persistent=False)
        self.blocks = nn.ModuleList(
            OfficialBlock(embed_dims, num_heads, int(embed_dims * mlp_ratio),
                          bottleneck, scale) for _ in range(depth))
        self.fc_norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.head = nn.Sequential(
            nn.BatchNorm1d(embed_dims, affine=False, eps=1e-6),
            nn.Linear(embed_dims, num_classes))
        # As the official ``_init_weights``, applied after the blocks are
        # built: it overwrites the adapters' 'lora' init too.
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Logits of clips ``(B, 3, T, H, W)``."""
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = x + self.pos_embed.to(x.dtype)
        for block in self.blocks:
            x = block(x)
        return self.head(self.fc_norm(x.mean(1)))

    def trainable_names(self) -> List[str]:
        """What ``main_video.py`` trains: the adapters, ``fc_norm`` and the
        head (the keys missing from the VideoMAE checkpoint)."""
        return [
            name for name, _ in self.named_parameters()
            if '.adaptmlp.' in name or name.startswith(('fc_norm.', 'head.'))
        ]
