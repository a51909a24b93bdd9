# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Checkpoints given as addresses load with weights_only=True too.

A real HTTP server on 127.0.0.1, started and stopped by the tests, serves a
checkpoint that carries code (``os.system`` touching a marker file) and a
benign one. The malicious one must be refused on every entry point, with a
message that names the global and never suggests ``weights_only=False``,
and must not stay in PyTorch's download cache; the benign one must load.
"""
import argparse
import contextlib
import hashlib
import json
import logging
import os
import os.path as osp
import pickle

import pytest
import torch
from file_server import CodePayload, QuietHandler, serving
from helpers import (TINY_ADAPTFORMER_VIDEO_CONFIG, TINY_IMAGE_CONFIG,
                     TINY_VIDEO_CONFIG, run_tool, save_stock_video_checkpoint,
                     video_data_cfg, write_config)
from mmengine.runner import CheckpointLoader, load_checkpoint

from mmadaptformer.utils import (CheckpointLoadError, download_hash,
                                 reading_once, scan_file_globals)
from mmadaptformer.utils.download_cache import REFUSED_SUFFIX, cache_path
from mmadaptformer.utils.download_hash import promised_hash
from mmadaptformer.utils.pretrained_backbone import set_pretrained_backbone


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """Serve a folder on 127.0.0.1 with an evil and a benign checkpoint,
    in the formats torch.save and pickle write."""
    root = tmp_path_factory.mktemp('served')
    marker = root / 'PAYLOAD_RAN'
    evil = {'state_dict': {'w': torch.zeros(1)}, 'meta': CodePayload(marker)}
    torch.save(evil, root / 'evil.pth')
    torch.save(
        evil, root / 'evil_legacy.pth', _use_new_zipfile_serialization=False)
    with open(root / 'evil_raw.pkl', 'wb') as f:
        pickle.dump(evil, f)
    stock = save_stock_video_checkpoint(str(root / 'stock.pth'))
    with serving(root) as httpd:
        yield dict(url=httpd.url, root=root, marker=marker, stock=stock)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh torch hub cache and MMEngine home for each test."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


def _assert_refused(error, server, name='evil.pth'):
    text = str(error)
    assert 'posix.system' in text, text
    assert 'refused for safety' in text, text
    assert name in text, text
    assert 'weights_only=False' not in text and 'likely succeed' not in text
    assert not server['marker'].exists(), 'the payload ran'


@pytest.mark.parametrize('name',
                         ['evil.pth', 'evil_legacy.pth', 'evil_raw.pkl'])
def test_http_checkpoint_with_code_is_refused_and_not_cached(
        server, hub, name):
    url = f'{server["url"]}/{name}'
    with pytest.raises(CheckpointLoadError) as err:
        CheckpointLoader.load_checkpoint(url)
    _assert_refused(err.value, server, name)
    # Nothing under the cache's name: a later plain torch.load (or torch.hub)
    # cannot pick the file up.
    assert not (hub / name).exists()
    assert not [p for p in os.listdir(hub) if not p.endswith('.refused')]


def test_official_training_checkpoint_by_address_says_how_to_convert(
        server, hub):
    """Refused as a local one is, with the same hint; the copy to convert
    is a local one, since a refused download is not kept."""
    path = server['root'] / 'checkpoint-89.pth'
    torch.save(
        dict(
            model={'w': torch.zeros(1)},
            args=argparse.Namespace(model='vit_base_patch16_224')), path)
    url = f'{server["url"]}/checkpoint-89.pth'
    with pytest.raises(CheckpointLoadError) as err:
        CheckpointLoader.load_checkpoint(url)
    text = str(err.value)
    assert text.startswith(f'Refused to load checkpoint {url}: it carries an '
                           'argparse.Namespace'), text
    assert 'official AdaptFormer, VideoMAE and MAE training scripts' in text
    assert ('Download a local copy and convert it first: python tools/'
            'model_converters/convert_official.py LOCAL_COPY.pth '
            'CONVERTED.pth;') in text, text
    assert 'Do not use this file' not in text
    assert 'weights_only=False' not in text
    assert not (hub / 'checkpoint-89.pth').exists()

    # A loader a user registers is refused by PyTorch itself.
    def user_loader(filename, map_location=None):
        return torch.load(
            server['root'] / filename[len('mine://'):],
            map_location=map_location,
            weights_only=True)

    CheckpointLoader.register_scheme('mine://', user_loader)
    try:
        with pytest.raises(CheckpointLoadError) as err:
            CheckpointLoader.load_checkpoint('mine://checkpoint-89.pth')
    finally:
        CheckpointLoader._schemes.pop('mine://')
    text = str(err.value)
    assert 'official AdaptFormer, VideoMAE and MAE training scripts' in text
    assert 'convert_official.py LOCAL_COPY.pth' in text, text
    assert 'Do not use this file' not in text


def test_https_and_every_address_scheme_is_ours():
    from mmadaptformer.utils import checkpoint_schemes as ours
    expected = {
        'http://': ours.load_from_http,
        'https://': ours.load_from_http,
        'torchvision://': ours.load_from_torchvision,
        'modelzoo://': ours.load_from_torchvision,
        'open-mmlab://': ours.load_from_openmmlab,
        'openmmlab://': ours.load_from_openmmlab,
        'mmcls://': ours.load_from_mmcls,
    }
    for prefix, loader in expected.items():
        assert CheckpointLoader._get_checkpoint_loader(
            prefix + 'x/y.pth') is loader, prefix


def test_refused_file_already_in_the_cache_is_renamed(server, hub):
    hub.mkdir(parents=True)
    cached = hub / 'evil.pth'
    cached.write_bytes((server['root'] / 'evil.pth').read_bytes())
    with pytest.raises(CheckpointLoadError) as err:
        CheckpointLoader.load_checkpoint(f'{server["url"]}/evil.pth')
    _assert_refused(err.value, server)
    assert not cached.exists()
    assert (hub / ('evil.pth' + REFUSED_SUFFIX)).exists()


def test_benign_http_checkpoint_loads_and_is_cached(server, hub):
    url = f'{server["url"]}/stock.pth'
    ckpt = CheckpointLoader.load_checkpoint(url)
    assert set(ckpt['state_dict']) == set(server['stock'])
    assert (hub / 'stock.pth').is_file()
    # The second load reads the cache (the file is gone from the server's
    # point of view only by name: serve a different name to prove it).
    again = CheckpointLoader.load_checkpoint(url)
    for key, value in server['stock'].items():
        assert torch.equal(again['state_dict'][key], value)


def test_two_addresses_with_one_file_name_get_their_own_files(server, hub):
    """Every work dir writes epoch_1.pth: a cache keyed by file name alone
    gave the second address the first one's weights, silently."""
    urls = []
    for folder, value in (('run_a', 1.), ('run_b', 2.)):
        os.makedirs(server['root'] / folder, exist_ok=True)
        torch.save({'state_dict': {
            'w': torch.full((2, ), value)
        }}, server['root'] / folder / 'epoch_1.pth')
        urls.append(f'{server["url"]}/{folder}/epoch_1.pth')
    for _ in range(2):  # downloaded, then from the cache
        for url, value in zip(urls, (1., 2.)):
            ckpt = CheckpointLoader.load_checkpoint(url)
            assert torch.equal(ckpt['state_dict']['w'], torch.full((2, ),
                                                                   value)), url
    # The first address keeps the name PyTorch's hub gives it.
    assert (hub / 'epoch_1.pth.url').read_text().splitlines()[0] == urls[0]
    assert len(list(hub.glob('*-epoch_1.pth'))) == 1
    assert cache_path(urls[1], str(hub)).endswith('-epoch_1.pth')

    # A file put in the cache by hand (no record) is found by its name, as
    # PyTorch and MMEngine find it: no download (the server has none).
    torch.save({'state_dict': {'w': torch.zeros(1)}}, hub / 'placed.pth')
    ckpt = CheckpointLoader.load_checkpoint(f'{server["url"]}/placed.pth')
    assert torch.equal(ckpt['state_dict']['w'], torch.zeros(1))


def _hashed_name(path, stem, digits=8):
    """``stem-<the first digits of path's SHA-256>.pth``."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f'{stem}-{digest[:digits]}.pth'


@pytest.fixture
def publisher(monkeypatch):
    """The test server on 127.0.0.1 counts as a publisher whose file
    names promise their hash, as OpenMMLab's and PyTorch's do."""
    monkeypatch.setattr(download_hash, 'HASHED_NAME_HOSTS',
                        download_hash.HASHED_NAME_HOSTS + ('127.0.0.1', ))


def test_promised_hash_follows_the_published_names():
    mm = 'https://download.openmmlab.com/mmpretrain/v1.0/vit'
    assert promised_hash(f'{mm}/vit-base_20220623-4c544545.pth') == \
        '4c544545'
    assert promised_hash('https://download.pytorch.org/models/'
                         'resnet50-0676ba61.pth') == '0676ba61'
    # Not promises: a date, no dash, not hexadecimal, a UUID's tail.
    for name in ('model-20221212.pth', 'epoch_1.pth', 'vit-4c54454g.pth',
                 'deadbeef.pth', '3f1a2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b.pth'):
        assert promised_hash(f'{mm}/{name}') is None, name
    # Nor a name of that form on any other server (a commit, a UUID).
    assert promised_hash('http://models.example.org/model-v2-1a2b3c4d.pth') \
        is None


def test_names_that_only_look_hashed_load_from_other_servers(tmp_path, hub):
    """An artifact store's UUID name, a git short hash: not promises."""
    root = tmp_path / 'served'
    root.mkdir()
    for name in ('3f1a2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b.pth',
                 'model-v2-1a2b3c4d.pth'):
        torch.save({'state_dict': {'w': torch.ones(2)}}, root / name)
    with _serving(root) as (httpd, url):
        for name in ('3f1a2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b.pth',
                     'model-v2-1a2b3c4d.pth'):
            ckpt = CheckpointLoader.load_checkpoint(f'{url}/{name}')
            assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


def test_a_download_that_does_not_match_its_name_hash_is_not_kept(
        server, hub, log_records, publisher):
    """OpenMMLab and torchvision publish names that end in the file's
    SHA-256 prefix; a download that is not that file (damaged, or the
    address serves another one) is refused and nothing is cached."""
    stock = server['root'] / 'stock.pth'
    good = _hashed_name(stock, 'stock_20220101')
    bad = 'stock_20220101-deadbeef.pth'
    for name in (good, bad):
        (server['root'] / name).write_bytes(stock.read_bytes())
    with pytest.raises(CheckpointLoadError) as info:
        CheckpointLoader.load_checkpoint(f'{server["url"]}/{bad}')
    text = str(info.value)
    assert f'{server["url"]}/{bad} is not the file its name promises' in text
    assert f'its SHA-256 starts with {good[-12:-4]}' in text, text
    assert 'the hash in its name is deadbeef' in text, text
    assert not hub.exists() or not any(hub.iterdir())

    ckpt = CheckpointLoader.load_checkpoint(f'{server["url"]}/{good}')
    assert set(ckpt['state_dict']) == set(server['stock'])
    assert (hub / good).read_bytes() == stock.read_bytes()
    assert (hub / (good + '.url')).read_text().splitlines()[0].endswith(good)
    assert not [r for r in log_records if r.levelno >= logging.WARNING]


def test_a_file_placed_in_the_cache_is_checked_or_named(
        server, hub, log_records, publisher):
    """A file put in the cache by hand has no record of its address: if
    its name carries a hash, its content must match it (it is then recorded);
    if not, it is used with a warning that names it."""
    hub.mkdir(parents=True)
    stock = server['root'] / 'stock.pth'
    other = hub / 'other.pth'
    torch.save({'state_dict': {'w': torch.ones(3)}}, other)
    # Named as the served stock file, but holding other weights.
    wrong = hub / _hashed_name(stock, 'placed')
    wrong.write_bytes(other.read_bytes())
    with pytest.raises(CheckpointLoadError) as info:
        CheckpointLoader.load_checkpoint(f'{server["url"]}/{wrong.name}')
    text = str(info.value)
    assert text.startswith(f'{wrong}, found in the download cache without '
                           'a record of its address, is not the file '), text
    assert 'left where it is' in text, text
    assert wrong.read_bytes() == other.read_bytes()  # nothing lost
    assert not (hub / (wrong.name + '.url')).exists()

    right = hub / _hashed_name(stock, 'placed_right')
    right.write_bytes(stock.read_bytes())
    url = f'{server["url"]}/{right.name}'  # the server has no such file
    ckpt = CheckpointLoader.load_checkpoint(url)
    assert set(ckpt['state_dict']) == set(server['stock'])
    # Recorded as a download is: its address, then its SHA-256.
    assert (hub / (right.name + '.url')).read_text().splitlines() == [
        url, f'sha256: {hashlib.sha256(right.read_bytes()).hexdigest()}'
    ]
    assert not [r for r in log_records if r.levelno >= logging.WARNING]

    url = f'{server["url"]}/other.pth'
    ckpt = CheckpointLoader.load_checkpoint(url)
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(3))
    warnings = [
        r.getMessage() for r in log_records if r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f'Using {other} for {url}: it was found '
                                  'in the download cache without a record')


def test_a_failed_download_names_the_address(server, hub):
    """A 404 or a refused connection: one error that names the address
    (tools print it on one line), not urllib's traceback. An HTTP error
    carries its status code (it was the server's reason phrase alone)."""
    for url, why in ((f'{server["url"]}/missing.pth',
                      ': HTTP 404 File not found. Nothing was kept'),
                     ('http://127.0.0.1:9/gone.pth', 'Connection refused')):
        with pytest.raises(CheckpointLoadError) as info:
            CheckpointLoader.load_checkpoint(url)
        text = str(info.value)
        assert text.startswith(f'Could not download checkpoint {url}: ')
        assert why in text, text
    assert not hub.exists() or not any(hub.iterdir())


@pytest.mark.parametrize(
    'scheme', ['open-mmlab://', 'torchvision://', 'mmcls://', 'modelzoo://'])
def test_a_scheme_whose_address_fails_names_the_status(server, hub, tmp_path,
                                                       monkeypatch, scheme):
    """Every scheme that resolves to an address reports the status of a
    failed download as the address itself does."""
    import mmengine.runner.checkpoint as mmengine_checkpoint
    url = f'{server["url"]}/missing.pth'
    table = {'gone': url}
    home = tmp_path / 'mmengine_home'  # MMENGINE_HOME, set by hub
    home.mkdir()
    (home / 'open_mmlab.json').write_text(json.dumps(table))
    monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                        lambda: table)
    monkeypatch.setattr(mmengine_checkpoint, 'get_mmcls_models', lambda: table)
    with pytest.raises(CheckpointLoadError) as info:
        CheckpointLoader.load_checkpoint(scheme + 'gone')
    assert str(info.value).startswith(
        f'Could not download checkpoint {url}: HTTP 404 File not found. '
        'Nothing was kept in the cache '), str(info.value)


def test_open_mmlab_scheme_resolving_to_an_address(server, hub, tmp_path):
    home = tmp_path / 'mmengine_home'
    home.mkdir()
    (home / 'open_mmlab.json').write_text(
        json.dumps({
            'evil_model': f'{server["url"]}/evil.pth',
            'stock_model': f'{server["url"]}/stock.pth'
        }))
    for scheme in ('open-mmlab://', 'openmmlab://'):
        with pytest.raises(CheckpointLoadError) as err:
            CheckpointLoader.load_checkpoint(scheme + 'evil_model')
        _assert_refused(err.value, server)
    ckpt = CheckpointLoader.load_checkpoint('open-mmlab://stock_model')
    assert set(ckpt['state_dict']) == set(server['stock'])


def test_torchvision_and_mmcls_schemes_go_through_the_safe_loader(
        server, hub, monkeypatch):
    # Their tables name public download sites; point one entry at the local
    # server (the table, not the loader, is replaced).
    import mmengine.runner.checkpoint as mmengine_checkpoint
    table = {'evil': f'{server["url"]}/evil.pth'}
    monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                        lambda: table)
    monkeypatch.setattr(mmengine_checkpoint, 'get_mmcls_models', lambda: table)
    for path in ('torchvision://evil', 'modelzoo://evil', 'mmcls://evil'):
        with pytest.raises(CheckpointLoadError) as err:
            CheckpointLoader.load_checkpoint(path)
        _assert_refused(err.value, server)


def test_a_scheme_a_user_registers_keeps_weights_only(server, tmp_path):
    calls = []

    def careless_loader(filename, map_location=None):
        # A loader that asks for the unsafe mode explicitly.
        calls.append(filename)
        local = server['root'] / filename[len('careless://'):]
        return torch.load(
            local, map_location=map_location, weights_only=bool(0))

    CheckpointLoader.register_scheme('careless://', careless_loader)
    try:
        with pytest.raises(CheckpointLoadError) as err:
            CheckpointLoader.load_checkpoint('careless://evil.pth')
        _assert_refused(err.value, server)
        assert calls == ['careless://evil.pth']
        # Outside the loader, the environment is as it was.
        assert 'TORCH_FORCE_WEIGHTS_ONLY_LOAD' not in os.environ
        ckpt = CheckpointLoader.load_checkpoint('careless://stock.pth')
        assert set(ckpt['state_dict']) == set(server['stock'])
    finally:
        CheckpointLoader._schemes.pop('careless://')


def test_load_checkpoint_and_pretrained_init_cfg_refuse(server, hub):
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_VIDEO_CONFIG)
    model = MODELS.build(cfg.model)
    with pytest.raises(CheckpointLoadError) as err:
        load_checkpoint(model, f'{server["url"]}/evil.pth')
    _assert_refused(err.value, server)
    # init_cfg Pretrained with an address, on the AdaptFormer wrapper.
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    cfg.model.backbone.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=f'{server["url"]}/evil.pth')
    with pytest.raises(CheckpointLoadError) as err:
        MODELS.build(cfg.model).init_weights()
    _assert_refused(err.value, server)
    # The benign file loads through the same path.
    load_checkpoint(model, f'{server["url"]}/stock.pth', strict=True)
    for key, value in server['stock'].items():
        assert torch.equal(model.state_dict()[key], value)


def test_pretrained_flag_reads_addresses_with_the_safe_loader(server, hub):
    """``--pretrained URL`` picks its prefix from the download that the
    safe http loader made (a local file is mapped instead, see
    test_lazy_checkpoint_reads), and refuses one with code."""
    from mmengine.config import Config
    cfg = Config.fromfile(TINY_ADAPTFORMER_VIDEO_CONFIG)
    with pytest.raises(CheckpointLoadError) as err:
        set_pretrained_backbone(cfg, f'{server["url"]}/evil.pth')
    _assert_refused(err.value, server)
    _, init_cfg = set_pretrained_backbone(cfg, f'{server["url"]}/stock.pth')
    assert init_cfg == dict(
        type='Pretrained',
        checkpoint=f'{server["url"]}/stock.pth',
        prefix='backbone.')
    assert 'stock.pth' in os.listdir(hub)


def test_mmaction_init_recognizer_refuses(server, hub):
    from mmaction.apis import init_recognizer
    with pytest.raises(CheckpointLoadError) as err:
        init_recognizer(
            TINY_VIDEO_CONFIG, f'{server["url"]}/evil.pth', device='cpu')
    _assert_refused(err.value, server)
    model = init_recognizer(
        TINY_VIDEO_CONFIG, f'{server["url"]}/stock.pth', device='cpu')
    for key, value in server['stock'].items():
        assert torch.equal(model.state_dict()[key], value)


def test_our_inference_apis_take_addresses(server, hub, tiny_video_data):
    """init_model, ModelInferencer and MultiTaskRecognizer load a benign
    address and refuse one with code, as tools/test.py does."""
    from mmadaptformer.apis import (ModelInferencer, MultiTaskRecognizer,
                                    init_model)
    evil, stock = f'{server["url"]}/evil.pth', f'{server["url"]}/stock.pth'
    with pytest.raises(CheckpointLoadError) as err:
        init_model(TINY_VIDEO_CONFIG, evil)
    _assert_refused(err.value, server)
    model, _ = init_model(TINY_VIDEO_CONFIG, stock)
    for key, value in server['stock'].items():
        assert torch.equal(model.state_dict()[key], value)
    with pytest.raises(CheckpointLoadError) as err:
        ModelInferencer(TINY_VIDEO_CONFIG, evil)
    _assert_refused(err.value, server)
    engine = MultiTaskRecognizer()
    engine.add_task('stock', TINY_VIDEO_CONFIG, stock)
    with pytest.raises(Exception) as err:
        engine.add_task('evil', TINY_VIDEO_CONFIG, evil)
    _assert_refused(err.value, server)
    assert engine.tasks == ['stock']
    with open(tiny_video_data['val']) as f:
        video = osp.join(tiny_video_data['videos'], f.readline().split()[0])
    alone = ModelInferencer(TINY_VIDEO_CONFIG, stock, name='stock')([video])
    assert engine([video]) == alone


def test_tools_refuse_addresses(server, tmp_path, tiny_video_data):
    """tools/test.py URL, --cfg-options load_from=URL, --resume URL and
    tools/infer.py URL."""
    cfg = write_config(tmp_path / 'cfg.py', TINY_VIDEO_CONFIG,
                       video_data_cfg(tiny_video_data))
    env = dict(TORCH_HOME=str(tmp_path / 'torch_home'))
    url = f'{server["url"]}/evil.pth'
    with open(tiny_video_data['val']) as f:
        video = osp.join(tiny_video_data['videos'], f.readline().split()[0])
    for args in (
        ['test.py', cfg, url, '--work-dir', tmp_path / 'test'],
        ['infer.py', cfg, url, video],
        [
            'train.py', cfg, '--work-dir', tmp_path / 'load_from',
            '--cfg-options', f'load_from={url}', 'train_cfg.max_epochs=1'
        ],
        [
            'train.py', cfg, '--work-dir', tmp_path / 'resume', '--resume',
            url, '--cfg-options', 'train_cfg.max_epochs=1'
        ],
    ):
        proc = run_tool(args, cwd=tmp_path, env=env, check=False)
        assert proc.returncode != 0, proc.stdout[-3000:]
        assert 'posix.system' in proc.stdout, proc.stdout[-3000:]
        assert 'refused for safety' in proc.stdout
        assert 'likely succeed' not in proc.stdout
        assert not server['marker'].exists(), 'the payload ran'
    assert not osp.exists(
        osp.join(env['TORCH_HOME'], 'hub', 'checkpoints', 'evil.pth'))


def test_scan_names_globals_without_running_them(server):
    for name in ('evil.pth', 'evil_legacy.pth'):
        found = scan_file_globals(
            str(server['root'] / name), only_disallowed=True)
        assert found == ['posix.system'], (name, found)
    # pickle.dump of a tensor rebuilds it with an unrestricted torch.load.
    found = scan_file_globals(
        str(server['root'] / 'evil_raw.pkl'), only_disallowed=True)
    assert found == ['torch.storage._load_from_bytes', 'posix.system']
    assert scan_file_globals(
        str(server['root'] / 'stock.pth'), only_disallowed=True) == []
    assert not server['marker'].exists()


@pytest.mark.parametrize('name',
                         ['evil.pth', 'evil_legacy.pth', 'evil_raw.pkl'])
def test_local_refusal_names_the_global_not_damage(server, name):
    """A raw pickle used to be reported as truncated, quoting PyTorch's
    advice to switch weights_only off."""
    path = str(server['root'] / name)
    with pytest.raises(CheckpointLoadError) as err:
        CheckpointLoader.load_checkpoint(path)
    _assert_refused(err.value, server, name)
    assert 'truncated' not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_mmpretrain_get_model_refuses(server, hub):
    from mmpretrain import get_model
    with pytest.raises(CheckpointLoadError) as err:
        get_model(TINY_IMAGE_CONFIG, pretrained=f'{server["url"]}/evil.pth')
    _assert_refused(err.value, server)


def test_reading_once_returns_what_the_scope_read(tmp_path):
    path = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': {'w': torch.ones(2)}}, path)
    with reading_once():
        first = CheckpointLoader.load_checkpoint(path, 'cpu')
        with reading_once():
            assert CheckpointLoader.load_checkpoint(path, 'cpu') is first
        # Another map location is another read.
        assert CheckpointLoader.load_checkpoint(path, None) is not first
        assert CheckpointLoader.load_checkpoint(path, 'cpu') is first
    # Outside the scope every call reads the file again.
    assert CheckpointLoader.load_checkpoint(path, 'cpu') is not first
    assert torch.equal(
        CheckpointLoader.load_checkpoint(path, 'cpu')['state_dict']['w'],
        first['state_dict']['w'])


class _CountingHandler(QuietHandler):
    """Counts the requests per method in the server's ``counts``."""

    def _count(self):
        counts = self.server.counts
        counts[self.command] = counts.get(self.command, 0) + 1

    def do_GET(self):
        self._count()
        super().do_GET()

    def do_HEAD(self):
        self._count()
        super().do_HEAD()


@contextlib.contextmanager
def _serving(root, handler=_CountingHandler):
    """Serve ``root``; the server's ``counts`` are its requests per
    method."""
    with serving(root, handler) as httpd:
        httpd.counts = {}
        yield httpd, httpd.url


def _warnings(records):
    return [r.getMessage() for r in records if r.levelno == logging.WARNING]


def test_a_file_that_changed_at_its_address_is_downloaded_again(
        tmp_path, hub, log_records):
    """A work dir's best.pth served over HTTP changes after another run:
    the cached copy is not used in its place. The server is asked with a
    HEAD request; offline, the cached copy is used with a warning."""
    root = tmp_path / 'served'
    root.mkdir()
    best = root / 'best.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, best)
    with _serving(root) as (httpd, url):
        url += '/best.pth'
        ckpt = CheckpointLoader.load_checkpoint(url)
        assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))
        record = (hub / 'best.pth.url').read_text()
        assert record.startswith(url + '\n') and 'last-modified: ' in record
        # Unchanged: asked, not downloaded again.
        CheckpointLoader.load_checkpoint(url)
        assert httpd.counts == {'GET': 1, 'HEAD': 1}
        assert _warnings(log_records) == []

        torch.save({'state_dict': {'w': torch.full((3, ), 2.)}}, best)
        stat = best.stat()
        os.utime(best, (stat.st_atime, stat.st_mtime + 10))
        ckpt = CheckpointLoader.load_checkpoint(url)
        assert torch.equal(ckpt['state_dict']['w'], torch.full((3, ), 2.))
        assert httpd.counts == {'GET': 2, 'HEAD': 2}
        assert (hub / 'best.pth').read_bytes() == best.read_bytes()
        warnings = _warnings(log_records)
        assert len(warnings) == 1 and warnings[0].startswith(
            f'{url} changed since it was downloaded to {hub / "best.pth"} '
            '(its last-modified was '), warnings

        # The file is gone from the server: the cached copy, with a
        # warning that says what the server answered.
        best.rename(root / 'moved.pth')
        ckpt = CheckpointLoader.load_checkpoint(url)
        assert torch.equal(ckpt['state_dict']['w'], torch.full((3, ), 2.))
        warnings = _warnings(log_records)
        assert len(warnings) == 2 and warnings[1] == (
            f'Using the cached copy {hub / "best.pth"} of {url}, which may '
            'be out of date: the server could not be asked whether the file '
            'changed (HTTP 404 File not found).'), warnings

    # The server is gone: the cached copy (the new one), with a warning.
    ckpt = CheckpointLoader.load_checkpoint(url)
    assert torch.equal(ckpt['state_dict']['w'], torch.full((3, ), 2.))
    warnings = _warnings(log_records)
    assert len(warnings) == 3 and warnings[2].startswith(
        f'Using the cached copy {hub / "best.pth"} of {url}, which may be '
        'out of date: the server could not be asked whether the file '
        'changed'), warnings


def test_a_name_with_a_hash_is_not_asked_again(tmp_path, hub, publisher):
    root = tmp_path / 'served'
    root.mkdir()
    plain = root / 'w.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, plain)
    hashed = root / _hashed_name(plain, 'w_20220101')
    hashed.write_bytes(plain.read_bytes())
    with _serving(root) as (httpd, url):
        for _ in range(3):
            CheckpointLoader.load_checkpoint(f'{url}/{hashed.name}')
        assert httpd.counts == {'GET': 1}


class _NoHeadHandler(_CountingHandler):
    """Refuses HEAD, as some servers and pre-signed links do."""

    def do_HEAD(self):
        self._count()
        self.send_error(405)


def test_a_server_that_refuses_head_is_asked_with_get(tmp_path, hub):
    root = tmp_path / 'served'
    root.mkdir()
    best = root / 'best.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, best)
    with _serving(root, _NoHeadHandler) as (httpd, url):
        url += '/best.pth'
        CheckpointLoader.load_checkpoint(url)
        torch.save({'state_dict': {'w': torch.full((3, ), 2.)}}, best)
        stat = best.stat()
        os.utime(best, (stat.st_atime, stat.st_mtime + 10))
        ckpt = CheckpointLoader.load_checkpoint(url)
        assert torch.equal(ckpt['state_dict']['w'], torch.full((3, ), 2.))
        # The download, the refused HEAD, the GET that asked, the download.
        assert httpd.counts == {'GET': 3, 'HEAD': 1}
