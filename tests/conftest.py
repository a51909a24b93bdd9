# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Shared fixtures: tiny real datasets and logger clean-up."""
from collections import OrderedDict
from typing import Dict

import pytest
from adapter_tasks import video_tasks  # noqa: F401  (a shared fixture)
from mmengine.registry import DefaultScope


@pytest.fixture(scope='session')
def tiny_video_data(tmp_path_factory) -> Dict[str, str]:
    """Real mp4 files (two motion classes) with mmaction2 annotation lists."""
    from mmadaptformer.testing import make_moving_square_dataset
    root = str(tmp_path_factory.mktemp('tiny_video'))
    return make_moving_square_dataset(root, num_per_class=4)


@pytest.fixture(scope='session')
def tiny_image_data(tmp_path_factory) -> str:
    """Real PNG files (two stripe classes) in mmpretrain folder layout."""
    from mmadaptformer.testing import make_stripes_dataset
    root = str(tmp_path_factory.mktemp('tiny_image'))
    make_stripes_dataset(root, num_per_class=4)
    return root


@pytest.fixture
def clean_loggers():
    """Drop MMEngine's global logger/message hub instances after a test."""
    yield
    from mmengine.logging import MessageHub, MMLogger
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()


@pytest.fixture(autouse=True)
def no_default_scope(monkeypatch):
    """Start every test without a default scope and drop the ones it
    creates, so tests do not depend on their order."""
    monkeypatch.setattr(DefaultScope, '_instance_dict', OrderedDict())
