# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The converters read a checkpoint given as an ``http://`` address as
MMEngine's ``load_checkpoint`` does, through the package's safe loader.

A real HTTP server on 127.0.0.1 serves an official VideoMAE checkpoint (with
the ``argparse.Namespace`` its training script saves), an adapter-only and
a full checkpoint of a tiny task, and a checkpoint that carries code
(``os.system`` touching a marker file). What a converter writes from an
address must be what it writes from the same file on disk; the one that
carries code must be refused by each converter, with a message that names
the address and the global, without running it and without keeping it in
PyTorch's download cache.
"""
import argparse
import os
import shutil
from collections import OrderedDict

import pytest
import torch
from file_server import CodePayload, serving
from helpers import (load_tool, pretrained_cfg, run_tool, tool_refusal,
                     write_config)
from refusal_lines import refused_line

from mmadaptformer.utils import safe_torch_load

TOOLS = {
    name: load_tool(f'model_converters/{name}.py')
    for name in ('extract_adapters', 'merge_adapters', 'convert_official')
}
# The tiny video backbone: embed 64, depth 2, patch 16, tubelet 2, MLP 128.
DIMS, DEPTH, PATCH, TUBELET, HIDDEN = 64, 2, 16, 2, 128
VIDEOMAE = ['--type', 'videomae', '--num-frames', '4', '--img-size', '32']


def _official_videomae(path) -> None:
    """A VideoMAE pre-training checkpoint of the tiny backbone's size, as
    the official ``misc.save_model`` writes it (with ``args``)."""
    gen = torch.Generator().manual_seed(0)
    shapes = OrderedDict([('encoder.patch_embed.proj.weight',
                           (DIMS, 3, TUBELET, PATCH, PATCH)),
                          ('encoder.patch_embed.proj.bias', (DIMS, ))])
    for i in range(DEPTH):
        p = f'encoder.blocks.{i}.'
        shapes.update({
            p + 'norm1.weight': (DIMS, ),
            p + 'norm1.bias': (DIMS, ),
            p + 'attn.qkv.weight': (3 * DIMS, DIMS),
            p + 'attn.q_bias': (DIMS, ),
            p + 'attn.v_bias': (DIMS, ),
            p + 'attn.proj.weight': (DIMS, DIMS),
            p + 'attn.proj.bias': (DIMS, ),
            p + 'norm2.weight': (DIMS, ),
            p + 'norm2.bias': (DIMS, ),
            p + 'mlp.fc1.weight': (HIDDEN, DIMS),
            p + 'mlp.fc1.bias': (HIDDEN, ),
            p + 'mlp.fc2.weight': (DIMS, HIDDEN),
            p + 'mlp.fc2.bias': (DIMS, ),
        })
    shapes.update({
        'encoder.norm.weight': (DIMS, ),
        'encoder.norm.bias': (DIMS, )
    })
    model = OrderedDict((k, torch.randn(*shape, generator=gen) * 0.1)
                        for k, shape in shapes.items())
    torch.save(
        dict(
            model=model,
            epoch=799,
            args=argparse.Namespace(model='pretrain_videomae_base')), path)


@pytest.fixture(scope='module')
def served(tmp_path_factory, video_tasks):
    """Serve the checkpoints on 127.0.0.1; a config whose backbone is the
    tasks' stock one, and where the files lie."""
    root = tmp_path_factory.mktemp('served')
    marker = root / 'PAYLOAD_RAN'
    torch.save(
        {
            'state_dict': {
                'w': torch.zeros(1)
            },
            'meta': CodePayload(marker)
        }, root / 'evil.pth')
    _official_videomae(root / 'official.pth')
    shutil.copy(video_tasks['full']['checkpoint'], root / 'adapters.pth')
    config = write_config(
        str(root / 'task.py'), video_tasks['full']['config'],
        pretrained_cfg(video_tasks['stock']))
    TOOLS['merge_adapters'].main(
        [config, str(root / 'adapters.pth'),
         str(root / 'full.pth')])
    with serving(root) as httpd:
        yield dict(url=httpd.url, root=root, marker=marker, config=config)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh torch hub cache for each test."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


def _same_checkpoint(first, second) -> None:
    """The two files hold equal tensors and equal other entries (but the
    source a loaded record is tagged with, which is the file's own)."""
    a, b = safe_torch_load(first), safe_torch_load(second)
    assert a['meta'] == b['meta']
    assert list(a['state_dict']) == list(b['state_dict'])
    for key, value in a['state_dict'].items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b['state_dict'][key]), key
        else:
            other = dict(b['state_dict'][key])
            value = dict(value)
            value.pop('source', None)
            other.pop('source', None)
            assert value == other, key


def test_convert_official_reads_an_address(served, hub, tmp_path, capsys):
    """``convert_official.py https://.../x.pth out.pth`` was refused with
    'download it first', though load_checkpoint reads such an address."""
    url = f'{served["url"]}/official.pth'
    local, remote = tmp_path / 'local.pth', tmp_path / 'remote.pth'
    src = str(served['root'] / 'official.pth')
    TOOLS['convert_official'].main([src, str(local)] + VIDEOMAE)
    capsys.readouterr()
    TOOLS['convert_official'].main([url, str(remote)] + VIDEOMAE)
    out = capsys.readouterr().out
    assert f"tensors from checkpoint['model'] of {url}" in out, out
    _same_checkpoint(local, remote)
    assert safe_torch_load(remote)['meta']['converted_from'] == \
        'official.pth'
    # Downloaded into the hub cache, as load_checkpoint does.
    assert (hub / 'official.pth').is_file()


def test_merge_and_extract_read_addresses(served, hub, tmp_path, capsys,
                                          clean_loggers):
    """``merge_adapters.py``/``extract_adapters.py CONFIG URL OUT`` were
    refused with 'download it first'."""
    inputs = dict(merge_adapters='adapters.pth', extract_adapters='full.pth')
    for tool, name in inputs.items():
        local, remote = tmp_path / f'{tool}_l.pth', tmp_path / f'{tool}_r.pth'
        TOOLS[tool].main(
            [served['config'],
             str(served['root'] / name),
             str(local)])
        TOOLS[tool].main(
            [served['config'], f'{served["url"]}/{name}',
             str(remote)])
        _same_checkpoint(local, remote)
    said = capsys.readouterr().out
    assert f'(from {served["url"]}/full.pth).' in said, said
    assert 'Note:' not in said  # compared with the config's backbone


def _one_line_refusal(tool: str, served: dict, url: str, out) -> str:
    """Run a converter on the checkpoint ``url``; the one line it ends
    with."""
    argv = [url, str(out)] if tool == 'convert_official' else \
        [served['config'], url, str(out)]
    with pytest.raises(SystemExit) as refused:
        TOOLS[tool].main(argv)
    text = refused.value.code
    assert isinstance(text, str) and '\n' not in text, text
    return text


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_an_address_that_carries_code_is_refused(served, hub, tmp_path, tool,
                                                 clean_loggers):
    url = f'{served["url"]}/evil.pth'
    out = tmp_path / 'out.pth'
    text = _one_line_refusal(tool, served, url, out)
    assert url in text and 'posix.system' in text, text
    assert 'refused for safety' in text, text
    assert 'weights_only=False' not in text and 'likely succeed' not in text
    assert not served['marker'].exists(), 'the payload ran'
    assert not out.exists()
    # Not kept under the cache's name, where a plain torch.load finds it.
    assert not hub.exists() or os.listdir(hub) == []


def test_a_refused_address_from_the_shell(served, tmp_path):
    """One line, exit status 1, no traceback, as for a local file."""
    env = dict(TORCH_HOME=str(tmp_path / 'torch_home'))
    proc = run_tool([
        'model_converters/convert_official.py', f'{served["url"]}/evil.pth',
        tmp_path / 'out.pth'
    ],
                    cwd=tmp_path,
                    env=env,
                    check=False)
    assert refused_line(proc).startswith(
        f'Error: cannot convert {served["url"]}/evil.pth: '), proc.stdout
    assert 'posix.system' in proc.stdout
    assert not served['marker'].exists(), 'the payload ran'


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_an_address_with_nothing_there_is_one_line(served, hub, tmp_path, tool,
                                                   clean_loggers):
    """A 404 ends the tool with one line naming the address and what the
    server said; nothing is written or cached."""
    url = f'{served["url"]}/gone.pth'
    out = tmp_path / 'out.pth'
    text = _one_line_refusal(tool, served, url, out)
    assert f'Could not download checkpoint {url}: ' in text, text
    # What the server said: its status code and reason.
    assert f'{url}: HTTP 404 File not found. ' in text, text
    assert not out.exists()
    assert not hub.exists() or os.listdir(hub) == []


def _argv(tool: str, served: dict, checkpoint: str, out) -> list:
    """The command line of a converter that reads ``checkpoint``."""
    if tool == 'convert_official':
        return [checkpoint, str(out)] + VIDEOMAE
    return [served['config'], checkpoint, str(out)]


#: What each converter reads, by the file the server serves.
READS = dict(
    convert_official='official.pth',
    extract_adapters='full.pth',
    merge_adapters='adapters.pth')


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_an_output_over_the_download_of_its_input_is_refused(
        served, hub, tool, capsys, clean_loggers):
    """``TOOL URL <hub>/<name of URL>`` downloaded the address into the
    cache, then wrote the output over it; the ``.url`` record stayed, so a
    later load of the address got the converted file instead."""
    name = READS[tool]
    url = f'{served["url"]}/{name}'
    out = hub / name
    with pytest.raises(SystemExit) as refused:
        TOOLS[tool].main(_argv(tool, served, url, out))
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert f'out {out} is where the download cache puts its copy of {url} ' \
        f'({out})' in err.replace('dst ', 'out '), err
    assert 'Give a path outside the download cache.' in err, err
    # Refused before anything was read: nothing downloaded, nothing made.
    assert not hub.exists()


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_an_output_over_a_cached_download_is_refused(served, hub, tool,
                                                     tmp_path, capsys,
                                                     clean_loggers):
    """An output naming a file the cache holds for an address (its
    ``.url`` record next to it) replaced the download, also when the
    converter read a local file or a link led there; the address then
    loaded as the converted file."""
    name = READS[tool]
    url = f'{served["url"]}/{name}'
    # A first run from the address downloads it into the cache.
    TOOLS[tool].main(_argv(tool, served, url, tmp_path / 'first.pth'))
    cached = hub / name
    assert (hub / (name + '.url')).read_text().startswith(url + '\n')
    before = cached.read_bytes()
    link = tmp_path / 'link.pth'
    link.symlink_to(cached)
    capsys.readouterr()
    for out in (cached, link):
        with pytest.raises(SystemExit) as refused:
            TOOLS[tool].main(
                _argv(tool, served, str(served['root'] / name), out))
        assert refused.value.code == 2
        err = capsys.readouterr().err
        assert f"{out} is the download cache's copy of {url} ({cached})" \
            in err, err
    assert cached.read_bytes() == before


def test_merge_refuses_an_output_over_the_configs_own_download(
        served, hub, video_tasks, tmp_path, capsys, clean_loggers):
    """A config whose pretrained backbone is an address: building the
    model downloads it into the cache, and ``merge_adapters.py`` then wrote
    the merged model over that download (the address is known only from
    the config, after the command line was checked)."""
    shutil.copy(video_tasks['stock'], served['root'] / 'stock.pth')
    url = f'{served["url"]}/stock.pth'
    config = write_config(
        str(tmp_path / 'task.py'), video_tasks['full']['config'],
        pretrained_cfg(url))
    out = hub / 'stock.pth'
    with pytest.raises(SystemExit) as refused:
        TOOLS['merge_adapters'].main(
            [config, str(served['root'] / 'adapters.pth'),
             str(out)])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert f"out {out} is the download cache's copy of {url} ({out})" in \
        err, err
    assert out.read_bytes() == (served['root'] / 'stock.pth').read_bytes()


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_an_output_over_a_download_record_is_refused(served, hub, tool,
                                                     tmp_path, capsys,
                                                     clean_loggers):
    """An output naming a download's ``.url`` record (``<hub>/NAME.url``)
    replaced the record; a later load of the address could not read it.
    Refused there already, and where the converter's input address is
    about to write it."""
    name = READS[tool]
    url = f'{served["url"]}/{name}'
    cached, record = hub / name, hub / (name + '.url')
    # Before the download: the address the command line reads writes it.
    err = tool_refusal(TOOLS[tool], _argv(tool, served, url, record), capsys)
    assert f'{record} is where the download cache puts its record {record} ' \
        f'of its copy of {url} ({cached})' in err, err
    assert not hub.exists()
    TOOLS[tool].main(_argv(tool, served, url, tmp_path / 'first.pth'))
    before = record.read_bytes()
    err = tool_refusal(TOOLS[tool],
                       _argv(tool, served, str(served['root'] / name), record),
                       capsys)
    assert f"{record} is the download cache's record {record} of its " \
        f'copy of {url} ({cached})' in err, err
    assert 'Give a path outside the download cache.' in err, err
    assert record.read_bytes() == before
