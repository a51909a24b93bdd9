# Copyright (c) mmadaptformer contributors. All rights reserved.
"""An output in the download cache's place for an address the *config*
names (its backbone's ``init_cfg.checkpoint``) is refused, as one for an
address given on the command line is.

``extract_adapters.py CONFIG FULL.pth <hub>/backbone.pth`` and
``tools/infer.py ... --out <hub>/backbone.pth`` wrote there: the next load
of the config took the output for the address's download (found without a
record, used with a warning) and failed on it, or loaded adapters as a
backbone. A real HTTP server on 127.0.0.1 serves the backbone.
"""
import pytest
import torch
from file_server import serving
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, load_tool, pretrained_cfg,
                     save_as_built_checkpoint, save_stock_video_checkpoint,
                     tool_refusal, write_config)

from mmadaptformer.testing import make_moving_square_dataset


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A config whose backbone is an address on a local server, a full
    checkpoint of its model, a video, and the fresh hub cache."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    root = tmp_path / 'served'
    root.mkdir()
    save_stock_video_checkpoint(str(root / 'backbone.pth'))
    data = tmp_path / 'data'
    make_moving_square_dataset(str(data), num_per_class=1)
    full = save_as_built_checkpoint(TINY_ADAPTFORMER_VIDEO_CONFIG,
                                    tmp_path / 'full.pth')
    with serving(root) as httpd:
        url = f'{httpd.url}/backbone.pth'
        config = write_config(
            str(tmp_path / 'remote.py'), TINY_ADAPTFORMER_VIDEO_CONFIG,
            pretrained_cfg(url))
        yield dict(
            url=url,
            config=config,
            full=full,
            video=str(next((data / 'videos').glob('*.mp4'))),
            hub=tmp_path / 'torch_home' / 'hub' / 'checkpoints')


@pytest.mark.parametrize('suffix', ['', '.url'])
def test_extract_out_where_the_configs_address_downloads_is_refused(
        served, suffix, capsys, clean_loggers):
    """The download's place (``backbone.pth``) or its record's
    (``backbone.pth.url``); the address is not downloaded (nothing is
    compared with an address), so neither is there yet."""
    out = served['hub'] / f'backbone.pth{suffix}'
    err = tool_refusal(
        load_tool('model_converters/extract_adapters.py'),
        [served['config'], served['full'],
         str(out)], capsys)
    assert f'out {out} is where the download cache puts its ' in err, err
    assert served['url'] in err, err
    assert not out.exists()


def test_infer_out_where_the_configs_address_downloads_is_refused(
        served, capsys, clean_loggers):
    out = served['hub'] / 'backbone.pth'
    err = tool_refusal(
        load_tool('infer.py'),
        [served['config'], served['full'], served['video'], '--out',
         str(out)], capsys)
    assert f'--out {out} is where the download cache puts its ' in err, err
    assert served['url'] in err, err
    assert not out.exists()


def test_extract_out_elsewhere_still_writes(served, tmp_path, capsys,
                                            clean_loggers):
    """Guard of kept behaviour: an output outside the cache is written,
    and nothing is downloaded for the check."""
    out = tmp_path / 'adapters.pth'
    load_tool('model_converters/extract_adapters.py').main(
        [served['config'], served['full'],
         str(out)])
    assert out.is_file()
    assert not served['hub'].exists() or not any(served['hub'].iterdir())


def test_extract_out_over_the_configs_load_from_is_refused(
        served, tmp_path, capsys, clean_loggers):
    """A checkpoint the config's ``load_from`` names (a file its run
    reads) was overwritten with the adapters: ``extract_adapters.py``
    checked the config's addresses only, not its named files as
    ``tools/test.py`` and ``tools/infer.py`` do."""
    previous = tmp_path / 'previous.pth'
    previous.write_bytes(open(served['full'], 'rb').read())
    before = previous.read_bytes()
    config = write_config(
        str(tmp_path / 'resumed.py'), served['config'],
        f'load_from = {str(previous)!r}\n')
    err = tool_refusal(
        load_tool('model_converters/extract_adapters.py'),
        [config, served['full'], str(previous)], capsys)
    assert f'out {previous} is load_from of the config {config}; it ' \
        'would be overwritten.' in err, err
    assert previous.read_bytes() == before


def _merge_refusal(served, tmp_path, body, out, capsys):
    """The config (a child of the served one with ``body``) and what
    ``merge_adapters.py`` said refusing to write ``out`` for it. The
    adapters are extracted by the real tool from a full checkpoint of a
    model initialised on the served backbone, so that they merge."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    local = write_config(
        str(tmp_path / 'local.py'), TINY_ADAPTFORMER_VIDEO_CONFIG,
        pretrained_cfg(str(tmp_path / 'served' / 'backbone.pth')))
    cfg = Config.fromfile(local)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    model.init_weights()
    full, adapters = tmp_path / 'trained.pth', tmp_path / 'adapters.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, full)
    load_tool('model_converters/extract_adapters.py').main(
        [local, str(full), str(adapters)])
    config = write_config(str(tmp_path / 'child.py'), served['config'], body)
    return config, tool_refusal(
        load_tool('model_converters/merge_adapters.py'),
        [config, str(adapters), str(out)], capsys)


def test_merge_out_over_the_configs_load_from_is_refused(
        served, tmp_path, capsys, clean_loggers):
    """``merge_adapters.py`` checked its output against the pretrained
    backbone only: a checkpoint the config's ``load_from`` names (a file
    its run reads) was overwritten with the merged model."""
    previous = tmp_path / 'previous.pth'
    previous.write_bytes(b'the run of the config reads this')
    config, err = _merge_refusal(served, tmp_path,
                                 f'load_from = {str(previous)!r}\n', previous,
                                 capsys)
    assert f'out {previous} is load_from of the config {config}; it ' \
        'would be overwritten.' in err, err
    assert previous.read_bytes() == b'the run of the config reads this'


@pytest.mark.parametrize('suffix', ['', '.url'])
def test_merge_out_where_the_configs_address_downloads_is_refused(
        served, tmp_path, suffix, capsys, clean_loggers):
    """The download cache's place for the config's ``load_from`` address
    (which merging does not read, so it is not there yet), or its
    record's: the next run of the config took the merged model for the
    address's file."""
    url = served['url'].rsplit('/', 1)[0] + '/previous.pth'
    out = served['hub'] / f'previous.pth{suffix}'
    _, err = _merge_refusal(served, tmp_path, f'load_from = {url!r}\n', out,
                            capsys)
    assert f'out {out} is where the download cache puts its ' in err, err
    assert url in err, err
    assert not out.exists()
