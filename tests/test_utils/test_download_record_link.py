# Copyright (c) mmadaptformer contributors. All rights reserved.
"""A download's ``NAME.url`` record that is a link to nothing is a broken
record, not a missing one: every load of its address refuses it by name
(the record and where it points), and nothing is deleted.

Before, it counted as no record: the cached file was handed out with the
"found without a record" warning, although a record said which address it
was (and the link may only be waiting for its disk to be mounted). The
checkpoint is served by a real HTTP server on 127.0.0.1 into a fresh
``TORCH_HOME``.
"""
import os

import pytest
import torch
from file_server import serving
from mmengine.runner import CheckpointLoader, load_checkpoint

from mmadaptformer.utils import CheckpointLoadError
from mmadaptformer.utils.download_cache import URL_SUFFIX, cache_path
from mmadaptformer.utils.output_file import output_file_problem


def _refusal(record, cached, url, target):
    return (f"{record}, the download cache's record of the address {cached} "
            f'was downloaded from, is a link to {target}, where there is no '
            'file: restore what it points to if it is a good record, else it '
            f'is damaged, so the cache cannot tell whether {cached} is the '
            f'file {url} names. Nothing was deleted; move {record} and '
            f'{cached} away to download {url} again.')


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    root = tmp_path / 'served'
    root.mkdir()
    torch.save({'step': 1}, root / 'best.pth')
    with serving(root) as httpd:
        yield root, httpd.url


@pytest.mark.parametrize('link', ['relative', 'absolute'])
def test_a_record_that_links_to_nothing_is_refused_by_name(
        link, served, tmp_path, log_records):
    root, base = served
    url = f'{base}/best.pth'
    assert CheckpointLoader.load_checkpoint(url) == {'step': 1}
    hub = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
    # The record moved to a disk that is not mounted now.
    gone = tmp_path / 'unmounted' / record.name
    kept = record.read_text()
    record.unlink()
    if link == 'relative':
        relative = os.path.relpath(gone, hub)
        record.symlink_to(relative)
        target = f"'{relative}' ({gone})"
    else:
        record.symlink_to(gone)
        target = f"'{gone}'"
    before = sorted(p.name for p in hub.iterdir())
    # The file served at the address changes: a cached copy taken without
    # its record would hide that.
    torch.save({'step': 2, 'pad': torch.zeros(4)}, root / 'best.pth')
    loads = (lambda: CheckpointLoader.load_checkpoint(url),
             lambda: load_checkpoint(torch.nn.Linear(2, 2), url),
             lambda: cache_path(url), lambda: cache_path(url, str(hub)))
    for load in loads:
        with pytest.raises(CheckpointLoadError) as error:
            load()
        assert str(error.value) == _refusal(record, cached, url, target)
    assert not [r for r in log_records if 'without a record' in r.getMessage()]
    # Nothing deleted, nothing downloaded beside it.
    assert sorted(p.name for p in hub.iterdir()) == before
    assert os.readlink(record) and cached.is_file()
    # The output check finds no address in it, and does not crash.
    assert output_file_problem(str(cached), 'out', []) is None

    # Where the record comes back, the address loads again (and the
    # change on the server is seen).
    gone.parent.mkdir()
    gone.write_text(kept)
    assert CheckpointLoader.load_checkpoint(url)['step'] == 2


def test_a_link_to_nothing_as_the_record_of_a_missing_file_is_refused(
        served, tmp_path):
    """With the file missing too, the address was downloaded and the link
    replaced; it is refused before downloading, as a record that is a
    folder is."""
    _, base = served
    url = f'{base}/best.pth'
    hub = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    hub.mkdir(parents=True)
    cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
    gone = tmp_path / 'unmounted.url'
    record.symlink_to(gone)
    with pytest.raises(CheckpointLoadError) as error:
        CheckpointLoader.load_checkpoint(url)
    assert str(error.value) == _refusal(record, cached, url, f"'{gone}'")
    assert [p.name for p in hub.iterdir()] == [record.name]
    assert os.readlink(record) == str(gone)
