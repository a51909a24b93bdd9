# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Shared fixtures: tiny real datasets, good and broken video files, logger
clean-up; the order and threads of a parallel run."""
import logging
import os
import subprocess
import sys
from collections import OrderedDict
from typing import Dict, List

import pytest
from adapter_tasks import video_tasks  # noqa: F401  (a shared fixture)
from broken_videos import BROKEN
from mmengine.registry import DefaultScope


@pytest.fixture(scope='session')
def tiny_video_data(tmp_path_factory) -> Dict[str, str]:
    """Real mp4 files (two motion classes) with mmaction2 annotation lists."""
    from mmadaptformer.testing import make_moving_square_dataset
    root = str(tmp_path_factory.mktemp('tiny_video'))
    return make_moving_square_dataset(root, num_per_class=4)


@pytest.fixture(scope='session')
def stock_video_backbone(tmp_path_factory) -> str:
    """A full checkpoint of the stock tiny video model (random weights,
    seed 0): the frozen backbone the tiny AdaptFormer video config loads
    with ``pretrained_cfg``."""
    from checkpoint_makers import save_stock_video_checkpoint
    path = str(tmp_path_factory.mktemp('stock_video') / 'stock.pth')
    save_stock_video_checkpoint(path)
    return path


@pytest.fixture(scope='session')
def tiny_image_data(tmp_path_factory) -> str:
    """Real PNG files (two stripe classes) in mmpretrain folder layout."""
    from mmadaptformer.testing import make_stripes_dataset
    root = str(tmp_path_factory.mktemp('tiny_image'))
    make_stripes_dataset(root, num_per_class=4)
    return root


@pytest.fixture(scope='session')
def last_checkpoint_run(tmp_path_factory, tiny_image_data) -> Dict[str, str]:
    """A real tiny image training run's work dir: MMEngine wrote its
    ``last_checkpoint`` record (``record``) beside ``epoch_1.pth`` and
    ``epoch_2.pth`` (``named``, the file the record names); ``image`` is
    one of the data's images."""
    from config_writers import image_data_cfg, write_config
    from repo_paths import TINY_IMAGE_CONFIG
    from tool_runners import run_tool
    root = tmp_path_factory.mktemp('last_checkpoint')
    config = write_config(root / 'tiny.py', TINY_IMAGE_CONFIG,
                          image_data_cfg(tiny_image_data))
    work_dir = root / 'work'
    run_tool(['train.py', config, '--work-dir', work_dir], cwd=root)
    record = str(work_dir / 'last_checkpoint')
    with open(record) as f:
        named = f.read()
    assert named == str(work_dir / 'epoch_2.pth')
    image = os.path.join(tiny_image_data, 'val', 'horizontal', '0.png')
    return dict(
        root=str(root), config=config, record=record, named=named, image=image)


@pytest.fixture
def clean_loggers():
    """Drop MMEngine's global logger, message hub and visualizer instances
    after a test.

    A Runner names its visualizer after the config file and the second it
    started: two runs of ``cfg.py`` in one second got the first one's, and
    the second run's ``scalars.json`` went to the first run's work dir.
    """
    yield
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.visualization import Visualizer
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    classes = [Visualizer]
    while classes:  # ManagerMixin keeps instances per class
        cls = classes.pop()
        cls._instance_dict.clear()
        classes += cls.__subclasses__()


@pytest.fixture(autouse=True)
def no_default_scope(monkeypatch):
    """Start every test without a default scope and drop the ones it
    creates, so tests do not depend on their order."""
    monkeypatch.setattr(DefaultScope, '_instance_dict', OrderedDict())


@pytest.fixture(autouse=True)
def local_rank_kept():
    """Give ``LOCAL_RANK`` back as it was after every test: a tool's
    ``parse_args`` called in-process sets it, as mmaction2's does, and it
    then stayed in this worker's environment for every later test's
    processes (a fake srun's tasks all read the inherited 0)."""
    before = os.environ.get('LOCAL_RANK')
    yield
    if before is None:
        os.environ.pop('LOCAL_RANK', None)
    else:
        os.environ['LOCAL_RANK'] = before


@pytest.fixture(scope='session')
def video_files(tmp_path_factory) -> Dict[str, str]:
    """A folder of real videos: four good mp4 files, the broken kinds of
    ``BROKEN``, ``short.mp4`` (one frame, fewer than a clip spans, but
    sound) and ``damaged.mp4`` (16 frames in its header; the middle third
    of its bytes overwritten, so some frames do not decode).

    Returns:
        dict: ``'videos'``: the folder; ``'good'``: the good names;
        each kind of ``BROKEN``, ``'short'`` and ``'damaged'``: its name.
    """
    root = tmp_path_factory.mktemp('checked_videos')
    # In a process of its own: see tests/video_files_writer.py.
    writer = os.path.join(os.path.dirname(__file__), 'video_files_writer.py')
    subprocess.run([sys.executable, writer, str(root)], check=True)
    out = {
        'videos': str(root / 'videos'),
        'good': [f'good_{i}.mp4' for i in range(4)]
    }
    out.update(BROKEN, short='short.mp4', damaged='damaged.mp4')
    return out


@pytest.fixture
def served_torchrun_workers(monkeypatch) -> None:
    """torchrun (``dist_train.sh``, ``dist_test.sh``) started in this test
    forks its workers from the tool server instead of starting a new
    interpreter for each (``PYTHON_EXEC``, see ``tests/tool_server.py``):
    the workers are still real processes, with torchrun's environment,
    signals and exit codes, but skip the imports' seconds."""
    from helpers import torchrun_worker_env
    for name, value in torchrun_worker_env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def served_torchrun(monkeypatch, served_torchrun_workers) -> None:
    """As ``served_torchrun_workers``, and torchrun itself is forked from
    the tool server as well: ``dist_train.sh`` and ``dist_test.sh`` start it
    as ``$PYTHON tools/misc/dist_run.py``. Not for a test that kills a job
    by its process tree: the workers' stand-ins are then the children of a
    served torchrun, outside the tree of the shell script."""
    monkeypatch.setenv('PYTHON', os.environ['PYTHON_EXEC'])


@pytest.fixture
def log_records(clean_loggers) -> List[logging.LogRecord]:
    """Records logged through ``print_log(logger='current')``."""
    from mmengine.logging import MMLogger
    records: List[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    MMLogger.get_instance('log_records').addHandler(handler)
    return records


def pytest_configure(config):
    """Under pytest-xdist, share the cores between the workers: each
    worker's torch gets its part instead of all of them (tools that tests
    run get ``OMP_NUM_THREADS=1``, see ``helpers.run_tool``)."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    if workers > 1:
        import torch
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


# Fixtures that take seconds to build and serve several tests (a module's
# own fixture as ``FILE::NAME``): under ``--dist loadgroup`` the tests that
# use one run on one worker, which builds it once.
EXPENSIVE_FIXTURES = (
    'video_tasks',
    'last_checkpoint_run',
    'test_base_wrapper.py::video',
    'test_base_wrapper.py::image',
    'test_resume.py::trained',
    'test_resume_refusals.py::runs',
    'test_sync_norm_stats_iters.py::iter_run',
    'test_work_dir_lock_runs.py::live',
)


def _expensive_fixtures(item):
    for entry in EXPENSIVE_FIXTURES:
        path, _, name = entry.rpartition('::')
        if name in getattr(item, 'fixturenames', ()) and \
                item.nodeid.split('::')[0].endswith(path):
            yield entry


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Tests marked ``long(SECONDS)`` (SECONDS as measured alone on the
    2-core CI machine) run first, the longest first: a parallel run then
    does not end waiting for one of them. Only the quick transfer study is
    marked; marking 8 more slow tests did not make a fresh-clone run
    faster. The tests of each of :data:`EXPENSIVE_FIXTURES` form an xdist
    group."""

    def seconds(item):
        marker = item.get_closest_marker('long')
        return marker.args[0] if marker is not None else 0

    items.sort(key=seconds, reverse=True)
    for item in items:
        for entry in _expensive_fixtures(item):
            item.add_marker(pytest.mark.xdist_group(entry))
