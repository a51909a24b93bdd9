# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Paths of the repository, its tools and the tiny configs."""
import os.path as osp

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO_ROOT, 'configs')
TOOLS = osp.join(REPO_ROOT, 'tools')
TINY_VIDEO_CONFIG = osp.join(CONFIGS, 'tiny', 'tiny_vit_video.py')
TINY_IMAGE_CONFIG = osp.join(CONFIGS, 'tiny', 'tiny_vit_image.py')
TINY_ADAPTFORMER_VIDEO_CONFIG = osp.join(CONFIGS, 'tiny',
                                         'tiny_adaptformer_video.py')
TINY_ADAPTFORMER_RAWFRAMES_CONFIG = osp.join(CONFIGS, 'tiny',
                                             'tiny_adaptformer_rawframes.py')
TINY_ADAPTFORMER_IMAGE_CONFIG = osp.join(CONFIGS, 'tiny',
                                         'tiny_adaptformer_image.py')
#: A two-block mmaction2 VideoMAE ViT on 4x32x32 clips, as a backbone
#: config (copy it with ``dict(VIDEO_HOST)`` before building).
VIDEO_HOST = dict(
    type='mmaction.VisionTransformer',
    img_size=32,
    patch_size=16,
    embed_dims=64,
    depth=2,
    num_heads=2,
    num_frames=4)
