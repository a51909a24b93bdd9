# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``convert_official.py`` given a checkpoint it cannot convert all of.

An official Swin Transformer checkpoint (``layers.N.blocks.M.*``, which
has ViT's ``patch_embed.proj`` and ``head``) was detected as a fine-tuned
image ViT and refused for its unmapped keys, but the report first told the
user how to use the result ("Give the result as the checkpoint of a config
without the AdaptFormer wrapper ..."), and nothing said what the keys
were. The report now leaves those notes out when it writes nothing, and
names Swin's stages."""
import torch
from tool_runners import run_tool

SWIN = ("(a Swin Transformer's stages (layers.N.blocks.M), not a plain ViT: "
        "start from mmpretrain's model-zoo Swin weights)")


def _official_swin(path):
    """A tiny state dict in the official Swin layout (microsoft/Swin-
    Transformer ``models/swin_transformer.py``), saved under ``'model'``
    as its training script does."""
    dims, window = 8, 7
    sd = {
        'patch_embed.proj.weight':
        torch.randn(dims, 3, 4, 4),
        'patch_embed.proj.bias':
        torch.randn(dims),
        'patch_embed.norm.weight':
        torch.ones(dims),
        'patch_embed.norm.bias':
        torch.zeros(dims),
        'layers.0.blocks.0.norm1.weight':
        torch.ones(dims),
        'layers.0.blocks.0.attn.relative_position_bias_table':
        torch.randn((2 * window - 1)**2, 2),
        'layers.0.blocks.0.attn.qkv.weight':
        torch.randn(3 * dims, dims),
        'layers.0.blocks.0.mlp.fc1.weight':
        torch.randn(4 * dims, dims),
        'layers.0.downsample.reduction.weight':
        torch.randn(2 * dims, 4 * dims),
        'norm.weight':
        torch.ones(2 * dims),
        'norm.bias':
        torch.zeros(2 * dims),
        'head.weight':
        torch.randn(10, 2 * dims),
        'head.bias':
        torch.zeros(10),
    }
    torch.save({'model': sd, 'epoch': 300}, path)


def test_a_swin_checkpoint_is_named_and_gets_no_advice_on_a_result(tmp_path):
    src, dst = tmp_path / 'swin_tiny.pth', tmp_path / 'converted.pth'
    _official_swin(src)
    proc = run_tool(['model_converters/convert_official.py', src, dst],
                    tmp_path,
                    check=False)
    assert proc.returncode == 1, proc.stdout
    assert 'Traceback' not in proc.stdout, proc.stdout
    assert f'Error: {src} was not converted; 7 key(s) could not be ' \
        'mapped' in proc.stdout, proc.stdout
    assert 'Note:' not in proc.stdout, proc.stdout
    assert 'Give the result' not in proc.stdout, proc.stdout
    unmapped = [
        row for row in proc.stdout.splitlines() if row.startswith('  ! ')
    ]
    assert len(unmapped) == 7, unmapped  # with Swin's patch_embed.norm
    stages = [row for row in unmapped if row.startswith('  ! layers.')]
    assert len(stages) == 5, unmapped
    assert all(row.endswith(SWIN) for row in stages), unmapped
    assert not dst.exists()
