# Copyright (c) mmadaptformer contributors. All rights reserved.
"""``convert_official.py`` reads every file the nested-weights refusals
send to it.

``tools/test.py``, ``load_from``, ``--resume`` and ``--pretrained`` refuse
a file whose weights are nested under one key (``weights_nesting``) and
advise ``convert_official.py SRC DST``. The tool looked under
``'state_dict'``, ``'model'`` and ``'module'`` only, one level deep, so it
refused ``{'state_dict': {'model': sd}}`` (an official checkpoint re-saved
by MMEngine code) and ``{'model_ema': sd}`` with "is not a state dict",
although the refusal that named the file had found the weights.
"""
import pytest
import torch
from test_converters import official_video
from tool_modules import load_tool

from mmadaptformer.utils.weights_nesting import (CONVERT_ADVICE,
                                                 nested_weights_cause)

LAYOUTS = {
    'state_dict-model': lambda sd: {
        'state_dict': {
            'model': sd
        },
        'meta': {}
    },
    'state_dict-module': lambda sd: {
        'state_dict': {
            'module': sd
        }
    },
    'model_ema': lambda sd: {
        'model_ema': sd,
        'epoch': 3
    },
    'state_dict_ema': lambda sd: {
        'state_dict_ema': sd
    },
}
WHERE = {
    'state_dict-model': "checkpoint['state_dict']['model']",
    'state_dict-module': "checkpoint['state_dict']['module']",
    'model_ema': "checkpoint['model_ema']",
    'state_dict_ema': "checkpoint['state_dict_ema']",
}


@pytest.mark.parametrize('layout', list(LAYOUTS))
def test_a_file_the_refusals_send_here_converts(layout, tmp_path, capsys):
    tool = load_tool('model_converters/convert_official.py')
    sd = official_video()
    checkpoint = LAYOUTS[layout](sd)
    # The refusal of every loading path names it nested and sends it here.
    cause = nested_weights_cause(checkpoint.get('state_dict', checkpoint))
    assert cause is not None and cause.endswith(CONVERT_ADVICE)

    bare, src = str(tmp_path / 'bare.pth'), str(tmp_path / 'nested.pth')
    torch.save(sd, bare)
    torch.save(checkpoint, src)
    tool.main([bare, str(tmp_path / 'bare_out.pth')])
    tool.main([src, str(tmp_path / 'out.pth')])
    assert f'Read {len(sd)} tensors from {WHERE[layout]} of {src}' in (
        capsys.readouterr().out)
    expected = torch.load(str(tmp_path / 'bare_out.pth'))['state_dict']
    converted = torch.load(str(tmp_path / 'out.pth'))['state_dict']
    assert list(converted) == list(expected)
    assert all(torch.equal(converted[k], expected[k]) for k in expected)


def test_a_dict_without_weights_is_still_refused(tmp_path):
    """Guard of kept behaviour: a ``'state_dict'`` that nests no tensors
    (an optimizer-like dict of dicts) is refused, naming where."""
    tool = load_tool('model_converters/convert_official.py')
    src = str(tmp_path / 'no_weights.pth')
    torch.save({'state_dict': {'state': {0: {'step': torch.ones(1)}}}}, src)
    with pytest.raises(SystemExit) as error:
        tool.main([src, str(tmp_path / 'out.pth')])
    assert (f"Error: cannot convert {src}: checkpoint['state_dict'] is not "
            "a state dict: it holds non-tensor entries ['state']") in str(
                error.value)


def _two_models(tmp_path):
    """A DINO-like file (``student`` and ``teacher`` weights, neither under
    a known key) and the bare teacher, converted for comparison."""
    tool = load_tool('model_converters/convert_official.py')
    student = official_video()
    teacher = {
        k: v + 1 if v.is_floating_point() else v
        for k, v in student.items()
    }
    bare = str(tmp_path / 'teacher.pth')
    torch.save(teacher, bare)
    tool.main([bare, str(tmp_path / 'teacher_out.pth')])
    return tool, student, teacher


@pytest.mark.parametrize('under_state_dict', [False, True])
def test_weights_under_several_unknown_keys_are_refused_not_guessed(
        tmp_path, under_state_dict):
    """The file's order would pick ``student``; which model the user wants
    is theirs to say, so nothing is written and ``--key`` is named."""
    tool, student, teacher = _two_models(tmp_path)
    both = {'student': student, 'teacher': teacher}
    src, dst = str(tmp_path / 'dino.pth'), tmp_path / 'out.pth'
    torch.save({'state_dict': both} if under_state_dict else dict(
        both, epoch=3, optimizer={'state': {}}), src)
    with pytest.raises(SystemExit) as error:
        tool.main([src, str(dst)])
    where = ("checkpoint['state_dict']" if under_state_dict else 'checkpoint')
    assert str(error.value) == (
        f'Error: cannot convert {src}: {where} holds weights under several '
        "keys, ['student', 'teacher'], and none is one of ['model', "
        "'module', 'model_ema', 'state_dict_ema']: name the one to convert "
        'with --key (e.g. --key student).')
    assert not dst.exists()


@pytest.mark.parametrize('under_state_dict', [False, True])
def test_key_names_the_weights_to_convert(tmp_path, capsys, under_state_dict):
    tool, student, teacher = _two_models(tmp_path)
    both = {'student': student, 'teacher': teacher}
    src, dst = str(tmp_path / 'dino.pth'), str(tmp_path / 'out.pth')
    torch.save({'state_dict': both} if under_state_dict else both, src)
    tool.main([src, dst, '--key', 'teacher'])
    where = ("checkpoint['state_dict']['teacher']"
             if under_state_dict else "checkpoint['teacher']")
    assert f'Read {len(teacher)} tensors from {where} of {src}' in (
        capsys.readouterr().out)
    expected = torch.load(str(tmp_path / 'teacher_out.pth'))['state_dict']
    converted = torch.load(dst)['state_dict']
    assert list(converted) == list(expected)
    assert all(torch.equal(converted[k], expected[k]) for k in expected)


def test_a_key_the_file_lacks_names_the_keys_that_hold_weights(tmp_path):
    tool, student, teacher = _two_models(tmp_path)
    src = str(tmp_path / 'dino.pth')
    torch.save({'state_dict': {'student': student}, 'teacher': teacher}, src)
    with pytest.raises(SystemExit) as error:
        tool.main([src, str(tmp_path / 'out.pth'), '--key', 'ema'])
    assert str(error.value) == (
        f"Error: cannot convert {src}: --key 'ema': the checkpoint has no "
        "dict under 'ema', at its top level or under 'state_dict'. The keys "
        "that hold weights are ['teacher', 'state_dict.student']; the "
        "top-level keys are ['state_dict', 'teacher'].")


def test_a_known_key_beside_another_is_taken_as_before(tmp_path, capsys):
    """Guard of kept behaviour: ``model_ema`` beside ``teacher`` is the
    documented first choice, not an ambiguity."""
    tool, student, teacher = _two_models(tmp_path)
    src = str(tmp_path / 'ema.pth')
    torch.save({'teacher': teacher, 'model_ema': student}, src)
    tool.main([src, str(tmp_path / 'out.pth')])
    assert f"from checkpoint['model_ema'] of {src}" in capsys.readouterr().out
