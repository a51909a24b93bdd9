# Copyright (c) mmadaptformer contributors. All rights reserved.
"""MMEngine checkpoints load with weights_only=True; code is refused, and
so is anything that could corrupt memory; damage is called damage."""
import argparse
import glob
import io
import json
import os
import os.path as osp
import pickle
import tarfile
import tracemalloc
import zipfile
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn as nn
from helpers import REPO_ROOT, run_fresh_python
from mmengine.evaluator import BaseMetric
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from numpy._core.multiarray import _reconstruct, scalar

from mmadaptformer.utils import CheckpointLoadError, safe_torch_load


class _TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='loss'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return [dict(pred=v) for v in out]


class _TinyMetric(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        return dict(count=float(sum(results)))


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory):
    """A checkpoint written by a real MMEngine Runner: message hub with
    HistoryBuffers and numpy scalars, optimizer and scheduler state."""
    work_dir = str(tmp_path_factory.mktemp('runner'))
    data = [dict(inputs=torch.randn(2), labels=0) for _ in range(8)]
    loader = dict(
        dataset=data,
        batch_size=4,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'))
    runner = Runner(
        model=_TinyModel(),
        work_dir=work_dir,
        train_dataloader=loader,
        val_dataloader=loader,
        val_evaluator=[_TinyMetric()],
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='CosineAnnealingLR', T_max=2),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        experiment_name='checkpoint_loading_test')
    runner.train()
    from mmengine.logging import MessageHub, MMLogger
    MMLogger._instance_dict.clear()
    MessageHub._instance_dict.clear()
    return osp.join(work_dir, 'epoch_2.pth')


# ``python -c CODE`` in a fresh process; stdout and stderr together.
_python = partial(run_fresh_python, timeout=120, separate_stderr=False)


def test_plain_torch_load_refuses_without_allow_list(mmengine_checkpoint):
    """The gap this package closes (STACK.md gap 2)."""
    proc = _python(f"""
        import torch
        torch.load({mmengine_checkpoint!r})
    """)
    assert proc.returncode != 0
    assert 'HistoryBuffer' in proc.stdout or 'getattr' in proc.stdout


def test_fresh_process_loads_mmengine_checkpoint(mmengine_checkpoint):
    # A fresh interpreter: HistoryBuffer has not filled its class-level
    # statistics table yet, exactly as on a real resume.
    proc = _python(f"""
        import mmadaptformer, torch
        from mmengine.runner import CheckpointLoader
        ckpt = CheckpointLoader.load_checkpoint({mmengine_checkpoint!r})
        hub = ckpt['message_hub']
        loss = hub['log_scalars']['train/loss']
        print('epoch', ckpt['meta']['epoch'], 'mean', loss.mean())
        print('keys', sorted(ckpt))
        # torch's own default stays weights_only=True.
        ckpt2 = torch.load({mmengine_checkpoint!r})
        print('same', torch.equal(ckpt2['state_dict']['linear.weight'],
                                  ckpt['state_dict']['linear.weight']))
    """)
    assert proc.returncode == 0, proc.stdout
    assert 'epoch 2 mean' in proc.stdout
    assert ("keys ['message_hub', 'meta', 'optimizer', 'param_schedulers', "
            "'state_dict']") in proc.stdout
    assert 'same True' in proc.stdout


class _SystemPayload:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class _GetattrPayload:

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init_subclass__'))


@pytest.mark.parametrize('loader', ['safe_torch_load', 'CheckpointLoader'])
def test_checkpoint_carrying_code_is_refused(tmp_path, loader):
    marker = tmp_path / 'payload_ran'
    path = str(tmp_path / 'evil.pth')
    torch.save(
        {
            'state_dict': {
                'w': torch.zeros(1)
            },
            'meta': _SystemPayload(marker)
        }, path)
    with pytest.raises(CheckpointLoadError) as err:
        if loader == 'safe_torch_load':
            safe_torch_load(path)
        else:
            CheckpointLoader.load_checkpoint(path)
    assert path in str(err.value)
    assert 'system' in str(err.value)
    assert 'nothing in it was executed' in str(err.value)
    assert not marker.exists()
    # Plain torch.load keeps refusing too: weights_only was not switched off.
    with pytest.raises(Exception, match='system'):
        torch.load(path)
    assert not marker.exists()


def _save_official_training(path, **extra):
    """As the official AdaptFormer/VideoMAE/MAE ``misc.save_model`` does:
    the training arguments as an ``argparse.Namespace`` beside the
    weights."""
    torch.save(
        dict(
            model={'w': torch.zeros(1)},
            epoch=3,
            args=argparse.Namespace(model='vit_base_patch16_224'),
            **extra), path)
    return path


@pytest.mark.parametrize('loader', ['safe_torch_load', 'CheckpointLoader'])
def test_official_training_checkpoint_is_refused_with_how_to_convert(
        tmp_path, loader):
    """Still refused (weights_only holds), but said to be an official
    checkpoint that convert_official.py converts, not a file to distrust."""
    path = _save_official_training(str(tmp_path / 'checkpoint 89.pth'))
    with pytest.raises(CheckpointLoadError) as err:
        if loader == 'safe_torch_load':
            safe_torch_load(path)
        else:
            CheckpointLoader.load_checkpoint(path)
    text = str(err.value)
    assert text.startswith(f'Refused to load checkpoint {path}: it carries '
                           'an argparse.Namespace, the training arguments '
                           'that the official AdaptFormer, VideoMAE and MAE '
                           'training scripts save'), text
    assert 'nothing in it was executed' in text
    # A command that runs as printed (the path has a space).
    assert ('Convert it first: python tools/model_converters/'
            f"convert_official.py '{path}' CONVERTED.pth;") in text, text
    assert 'the converted file holds only tensors' in text
    assert 'loads safely' in text
    assert 'Do not use this file' not in text
    assert 'weights_only=False' not in text and 'add_safe_globals' not in text


def test_namespace_beside_other_code_keeps_the_warning(tmp_path):
    marker = tmp_path / 'ran'
    path = _save_official_training(
        str(tmp_path / 'evil.pth'), meta=_SystemPayload(marker))
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(path)
    text = str(err.value)
    assert 'carries a reference to code (' in text, text
    assert 'posix.system' in text and 'Do not use this file' in text
    assert 'convert_official.py' not in text
    assert not marker.exists()


def test_getattr_is_only_allowed_for_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'evil_getattr.pth')
    torch.save({'x': _GetattrPayload()}, path)
    with pytest.raises(CheckpointLoadError, match='__init_subclass__'):
        safe_torch_load(path)


def test_truncated_checkpoint_names_the_file(tmp_path, mmengine_checkpoint):
    data = open(mmengine_checkpoint, 'rb').read()
    path = str(tmp_path / 'truncated.pth')
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(
            CheckpointLoadError, match='truncated or corrupted') as err:
        safe_torch_load(path)
    assert path in str(err.value)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        safe_torch_load(str(tmp_path / 'missing.pth'))


def test_weights_only_is_never_switched_off():
    sources = glob.glob(
        osp.join(REPO_ROOT, 'mmadaptformer', '**', '*.py'), recursive=True)
    sources += glob.glob(
        osp.join(REPO_ROOT, 'tools', '**', '*.py'), recursive=True)
    assert sources
    for path in sources:
        text = open(path).read()
        assert 'weights_only=False' not in text, path
        # The only mention: unsetting it while weights_only is forced on.
        for line in text.splitlines():
            if 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' in line:
                assert path.endswith('checkpoint_schemes.py'), path
                assert line.startswith('_FORCE_NO = '), line
        assert 'os.environ[_FORCE_NO]' not in text, path
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ


# --- numpy: nothing a checkpoint holds can corrupt memory -----------------


class _Reduce:
    """Pickles as ``reduce`` (func, args[, state]) as given."""

    def __init__(self, *reduce):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


def _dtype(code, state=None, args=None):
    """A numpy dtype pickled as numpy does, with ``state`` for
    ``__setstate__`` (numpy: ``(3, '<', None, None, None, -1, -1, 0)``)."""
    args = args or (code, False, True)
    return _Reduce(np.dtype, args) if state is None else \
        _Reduce(np.dtype, args, state)


def _array(dtype, raw):
    """A one-item array pickled as numpy does, with the given dtype."""
    return _Reduce(_reconstruct, (np.ndarray, (0, ), b'b'),
                   (1, (1, ), dtype, False, raw))


#: Every bool, integer, float and complex dtype numpy pickles, by the code
#: its pickles use.
_NUMERIC_CODES = ('b1', 'i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'f2',
                  'f4', 'f8', 'f16', 'c8', 'c16', 'c32')


def _malicious_states():
    """``__setstate__`` states that make a fresh numpy dtype lie about its
    memory: numpy trusted each of these (SIGSEGV or reads past the item)."""
    f8 = _dtype('f8')
    return {
        'fields_object': (3, '|', None, ('a', ), {
            'a': (_dtype('O8'), 0)
        }, -1, -1, 0),
        'fields_offset': (3, '|', None, ('a', ), {
            'a': (f8, 4096)
        }, -1, -1, 0),
        'subarray': (3, '|', (f8, (1 << 20, )), None, None, -1, -1, 0),
        'flags': (3, '<', None, None, None, -1, -1, 0x3f),
    }


def _numpy_attacks(root):
    """Write checkpoints that abuse numpy; return {name: (path, code)}."""
    files = {}

    def save(name, obj, code=None):
        path = osp.join(root, f'{name}.pth')
        torch.save({'meta': {'x': obj}}, path)
        files[name] = (path, code)

    for code in _NUMERIC_CODES:
        size = np.dtype(code).itemsize
        for kind, state in _malicious_states().items():
            save(f'{code}_{kind}', _array(_dtype(code, state), b'A' * size),
                 code)
    void_state = (3, '|', None, ('a', ), {'a': (_dtype('O8'), 0)}, 8, 1, 0)
    save('void_object_field_scalar',
         _Reduce(scalar, (_dtype('V8', void_state), b'A' * 8)))
    empty_state = (3, '<', None, None, None, -1, -1, 0)
    save('datetime_empty_state',
         _Reduce(scalar, (_dtype('M8', empty_state), b'A' * 8)))
    save('timedelta_empty_state',
         _Reduce(scalar, (_dtype('m8', empty_state), b'A' * 8)))
    save(
        'union_dtype',
        _array(
            _dtype('i8', args=(('i8', [('a', 'i8')]), False, True)), b'A' * 8))
    save('ndarray_object_over_bytes',
         _Reduce(np.ndarray, ((1, ), 'O', b'A' * 8)))
    save('ndarray_object_field_over_bytes',
         _Reduce(np.ndarray, ((1, ), [('a', 'O')], b'A' * 8)))
    return files


@pytest.fixture(scope='module')
def numpy_attack_results(tmp_path_factory):
    """Load every numpy attack in one fresh process (the old allow-list
    segfaulted on some), reporting what each load gave."""
    files = _numpy_attacks(str(tmp_path_factory.mktemp('numpy_attacks')))
    proc = _python(
        """
        import json, sys
        import numpy as np
        import mmadaptformer
        from mmadaptformer.utils import CheckpointLoadError, safe_torch_load
        for name, path in json.loads(sys.argv[1]).items():
            try:
                x = safe_torch_load(path)['meta']['x']
            except CheckpointLoadError as e:
                print(json.dumps([name, 'refused', str(e)]), flush=True)
                continue
            d = x.dtype
            print(json.dumps([name, 'loaded', dict(
                type=type(x).__name__, str=d.str, shared=d is np.dtype(d.char),
                fields=d.fields is not None, sub=d.subdtype is not None,
                flags=d.flags, itemsize=d.itemsize)]), flush=True)
    """, json.dumps({name: path
                     for name, (path, _) in files.items()}))
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith('["'):
            name, outcome, detail = json.loads(line)
            results[name] = (outcome, detail)
    assert proc.returncode == 0, (sorted(results), proc.stdout[-3000:])
    return files, results


def test_numeric_dtype_state_cannot_change_the_dtype(numpy_attack_results):
    """For each numeric dtype kept on the allow-list, the state a pickle
    sends either cannot change it (it is numpy's shared dtype) or is
    refused (an object field needs the object dtype)."""
    files, results = numpy_attack_results
    checked = 0
    for name, (_, code) in files.items():
        if code is None:
            continue
        outcome, detail = results[name]
        expected = np.dtype(code)
        if outcome == 'refused':
            assert name.endswith('fields_object'), (name, detail)
            assert 'numpy.dtypes.ObjectDType' in detail, detail
            continue
        assert detail == dict(
            type='ndarray',
            str=expected.str,
            shared=True,
            fields=False,
            sub=False,
            flags=expected.flags,
            itemsize=expected.itemsize), name
        checked += 1
    assert checked == 3 * len(_NUMERIC_CODES)


@pytest.mark.parametrize('name, named', [
    ('void_object_field_scalar', 'numpy.dtypes.VoidDType'),
    ('datetime_empty_state', 'numpy.dtypes.DateTime64DType'),
    ('timedelta_empty_state', 'numpy.dtypes.TimeDelta64DType'),
    ('union_dtype', "('i8', [('a', 'i8')])"),
    ('ndarray_object_over_bytes', 'numpy.ndarray(...)'),
    ('ndarray_object_field_over_bytes', 'numpy.ndarray(...)'),
])
def test_numpy_layouts_from_the_file_are_refused(numpy_attack_results, name,
                                                 named):
    files, results = numpy_attack_results
    outcome, detail = results[name]
    assert outcome == 'refused', (name, detail)
    assert detail.startswith(f'Refused to load checkpoint {files[name][0]}')
    assert named in detail
    assert 'nothing in it was executed' in detail
    assert 'weights_only=False' not in detail


@pytest.mark.parametrize('value, named', [
    (np.array(['hello']), 'numpy.dtypes.StrDType'),
    (np.array([b'hello']), 'numpy.dtypes.BytesDType'),
    (np.array(['2020-01-01'], dtype='M8[D]'), 'numpy.dtypes.DateTime64DType'),
    (np.float64(1.5).astype('m8[s]'), 'numpy.dtypes.TimeDelta64DType'),
    (np.zeros(1, dtype=[('a', 'f4')]), 'numpy.dtypes.VoidDType'),
    (np.array([None, 1], dtype=object), 'numpy.dtypes.ObjectDType'),
])
def test_numpy_values_outside_numbers_are_refused_clearly(
        tmp_path, value, named):
    """What is left out of the allow-list, and how its refusal reads."""
    path = str(tmp_path / 'strings.pth')
    torch.save({'meta': {'names': value}}, path)
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(path)
    text = str(err.value)
    assert text.startswith(f'Refused to load checkpoint {path}: Refused '
                           f'numpy dtype ')
    assert named in text
    assert 'only numpy arrays and scalars of bool, integer, float and ' \
        'complex dtypes' in text
    assert 'Store such values as Python lists, str or tensors' in text


def test_numeric_numpy_values_load_unchanged(tmp_path):
    values = {code: np.arange(3).astype(code) for code in _NUMERIC_CODES}
    values.update(
        scalar_f8=np.float64(2.5),
        scalar_i8=np.int64(-3),
        scalar_b1=np.bool_(True),
        matrix=np.arange(6, dtype='u2').reshape(2, 3),
        fortran=np.asfortranarray(np.arange(6.).reshape(2, 3)))
    path = str(tmp_path / 'numbers.pth')
    torch.save({'meta': values}, path)
    loaded = safe_torch_load(path)['meta']
    for key, value in values.items():
        assert type(loaded[key]) is type(value), key
        assert loaded[key].dtype == value.dtype, key
        assert loaded[key].dtype is np.dtype(value.dtype.char), key
        np.testing.assert_array_equal(loaded[key], value)
    assert loaded['fortran'].flags.f_contiguous


def test_non_native_byte_order_is_refused_not_misread(tmp_path):
    """numpy's shared dtypes cannot take a byte order from the file, so a
    big-endian array would load byte-swapped; it is refused instead."""
    foreign = '>' if np.little_endian else '<'
    path = str(tmp_path / 'swapped.pth')
    torch.save(
        {
            'meta': {
                'native': np.arange(3.),
                'swapped': np.arange(3.).astype(f'{foreign}i4')
            }
        }, path)
    with pytest.raises(
            CheckpointLoadError, match='non-native byte order') as err:
        safe_torch_load(path)
    assert path in str(err.value)
    native = str(tmp_path / 'native.pth')
    torch.save({'meta': {'a': np.arange(3.), 'b': np.arange(3)}}, native)
    np.testing.assert_array_equal(
        safe_torch_load(native)['meta']['a'], np.arange(3.))


class _BigBytes:

    def __reduce__(self):
        return bytes, (10**12, )


def test_empty_numpy_arrays_load_and_bytes_builds_nothing_else(tmp_path):
    """Protocol 2 writes ``b''`` (an empty array's data) as ``bytes()``,
    which PyTorch's own list refuses: a HistoryBuffer without values loads,
    while ``bytes(n)`` from a file is refused before it allocates."""
    path = str(tmp_path / 'empty.pth')
    torch.save(
        {
            'meta': {
                'empty': np.zeros((0, 3), 'f4'),
                'none': b''
            },
            'buffer': HistoryBuffer()
        }, path)
    loaded = safe_torch_load(path)
    assert loaded['meta']['empty'].shape == (0, 3)
    assert loaded['meta']['empty'].dtype == np.float32
    assert loaded['meta']['none'] == b''
    assert loaded['buffer'].data[0].size == 0
    big = str(tmp_path / 'big.pth')
    torch.save({'meta': _BigBytes()}, big)
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(big)
    assert 'Refused bytes(1000000000000)' in str(err.value)
    assert 'weights_only=False' not in str(err.value)


def test_mmengine_message_hub_numbers_keep_their_values(mmengine_checkpoint):
    checkpoint = safe_torch_load(mmengine_checkpoint)
    hub = checkpoint['message_hub']
    history = hub['log_scalars']['train/loss']
    assert isinstance(history, HistoryBuffer)
    assert history._log_history.dtype is np.dtype('f8')
    assert len(history._log_history) == 4
    assert np.isfinite(history.mean())
    numbers = [
        value for value in hub['runtime_info'].values()
        if isinstance(value, np.generic)
    ]
    assert numbers, hub['runtime_info']


@pytest.mark.parametrize('entry', [
    np.dtype, np.ndarray, np.dtypes.VoidDType, (np.dtype, 'numpy.dtype'),
    (_reconstruct, 'numpy._core.multiarray._reconstruct'),
    (getattr, 'builtins.getattr'), (getattr, '__builtin__.getattr')
])
def test_unguarded_globals_allowed_elsewhere_stop_loading(tmp_path, entry):
    """PyTorch keeps one callable per name: numpy's own or the real
    ``getattr``, allow-listed by other code, could replace the guards."""
    path = str(tmp_path / 'numbers.pth')
    torch.save({'meta': {'a': np.arange(3.)}}, path)
    safe_torch_load(path)
    with torch.serialization.safe_globals([entry]):
        with pytest.raises(CheckpointLoadError) as err:
            safe_torch_load(path)
    name = entry[1] if isinstance(entry, tuple) else \
        f'numpy.{"dtypes." * (entry is np.dtypes.VoidDType)}{entry.__name__}'
    assert str(err.value).startswith(f'Not loading checkpoint {path}: '
                                     f"PyTorch's weights_only allow-list "
                                     f'also holds {name}')
    np.testing.assert_array_equal(
        safe_torch_load(path)['meta']['a'], np.arange(3.))


# --- damage is reported as damage, refusals name what was refused ---------


def _rewrite_zip(src, dst, drop=(), replace=None):
    """Copy a torch.save archive, without ``drop`` and with ``replace``
    {suffix: bytes} for the records whose names end so."""
    replace = replace or {}
    with zipfile.ZipFile(src) as archive, zipfile.ZipFile(dst, 'w') as out:
        for info in archive.infolist():
            if any(info.filename.endswith(suffix) for suffix in drop):
                continue
            data = archive.read(info)
            for suffix, new in replace.items():
                if info.filename.endswith(suffix):
                    data = new
            out.writestr(info, data)


def _data_pkl(path):
    with zipfile.ZipFile(path) as archive:
        return archive.read(
            next(n for n in archive.namelist() if n.endswith('/data.pkl')))


def _damaged(kind, src, dst):
    if kind == 'missing_storage':
        _rewrite_zip(src, dst, drop=['/data/0'])
    elif kind == 'short_storage':
        _rewrite_zip(src, dst, replace={'/data/0': b'\0' * 4})
    elif kind == 'truncated_data_pkl':
        data = _data_pkl(src)
        _rewrite_zip(src, dst, replace={'/data.pkl': data[:len(data) // 2]})
    else:  # a legacy-format file cut in half
        buffer = io.BytesIO()
        torch.save(
            safe_torch_load(src), buffer, _use_new_zipfile_serialization=False)
        with open(dst, 'wb') as f:
            f.write(buffer.getvalue()[:len(buffer.getvalue()) // 2])


@pytest.mark.parametrize('kind', [
    'missing_storage', 'short_storage', 'truncated_data_pkl',
    'truncated_legacy'
])
def test_damaged_mmengine_checkpoint_is_reported_as_damage(
        tmp_path, mmengine_checkpoint, kind):
    """Every MMEngine checkpoint refers to ``_codecs.encode`` (PyTorch's
    allow-list has it); damage used to be reported as code."""
    path = str(tmp_path / f'{kind}.pth')
    _damaged(kind, mmengine_checkpoint, path)
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(path)
    text = str(err.value)
    assert text.startswith(f'Checkpoint file {path} (')
    assert 'is truncated or corrupted' in text
    assert 'Refused' not in text and '_codecs' not in text, text


def test_code_in_a_real_checkpoint_is_the_only_name_given(
        tmp_path, mmengine_checkpoint):
    checkpoint = safe_torch_load(mmengine_checkpoint)
    checkpoint['meta']['x'] = _SystemPayload(tmp_path / 'ran')
    path = str(tmp_path / 'evil.pth')
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(path)
    assert 'carries a reference to code (posix.system), which' in str(
        err.value)
    assert not (tmp_path / 'ran').exists()


class _InitWalk:

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_refused_getattr_in_a_real_checkpoint_says_so(tmp_path,
                                                      mmengine_checkpoint):
    checkpoint = safe_torch_load(mmengine_checkpoint)
    checkpoint['meta']['x'] = _InitWalk()
    path = str(tmp_path / 'walk.pth')
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(path)
    text = str(err.value)
    assert text.startswith(f'Refused to load checkpoint {path}: Refused '
                           f"getattr('HistoryBuffer', '__init__')")
    assert 'carries a reference to code' not in text, text


def test_pickle_dump_of_a_tensor_is_refused_with_the_reason(tmp_path):
    path = str(tmp_path / 'raw.pkl')
    with open(path, 'wb') as f:
        # Protocol 2 (torch.save's): PyTorch reads up to the global.
        pickle.dump({'w': torch.zeros(2)}, f, protocol=2)
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(path)
    text = str(err.value)
    assert 'code (torch.storage._load_from_bytes)' in text
    assert 'how pickle.dump, unlike torch.save, writes a tensor' in text
    # PyTorch's text advises allow-listing the global; never passed on.
    assert 'add_safe_globals' not in text


def test_legacy_tar_checkpoint_says_what_it_is(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(
            fileobj=buffer, mode='w:', format=tarfile.PAX_FORMAT) as tar:
        data = pickle.dumps({})
        info = tarfile.TarInfo('pickle')
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path = str(tmp_path / 'old.pth')
    with open(path, 'wb') as f:
        f.write(buffer.getvalue())
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(path)
    text = str(err.value)
    assert text.startswith(f'Checkpoint file {path} is in the legacy tar '
                           f'format of torch < 0.4')
    assert 'weights_only=True cannot read' in text
    assert 'weights_only=False' not in text and 'likely succeed' not in text


def test_special_files_are_not_read(tmp_path):
    fifo = str(tmp_path / 'fifo.pth')
    os.mkfifo(fifo)
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(fifo)
    assert str(err.value).startswith(
        f'Checkpoint {fifo} is not a regular file (it is a FIFO')
    with pytest.raises(CheckpointLoadError, match='it is a directory'):
        safe_torch_load(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='not found'):
        safe_torch_load(str(tmp_path / 'missing.pth'))


# --- a failed load reads only what PyTorch reads, and boundedly ----------


def _stock_archive(path, records):
    """A torch.save archive, deflated, with ``records`` {name: [(chunk,
    count), ...]} written in chunks (never whole in memory): ``data.pkl``
    replaces PyTorch's, other names are added."""
    buffer = io.BytesIO()
    torch.save({'w': torch.zeros(2)}, buffer)
    with zipfile.ZipFile(buffer) as src, \
            zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as out:
        folder = src.namelist()[0].split('/')[0]
        names = [info.filename for info in src.infolist()]
        names += [
            f'{folder}/{name}' for name in records
            if f'{folder}/{name}' not in names
        ]
        for name in names:
            pieces = records.get(name.split('/', 1)[1])
            if pieces is None:
                out.writestr(name, src.read(name))
                continue
            with out.open(name, 'w', force_zip64=True) as record:
                for chunk, count in pieces:
                    for _ in range(count):
                        record.write(chunk)


def test_inflating_record_is_not_read(tmp_path):
    """A 64 MiB record deflated to 64 KB beside a broken data.pkl: PyTorch
    never reads it, and the scan after the failure must not either."""
    path = str(tmp_path / 'bomb.pth')
    _stock_archive(path, {
        'data.pkl': [(b'\x80\x02', 1)],
        'zz.pkl': [(bytes(1 << 20), 64)]
    })
    tracemalloc.start()
    try:
        with pytest.raises(
                CheckpointLoadError, match='truncated or corrupted'):
            safe_torch_load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak


def test_pickled_data_past_the_scan_limit_is_said(tmp_path):
    """PyTorch stops at the first opcode (INT, which it does not know); the
    scan would go on through a 70 MiB string: it stops at 64 MiB and says
    so."""
    length = 70 << 20
    path = str(tmp_path / 'long.pth')
    _stock_archive(
        path, {
            'data.pkl': [(b'\x80\x02I0\nX' + length.to_bytes(4, 'little'), 1),
                         (b'a' * (1 << 20), length >> 20), (b'.', 1)]
        })
    with pytest.raises(CheckpointLoadError) as err:
        safe_torch_load(path)
    text = str(err.value)
    assert text.startswith(f'Checkpoint file {path} (')
    assert 'larger than this loader reads to tell a damaged file from one ' \
        'that carries code (it stopped after 67108864 bytes)' in text
    assert 'truncated' not in text
