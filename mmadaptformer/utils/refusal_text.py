# Copyright (c) mmadaptformer contributors. All rights reserved.
"""The text of a checkpoint refused for safety, or found damaged.

It names what was refused (a global such as ``posix.system``, or the
sentence of one of :mod:`.checkpoint_loading`'s guards) and never passes on
PyTorch's advice to turn ``weights_only`` off. An official training
checkpoint, refused only for the ``argparse.Namespace`` its scripts save,
is told how to convert it instead.
"""
import re
import shlex
from typing import List, Sequence

__all__ = ['REFUSAL_KEYS', 'error_detail', 'refusal_message', 'refusal_reason']

#: Lines of PyTorch's refusal text that are generic advice, never shown: one
#: of them suggests turning ``weights_only`` off, which must never reach a
#: user as a way out of a security refusal.
_TORCH_ADVICE = ('weights_only', 'Weights only load failed',
                 'Please file an issue', 'Check the documentation of')
#: How PyTorch's messages name a refused global.
_TORCH_GLOBAL = re.compile(r'GLOBAL (\S+)')
#: What marks an ``UnpicklingError`` of PyTorch as a refusal of content
#: rather than damage: a global, one of this module's guards ("Refused
#: ..."), or a call or state outside the allow-list.
REFUSAL_KEYS = ('GLOBAL', 'Refused', 'Can only build',
                'Can only create new object', 'unrecognized function')


def _cleaned_lines(message: str) -> List[str]:
    return [
        line.strip().replace('WeightsUnpickler error: ', '')
        for line in message.splitlines() if line.strip()
    ]


def refusal_reason(message: str) -> str:
    """What PyTorch's refusal says was refused.

    Args:
        message (str): The text of PyTorch's ``UnpicklingError``.

    Returns:
        str: The refused global's ``module.name``, or the line that
        explains the refusal (one of this module's guards), without
        PyTorch's advice.
    """
    lines = [
        line for line in _cleaned_lines(message)
        if not any(advice in line for advice in _TORCH_ADVICE)
    ]
    for line in lines:
        if line.startswith('Refused'):
            return line
    for line in lines:
        match = _TORCH_GLOBAL.search(line)
        if match:
            return match.group(1)
    return lines[0] if lines else 'an object outside the allow-list'


def error_detail(error: BaseException) -> str:
    """One line about ``error`` without PyTorch's generic advice."""
    lines = [
        line for line in _cleaned_lines(str(error))
        if not any(advice in line for advice in _TORCH_ADVICE)
    ]
    return f'{type(error).__name__}: {lines[0]}' if lines else \
        type(error).__name__


#: What the official AdaptFormer, VideoMAE and MAE training scripts save
#: next to the weights: their command-line arguments (``misc.save_model``).
_OFFICIAL_ARGS = 'argparse.Namespace'


def _official_refusal_message(source: str) -> str:
    """The refusal of a file whose only code is ``argparse.Namespace``: an
    official training checkpoint, which needs converting, not distrust."""
    # convert_official.py reads local files only, and a refused download
    # is not kept (download_cache).
    if '://' in source:
        src, step = 'LOCAL_COPY.pth', 'Download a local copy and convert it'
    else:
        src, step = shlex.quote(source), 'Convert it'
    return (f'Refused to load checkpoint {source}: it carries an '
            f'{_OFFICIAL_ARGS}, the training arguments that the '
            f'official AdaptFormer, VideoMAE and MAE training scripts save '
            f'next to the weights (misc.save_model), so it is an official '
            f'checkpoint that has not been converted. It is refused for '
            f'safety: checkpoints are loaded with weights_only=True and an '
            f'allow-list, so nothing in it was executed. {step} first: '
            f'python tools/model_converters/convert_official.py {src} '
            f'CONVERTED.pth; the converted file holds only tensors in this '
            f'package\'s key layout and loads safely, so give it where you '
            f'gave this one.')


def refusal_message(source: str, refused: Sequence[str]) -> str:
    """The error text for a checkpoint that was refused for safety.

    Args:
        source (str): The file or address of the checkpoint.
        refused (Sequence[str]): What was refused: globals such as
            ``'posix.system'``, or the sentence of a guard that refused
            something (``'Refused getattr(...) ...'``).

    Returns:
        str: A message that names what was refused and never suggests
        turning ``weights_only`` off. When the only refusal is
        ``argparse.Namespace``, it says that the file is an official
        training checkpoint and how to convert it.
    """
    if set(refused) == {_OFFICIAL_ARGS}:
        return _official_refusal_message(source)
    names = [entry for entry in refused if not re.search(r'\s', entry)]
    reasons = [entry for entry in refused if entry not in names]
    text = f'Refused to load checkpoint {source}:'
    if names:
        text += (f' it carries a reference to code ({", ".join(names)}), '
                 f'which a checkpoint of weights and MMEngine training state '
                 f'never needs.')
    if 'torch.storage._load_from_bytes' in names:
        text += (' (torch.storage._load_from_bytes is how pickle.dump, '
                 'unlike torch.save, writes a tensor; rebuilding it runs an '
                 'unrestricted torch.load on bytes from the file.)')
    for reason in reasons:
        text += f' {reason}' if reason.endswith('.') else f' {reason}.'
    text += (' It is refused for safety: checkpoints are loaded with '
             'weights_only=True and an allow-list, so nothing in it was '
             'executed.')
    if names:
        text += (' Do not use this file; if you wrote it yourself, save '
                 'only tensors, numbers, strings and containers of them.')
    return text
