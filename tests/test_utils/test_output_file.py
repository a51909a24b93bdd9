# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Every tool's output check refuses a file of the checkpoint download
cache: a download (its ``.url`` record next to it) and the record itself,
there already or about to be written by an input given as an address.

Only the converters refused a download; ``tools/infer.py --out``,
``tools/test.py --out``/``--dump`` and the benchmark tools wrote over it,
and no tool refused a record. The cache here is laid out as
:mod:`mmadaptformer.utils.download_cache` writes it, in a fresh
``TORCH_HOME``.
"""
import pytest

from mmadaptformer.utils.download_cache import URL_SUFFIX, cache_path
from mmadaptformer.utils.output_file import output_file_problem

URL = 'https://example.org/work_dir/best.pth'


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh torch hub cache, holding a download of :data:`URL`."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    (cache / 'best.pth').write_bytes(b'downloaded')
    (cache / ('best.pth' + URL_SUFFIX)).write_text(
        URL + '\netag: "1"\n', encoding='utf-8')
    return cache


def test_a_recorded_download_is_refused_without_inputs(hub, tmp_path):
    """Its record names the address; no input need be an address."""
    cached = hub / 'best.pth'
    link = tmp_path / 'link.json'
    link.symlink_to(cached)
    for out in (cached, link):
        problem = output_file_problem(str(out), '--out', [])
        assert problem == (
            f"--out {out} is the download cache's copy of {URL} ({cached}): "
            'writing it would replace that download while the cache\'s '
            'record of its address stays, and a later load of the address '
            'would get this output instead. Give a path outside the '
            'download cache.')


def test_a_download_record_is_refused(hub, tmp_path):
    """``NAME.url`` next to a recorded download, directly or by a link;
    a ``.url`` file that is no record of an address is not one."""
    cached, record = hub / 'best.pth', hub / ('best.pth' + URL_SUFFIX)
    link = tmp_path / 'record_link'
    link.symlink_to(record)
    for out in (record, link):
        problem = output_file_problem(str(out), 'out', [])
        assert problem == (
            f"out {out} is the download cache's record {record} of its copy "
            f'of {URL} ({cached}): writing it would replace the record that '
            'a later load of the address reads to find and check that copy. '
            'Give a path outside the download cache.')
    # A Windows shortcut and a binary file named like records.
    (tmp_path / 'site').write_bytes(b'x')
    (tmp_path / 'site.url').write_text('[InternetShortcut]\nURL=https://a\n')
    (tmp_path / 'blob').write_bytes(b'x')
    (tmp_path / 'blob.url').write_bytes(b'\x80\x02binary')
    for name in ('site.url', 'blob.url'):
        assert output_file_problem(str(tmp_path / name), 'out', []) is None


def test_an_input_address_about_to_be_downloaded(hub):
    """An address among the inputs is downloaded (with its record) before
    the tool writes, or a later load takes a file found there for it: its
    cache file and record are refused before they are there. The lines
    said the download would be replaced "while the cache's record of its
    address stays", and named the record as there, though neither was."""
    url = 'https://example.org/models/adapters.pth'
    cached = cache_path(url)
    assert cached == str(hub / 'adapters.pth')
    inputs = [(url, 'checkpoint'), (None, '--pretrained')]
    problem = output_file_problem(cached, '--dump', inputs)
    assert problem == (
        f'--dump {cached} is where the download cache puts its copy of '
        f'{url} ({cached}): a later load of the address takes a file there '
        'for that download, and would get this output instead. Give a path '
        'outside the download cache.')
    problem = output_file_problem(cached + URL_SUFFIX, '--dump', inputs)
    assert problem == (
        f'--dump {cached + URL_SUFFIX} is where the download cache puts its '
        f'record {cached + URL_SUFFIX} of its copy of {url} ({cached}): a '
        'later load of the address reads a file there as that record, and '
        'would read this output instead. Give a path outside the download '
        'cache.')
    # Without that address among the inputs, neither is the cache's yet.
    assert output_file_problem(cached, '--dump', []) is None
