# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The benchmark tools refuse an output in the download cache's place for
an address their config names (with ``--cfg-options`` applied), or on
that place's ``.url`` record, before measuring, as ``tools/infer.py
--out`` does.

``benchmark_infer.py``, ``benchmark_add_task.py``, ``get_flops.py`` and
``benchmark_train.py`` checked their outputs against the config file only,
so an output there was refused only once the address was downloaded: the
tool measured, then wrote its JSON (or PNG) where the next load of the
config takes a file for the address's download. Each tool runs here as a
user runs it, with a fresh ``TORCH_HOME``; a real HTTP server on
127.0.0.1 serves the backbone, and nothing may be downloaded or written.
"""
import argparse

import pytest
from file_server import serving
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, pretrained_cfg, run_tool,
                     save_stock_video_checkpoint, write_config)

from mmadaptformer.benchmark.cli import refuse_bad_paths

#: The config key the ``--cfg-options`` cases set to the address.
CHECKPOINT_KEY = 'model.backbone.backbone.init_cfg.checkpoint'


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    """The stock backbone, served; a config naming its address, and one
    naming the local file (which ``--cfg-options`` turns into the
    address)."""
    tmp = tmp_path_factory.mktemp('served')
    root = tmp / 'root'
    root.mkdir()
    local = str(root / 'backbone.pth')
    save_stock_video_checkpoint(local)
    with serving(root) as httpd:
        url = f'{httpd.url}/backbone.pth'
        yield dict(
            url=url,
            remote=write_config(
                str(tmp / 'remote.py'), TINY_ADAPTFORMER_VIDEO_CONFIG,
                pretrained_cfg(url)),
            local=write_config(
                str(tmp / 'local.py'), TINY_ADAPTFORMER_VIDEO_CONFIG,
                pretrained_cfg(local)))


@pytest.fixture
def home(tmp_path):
    """A fresh ``TORCH_HOME``; its hub cache is not there yet."""
    return tmp_path / 'torch_home'


def _refused(argv, flag, out, url, home, tmp_path) -> None:
    """Run the tool: exit status 2 naming ``flag``, ``out`` and ``url``,
    with nothing written or downloaded."""
    proc = run_tool(
        argv, cwd=str(tmp_path), env=dict(TORCH_HOME=str(home)), check=False)
    assert proc.returncode == 2, proc.stdout
    assert f'{flag} {out} is where the download cache puts its ' in \
        proc.stdout, proc.stdout
    assert f'{url} ({home / "hub" / "checkpoints" / "backbone.pth"}): ' in \
        proc.stdout, proc.stdout
    assert 'Give a path outside the download cache.' in proc.stdout
    # Refused before measuring: no model built, no download, no output.
    assert not home.exists()


@pytest.mark.parametrize('suffix', ['', '.url'])
def test_get_flops_json_where_the_configs_address_downloads(
        served, home, tmp_path, suffix):
    out = home / 'hub' / 'checkpoints' / f'backbone.pth{suffix}'
    _refused(
        ['analysis_tools/get_flops.py', served['remote'], '--json',
         str(out)], '--json', out, served['url'], home, tmp_path)


@pytest.mark.parametrize(
    'tool', [('analysis_tools/benchmark_infer.py', ['--prefix-layers', '-1']),
             ('analysis_tools/benchmark_add_task.py', ['--tasks', '1'])])
def test_out_where_a_cfg_options_address_downloads(served, home, tmp_path,
                                                   tool):
    """The config names a local backbone; ``--cfg-options`` makes it the
    address, so only the merged config shows the place (the options make
    the run one that measures and writes on the tiny config)."""
    out = home / 'hub' / 'checkpoints' / 'backbone.pth'
    _refused([tool[0], served['local']] + tool[1] + [
        '--out',
        str(out), '--cfg-options', f'{CHECKPOINT_KEY}={served["url"]}'
    ], '--out', out, served['url'], home, tmp_path)


@pytest.mark.parametrize('flag', ['--out', '--plot'])
def test_benchmark_train_output_over_the_address_record(
        served, home, tmp_path, flag):
    out = home / 'hub' / 'checkpoints' / 'backbone.pth.url'
    _refused([
        'analysis_tools/benchmark_train.py', served['local'], '--modes',
        'adaptformer', flag,
        str(out), '--cfg-options', f'{CHECKPOINT_KEY}={served["url"]}'
    ], flag, out, served['url'], home, tmp_path)


def test_get_flops_json_over_a_base_of_the_config(tmp_path):
    """An output that is a ``_base_`` of the config (not the config file
    itself) is refused too, as ``tools/infer.py --out`` refuses it."""
    base = write_config(
        str(tmp_path / 'base.py'), TINY_ADAPTFORMER_VIDEO_CONFIG)
    child = write_config(str(tmp_path / 'child.py'), base)
    before = open(base).read()
    proc = run_tool(['analysis_tools/get_flops.py', child, '--json', base],
                    cwd=str(tmp_path),
                    check=False)
    assert proc.returncode == 2, proc.stdout
    assert f'--json {base} is a _base_ of the config {child}; it would be ' \
        'overwritten.' in proc.stdout, proc.stdout
    assert open(base).read() == before


def test_an_output_the_config_names_no_address_for_passes(
        served, home, monkeypatch, capsys):
    """Without the ``--cfg-options`` address, the same place is no file
    the run reads, and the check passes (a guard of kept behaviour); with
    it, the options given to :func:`refuse_bad_paths` show the address.
    Reading the config downloads nothing."""
    monkeypatch.setenv('TORCH_HOME', str(home))
    parser = argparse.ArgumentParser()
    out = str(home / 'hub' / 'checkpoints' / 'backbone.pth')
    refuse_bad_paths(parser, served['local'], [(out, '--out')])
    with pytest.raises(SystemExit) as refused:
        refuse_bad_paths(parser, served['local'], [(out, '--out')],
                         {CHECKPOINT_KEY: served['url']})
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert f'--out {out} is where the download cache puts its copy of ' \
        f'{served["url"]} ' in err, err
    assert not home.exists()
