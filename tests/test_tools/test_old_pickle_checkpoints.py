# Copyright (c) mmadaptformer contributors. All rights reserved.
"""Pickles the safe loader can never read are named, with how to re-save
them, on every loading path.

A ``torch.save`` file in the legacy (non-zip) format written with pickle
protocol 0 or 1 starts with torch.save's magic number as a text ``LONG``
opcode, which PyTorch's weights-only unpickler does not know: it was
called "truncated or corrupted and cannot be read (UnpicklingError:
Unsupported operand 76)". A pickle that ``pickle.dump`` wrote (numpy
weights, say) was called the same ("Unsupported operand 100", "Invalid
magic number; corrupt file?"). Now each is named for what it is, and the
advice, followed, gives a file that loads. Files that carry code are
still refused as such.
"""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.runner import CheckpointLoader
from refusal_lines import NOTHING_CLASSIFIED

from mmadaptformer import apis
from mmadaptformer.utils import CheckpointLoadError, safe_torch_load

RESAVE = ('If you trust where it came from, re-save it there: in the '
          'environment that wrote it, read it with {load}{then} and save '
          "the object with torch.save's defaults (a zip archive, pickle "
          'protocol 2), which this loader reads.')
TO_TENSORS = ', turn its numpy arrays into tensors (torch.from_numpy)'
NEVER = ('weights_only=False', 'truncated or corrupted')


def _legacy(protocol, tensors=True):
    what = (f'is a torch.save file in the legacy (non-zip) format written '
            f'with pickle protocol {protocol} (torch.save(..., '
            f'_use_new_zipfile_serialization=False, pickle_protocol='
            f'{protocol}) writes one), which the safe loader cannot read: '
            f"PyTorch's weights-only unpickler does not know the text "
            f'opcodes of protocols 0 and 1')
    if protocol == 0 and tensors:
        # No torch.load reads it: the advice is not to re-save it.
        what += ('; nor can torch.load, in any mode or version: protocol 0 '
                 'writes the ids of its tensors as text, and torch.load '
                 'reads them only as tuples')
        advice = ('Save the weights again from where they came from (the '
                  'model or the checkpoint it was saved from) with '
                  "torch.save's defaults (a zip archive, pickle protocol 2), "
                  'which this loader reads.')
    else:
        advice = RESAVE.format(load='torch.load', then='')
    return (f'{what}. It was not loaded (UnpicklingError: Unsupported '
            f'operand 76), and nothing in it was executed. {advice}')


def _plain(protocol, detail):
    return (f'is a pickle of protocol {protocol} that torch.save did not '
            f"write (pickle.dump writes such files; torch.save's start with "
            f'its magic number), not a checkpoint: torch.load reads only '
            f"torch.save's files. It was not loaded ({detail}), and nothing "
            f'in it was executed. ' +
            RESAVE.format(load='pickle.load', then=TO_TENSORS))


@pytest.fixture(scope='module')
def old_files(tmp_path_factory, stock_video_model):
    """The stock model's checkpoint in the legacy format of protocols 0
    and 1, its meta alone in protocol 0, and its weights as numpy arrays
    in pickle.dump's files of protocols 0 and 2; each with the message it
    gets and the object it holds."""
    root = tmp_path_factory.mktemp('old_pickles')
    checkpoint = safe_torch_load(stock_video_model['checkpoint'])
    numpy_weights = {
        'state_dict':
        {k: v.numpy()
         for k, v in checkpoint['state_dict'].items()}
    }
    files = {}
    meta_only = dict(meta=checkpoint['meta'])
    for kind, obj, protocol in (('legacy0', checkpoint, 0),
                                ('legacy1', checkpoint, 1), ('legacy0_meta',
                                                             meta_only, 0)):
        path = str(root / f'{kind}.pth')
        torch.save(
            obj,
            path,
            pickle_protocol=protocol,
            _use_new_zipfile_serialization=False)
        files[kind] = (path, _legacy(protocol, 'state_dict' in obj), obj)
    for protocol, detail in ((0, 'UnpicklingError: Unsupported operand 100'),
                             (2, 'RuntimeError: Invalid magic number; '
                              'corrupt file?')):
        path = str(root / f'plain{protocol}.pkl')
        with open(path, 'wb') as f:
            pickle.dump(numpy_weights, f, protocol=protocol)
        expected = _plain(protocol, detail)
        files[f'plain{protocol}'] = (path, expected, numpy_weights)
    return files


def _check(message, path, expected):
    assert message.startswith(f'Checkpoint file {path} '), message
    assert message.endswith(expected), message
    for words in NEVER:
        assert words not in message, message


@pytest.mark.parametrize(
    'kind', ['legacy0', 'legacy1', 'legacy0_meta', 'plain0', 'plain2'])
def test_an_old_pickle_is_named_on_every_loading_path(kind, old_files,
                                                      stock_video_model,
                                                      tiny_video_data, infer,
                                                      tmp_path, capsys,
                                                      clean_loggers):
    path, expected, _ = old_files[kind]
    for load in (safe_torch_load, CheckpointLoader.load_checkpoint):
        with pytest.raises(CheckpointLoadError) as info:
            load(path)
        _check(str(info.value), path, expected)
    config = stock_video_model['config']
    with pytest.raises(CheckpointLoadError) as info:
        apis.init_model(config, path)
    _check(str(info.value), path, expected)
    video = os.path.join(tiny_video_data['videos'],
                         sorted(os.listdir(tiny_video_data['videos']))[0])
    out = tmp_path / 'r.json'
    assert infer([config, path, video, '--out', str(out)]) == 1
    # Nothing could be loaded: no results file, the error on stderr.
    assert not out.exists()
    err = capsys.readouterr().err
    assert 'model tiny: ERROR ' in err and expected in err, err
    assert err.strip().splitlines()[-1].startswith(NOTHING_CLASSIFIED), err


@pytest.mark.parametrize(
    'kind', ['legacy0', 'legacy1', 'legacy0_meta', 'plain0', 'plain2'])
def test_the_advice_followed_gives_a_file_that_loads(kind, old_files,
                                                     stock_video_model,
                                                     tmp_path, clean_loggers):
    """Done as the message says, where the file was written: there
    torch.load (a PyTorch before 2.6) or pickle.load unpickled without an
    allow-list, stood in for here since these files are the test's own.
    A protocol-0 file with tensors cannot be read there either: the
    advice is to save again from the source."""
    path, _, source = old_files[kind]
    with pytest.raises(CheckpointLoadError) as info:
        safe_torch_load(path)
    message = str(info.value)
    if 'Save the weights again from where they came from' in message:
        with pytest.raises(AssertionError, match='saved_id must be a tuple'):
            torch.load(path, weights_only=False)
        obj = source
    elif 'read it with torch.load and save' in message:
        obj = torch.load(path, weights_only=False)
    else:
        assert f'read it with pickle.load{TO_TENSORS} and save' in message, \
            message
        with open(path, 'rb') as f:
            obj = pickle.load(f)
        obj['state_dict'] = {
            k: torch.from_numpy(v)
            for k, v in obj['state_dict'].items()
        }
    resaved = str(tmp_path / 'resaved.pth')
    torch.save(obj, resaved)
    loaded = safe_torch_load(resaved)
    if 'state_dict' not in source:
        assert loaded == source
        return
    weights = safe_torch_load(stock_video_model['checkpoint'])['state_dict']
    assert set(loaded['state_dict']) == set(weights)
    for key, value in weights.items():
        assert np.array_equal(np.asarray(loaded['state_dict'][key]), value)
    model, _ = apis.init_model(stock_video_model['config'], resaved)
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), key


def test_old_pickles_that_carry_code_are_still_refused(tmp_path):
    """Guards kept behaviour: a legacy protocol-0 file and a protocol-0
    pickle that name code are refused for what they name, not called old
    pickles, and nothing in them runs."""
    marker = tmp_path / 'RAN'
    legacy = tmp_path / 'legacy_code.pth'
    torch.save({'meta': os.system},
               str(legacy),
               pickle_protocol=0,
               _use_new_zipfile_serialization=False)
    plain = tmp_path / 'plain_code.pkl'
    plain.write_bytes(b'c' + os.name.encode() + b'\nsystem\n(S"touch ' +
                      str(marker).encode() + b'"\ntR.')
    for path in (legacy, plain):
        with pytest.raises(CheckpointLoadError) as info:
            safe_torch_load(str(path))
        message = str(info.value)
        assert message.startswith(f'Refused to load checkpoint {path}: '), \
            message
        assert 'system' in message
        assert 'pickle of protocol' not in message
        assert 'legacy (non-zip)' not in message
    assert not marker.exists()


def test_a_damaged_zip_archive_is_not_called_a_pickle(tmp_path):
    """torch.load reads a file that starts as a zip archive as one, never
    as pickles, though its ``P`` is protocol 0's PERSID opcode: these
    bytes read on as a whole pickle."""
    path = tmp_path / 'cut.pth'
    path.write_bytes(b"PK\x03\x04(dp0\nS'a'\np1\nI1\ns.")
    with pytest.raises(CheckpointLoadError) as info:
        safe_torch_load(str(path))
    assert 'pickle of protocol' not in str(info.value)
    assert 'is truncated or corrupted' in str(info.value)
