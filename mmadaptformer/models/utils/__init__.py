# Copyright (c) mmadaptformer contributors. All rights reserved.
from .activation_checkpointing import checkpoint_blocks
from .contiguous_tokens import CONTIGUOUS_TOKEN_HOSTS, make_tokens_contiguous
from .fused_attention import FUSED_ATTENTION_FORWARDS, fuse_attention

__all__ = [
    'CONTIGUOUS_TOKEN_HOSTS', 'FUSED_ATTENTION_FORWARDS', 'checkpoint_blocks',
    'fuse_attention', 'make_tokens_contiguous'
]
