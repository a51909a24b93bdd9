# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A transformer backbone no host declaration covers (mmpretrain's
EfficientFormer), wrapped as the README's diff wraps a stock one: the
refusal named the block-like modules and pointed at the README; now it also
names the supported backbones, from the host declarations, so that the
user sees what works without leaving the terminal."""
import os.path as osp
import re

import pytest
from helpers import REPO_ROOT

from mmadaptformer.models import AdaptFormer
from mmadaptformer.models.hosts import HOSTS
from mmadaptformer.utils import ConfigError


def _class_names():
    return {spec.backbone.rsplit('.', 1)[1] for spec in HOSTS}


def test_unsupported_transformer_is_refused_with_the_supported_list():
    with pytest.raises(ConfigError) as info:
        AdaptFormer(
            backbone=dict(type='mmpretrain.EfficientFormer', arch='l1'))
    message = str(info.value)
    assert 'No transformer block of a known type was found in ' \
        'EfficientFormer' in message, message
    assert 'Supported as they are: mmaction2 VisionTransformer (VideoMAE), ' \
        in message, message
    supported = message.split('Supported as they are: ', 1)[1]
    mmaction, mmpretrain = supported.split('; mmpretrain ')
    for spec in HOSTS:
        name = spec.backbone.rsplit('.', 1)[1]
        side = mmaction if spec.backbone.startswith('mmaction.') \
            else mmpretrain
        assert re.search(rf'\b{name}\b', side), (name, supported)
    assert '\n' not in message


def test_readme_names_every_supported_backbone():
    """The README's list of supported hosts and the declarations agree
    (the refusal above sends users to both)."""
    with open(osp.join(REPO_ROOT, 'README.md')) as f:
        readme = f.read()
    section = readme.split('## Writing your own config',
                           1)[1].split('\n## ', 1)[0]
    missing = [n for n in sorted(_class_names()) if f'`{n}`' not in section]
    assert not missing, missing
    from mmadaptformer.models.hosts import supported_backbones
    assert supported_backbones().count('; ') == 1
